"""Back-office screens for the ledger, with each debtor's timeline."""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import get_text_list
from django.utils.translation import get_language, gettext, pgettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from betaalreis.banking.admin import match_reason
from betaalreis.banking.reason_text import reason_in_language
from betaalreis.dunning.stage_names import stage_filter, stage_name_subquery
from betaalreis.ledger import auth_admin  # noqa: F401  (registers the user and group screens)
from betaalreis.ledger.actions import do_add_invoice, do_edit_invoice_amounts, do_set_invoice_status
from betaalreis.ledger.credit import debtor_credit, do_refund_credit, with_credit
from betaalreis.ledger.credit_admin import refund_credit_view
from betaalreis.ledger.electronic_agreement import do_set_electronic_agreement
from betaalreis.ledger.evidence_admin import EvidenceAdmin
from betaalreis.ledger.invoice_amounts import SETTLED_STATUSES, amount_problems
from betaalreis.ledger.logos import validate_logo
from betaalreis.ledger.models import (
    IBAN_IN_USE,
    OTHER_CREDITOR_NAMED,
    VAT_ID_IN_USE,
    ZERO,
    Allocation,
    Creditor,
    CreditorAccessEvent,
    Debtor,
    DebtorBankAccount,
    Invoice,
    Payment,
    PaymentStatus,
    TimelineEvent,
    opted_out_of_every_channel,
)
from betaalreis.ledger.money import format_money
from betaalreis.ledger.source_labels import source_label
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin, CreditorUserAccessInline


@admin.register(Creditor)
class CreditorAdmin(CreditorScopedAdmin):
    list_display = ("slug", "legal_name", "trade_name", "iban", "is_collection_agency")
    # A website typed without a scheme gets https, the default from Django 6.0
    # on; stating it also keeps Django 5.2's deprecation warning away.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    search_fields = ("slug", "legal_name", "trade_name", "kvk_number")
    inlines = [CreditorUserAccessInline]

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> forms.Field | None:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "logo" and formfield is not None:
            # The portal serves the logo to anyone, so only a real PNG or JPEG image is accepted.
            formfield.validators.append(validate_logo)
            formfield.widget.attrs["accept"] = "image/png,image/jpeg"
        if db_field.name == "brand_color" and formfield is not None:
            formfield.help_text = _(
                "Een # met zes hexadecimale cijfers, zoals #0b7a3e. Het portaal en de brieven gebruiken deze kleur."
            )
        return formfield

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Only a superuser can grant access to a new creditor, so only a superuser adds one.
        return request.user.is_superuser and super().has_add_permission(request)

    def get_form(self, request: HttpRequest, obj: Creditor | None = None, change: bool = False, **kwargs: Any) -> type[ModelForm]:
        """Return the creditor form, whose IBAN and VAT id errors name the other creditor only for a superuser.

        A staff user sees only the creditors they work for, so the message
        that rejects an IBAN or VAT id in use must not reveal who uses it.
        """
        form = super().get_form(request, obj, change=change, **kwargs)
        if not request.user.is_superuser:
            return form

        class SuperuserCreditorForm(form):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                # ModelForm replaces a model error's message by the field's message with the same code.
                for field_name, code in (("iban", IBAN_IN_USE), ("vat_id", VAT_ID_IN_USE)):
                    if field_name in self.fields:
                        self.fields[field_name].error_messages[code] = OTHER_CREDITOR_NAMED[code]

        return SuperuserCreditorForm


@admin.register(CreditorAccessEvent)
class CreditorAccessEventAdmin(EvidenceAdmin):
    """The audit of grants and revokes of creditor access, shown to superusers only, as the user screens are."""

    superuser_only = True
    list_display = ("at", "change", "username", "creditor_slug", "by")
    list_filter = ("change", "creditor")
    search_fields = ("username", "creditor_slug", "by")
    date_hierarchy = "at"


@admin.display(description=_("bron"), ordering="source")
def timeline_source(event: TimelineEvent) -> str:
    """Show the event's source in the active language."""
    return source_label(event.source)


@admin.display(description=_("samenvatting"), ordering="summary")
def timeline_summary(event: TimelineEvent) -> str:
    """Show the event's summary in the active language."""
    return summary_in_language(event.summary, event.data, creditor_id=event.creditor_id)


class RowsWithoutTitleInline(admin.TabularInline):
    """A tabular inline that shows each row by its columns only.

    Django's admin also prints each row's str() above the row, so a
    timeline summary or an invoice number would appear twice.
    """

    classes = ["rows-without-title"]

    class Media:
        css = {"all": ["ledger/admin_inlines.css"]}


class TimelineInline(RowsWithoutTitleInline):
    model = TimelineEvent
    fields = ("at", "kind", timeline_summary, timeline_source, "invoice")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-at", "-id")
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.display(description=_("aanmaningsfase"), ordering="dunning_progress__stage")
def dunning_stage(invoice: Invoice) -> str:
    """Return the name of the invoice's stage when the queryset has it (see `with_stage_names`), else its code."""
    return getattr(invoice, "stage_label", None) or invoice.dunning_stage


def with_stage_names(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """Add the name of each invoice's dunning stage, as `stage_label`."""
    return invoices.annotate(
        stage_label=stage_name_subquery("creditor_id", "debtor__kind", "dunning_progress__stage")
    )


@admin.display(description=_("fase sinds"), ordering="dunning_progress__stage_date")
def dunning_stage_date(invoice: Invoice) -> dt.date | None:
    return invoice.dunning_stage_date


@admin.display(description=_("factuurnummer"), ordering="number")
def invoice_link(invoice: Invoice) -> str:
    """Link the invoice number to the invoice's change page, in place of the inline's hidden change link."""
    url = reverse("admin:ledger_invoice_change", args=[invoice.pk])
    return format_html('<a href="{}">{}</a>', url, invoice.number)


class InvoiceInline(RowsWithoutTitleInline):
    model = Invoice
    fields = (invoice_link, "kind", "due_date", "currency", "total", "open_amount", "status", dunning_stage)
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return with_stage_names(super().get_queryset(request).select_related("dunning_progress"))

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class BankAccountInline(RowsWithoutTitleInline):
    model = DebtorBankAccount
    fields = ("iban", "source", "created_at")
    readonly_fields = ("created_at",)
    extra = 0


class EmailListField(forms.CharField):
    """Email addresses typed one per line or separated by commas or semicolons, cleaned to a list."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        # The stored list is shown one address per line, and a bound form shows the text as typed.
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value)
        addresses = [part for part in re.split(r"[\s,;]+", text) if part]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    _("%(address)s is geen geldig e-mailadres."), code="invalid", params={"address": address}
                ) from None
        return addresses


class DebtorAdminForm(forms.ModelForm):
    extra_emails = EmailListField(
        label=Debtor._meta.get_field("extra_emails").verbose_name,
        help_text=_("Krijgen een kopie van elke e-mail. Eén adres per regel."),
        required=False,
    )

    class Meta:
        model = Debtor
        fields = "__all__"


@admin.display(description=Debtor._meta.get_field("extra_emails").verbose_name)
def extra_email_list(debtor: Debtor) -> str:
    """Show the extra email addresses as a list, or "-" when there are none."""
    return ", ".join(debtor.extra_emails) or "-"


@admin.register(Debtor)
class DebtorAdmin(CreditorScopedAdmin):
    form = DebtorAdminForm
    list_display = ("customer_number", "name", "creditor", "kind", "email", "mobile", "language", "no_channel_left")
    list_filter = ("creditor", "kind", "language", "preferred_channel")
    search_fields = ("customer_number", "name", "email", "mobile", "postal_code")
    list_select_related = ("creditor",)
    inlines = [InvoiceInline, BankAccountInline, TimelineInline]
    readonly_fields = ("claim", "credit", "electronic_agreement_at", "electronic_agreement_source")
    actions = ["record_credit_refund"]

    def save_model(self, request: HttpRequest, obj: Debtor, form: forms.ModelForm, change: bool) -> None:
        """Save the debtor, and a changed agreement to electronic communication through its action.

        `do_set_electronic_agreement` dates the agreement, names the admin
        user as its source and writes the timeline row.
        """
        agreed = obj.electronic_agreement
        agreement_changed = "electronic_agreement" in form.changed_data
        if agreement_changed:
            # The action stores the new value, so the plain save keeps the old one.
            obj.electronic_agreement = not agreed
        super().save_model(request, obj, form, change)
        if agreement_changed:
            do_set_electronic_agreement(obj, agreed, source=f"admin:{request.user.get_username()}")

    def get_urls(self):  # type: ignore[no-untyped-def]
        refund = path(
            "<path:object_id>/refund-credit/",
            self.admin_site.admin_view(functools.partial(refund_credit_view, self)),
            name="ledger_debtor_refund_credit",
        )
        return [refund, *super().get_urls()]

    def get_fields(self, request: HttpRequest, obj: Debtor | None = None) -> list[Any]:
        """Show the extra email addresses as a list on a page the user may only view, not as JSON."""
        fields = list(super().get_fields(request, obj))
        if obj is not None and not self.has_change_permission(request, obj):
            fields = [extra_email_list if name == "extra_emails" else name for name in fields]
        return fields

    @admin.display(description=_("afgemeld voor alle kanalen"), boolean=True)
    def no_channel_left(self, debtor: Debtor) -> bool:
        """Flag debtors whose dunning goes by post only, because they opted out of every channel."""
        return opted_out_of_every_channel(debtor.opted_out_channels)

    @admin.display(description=_("vordering volgens de wet"))
    def claim(self, debtor: Debtor) -> str:
        """Show the claim as the portal and the letters state it, beside the ledger's open amount.

        Payments go to costs and interest before principal (BW 6:44), so the
        claim's principal can exceed the open amounts the ledger booked.
        """
        from betaalreis.portal.services import load_accounts

        if debtor.pk is None:
            return ""
        (account,) = load_accounts([debtor.pk], timezone.localdate())
        if not account.open_lines:
            return "-"
        currency = account.currency
        language = "en" if (get_language() or "").startswith("en") else "nl"

        def money(amount: Decimal) -> str:
            return format_money(amount, currency, language)

        ledger_open = sum((line.invoice.open_amount for line in account.open_lines), ZERO)
        if account.principal == ledger_open:
            parts = [gettext("hoofdsom %(amount)s") % {"amount": money(account.principal)}]
        else:
            parts = [gettext(
                "hoofdsom %(amount)s (openstaand in de administratie %(ledger)s; %(difference)s van betalingen "
                "ging eerst naar rente en kosten, art. 6:44 BW)"
            ) % {
                "amount": money(account.principal),
                "ledger": money(ledger_open),
                "difference": money(account.principal - ledger_open),
            }]
        parts.append(gettext("rente %(amount)s") % {"amount": money(account.interest)})
        if account.costs:
            parts.append(gettext("incassokosten %(amount)s") % {"amount": money(account.costs)})
        parts.append(gettext("totaal %(amount)s") % {"amount": money(account.total_due)})
        parts.extend(_plan_claim_parts(debtor))
        return " · ".join(parts)

    @admin.display(description=_("tegoed"))
    def credit(self, debtor: Debtor) -> str:
        """Show the money the debtor paid beyond its invoices, which the daily run uses for later invoices."""
        if debtor.pk is None:
            return ""
        by_currency = debtor_credit([debtor.pk]).get(debtor.pk, {})
        if not by_currency:
            return format_money(ZERO)
        amounts = ", ".join(format_money(amount, currency) for currency, amount in sorted(by_currency.items()))
        return format_html(
            '{} · <a href="{}">{}</a>', amounts,
            reverse("admin:ledger_debtor_refund_credit", args=[debtor.pk]), _("Deel terugbetalen"),
        )

    @admin.action(description=_("Tegoed terugbetaald: vastleggen voor de gekozen debiteuren"), permissions=["change"])
    def record_credit_refund(self, request: HttpRequest, queryset: QuerySet[Debtor]) -> None:
        """Record that the whole credit of each chosen debtor was transferred back to them today."""
        today = timezone.localdate()
        source = f"user:{request.user.get_username()}"
        recorded = 0
        for debtor in queryset.select_related("creditor"):
            for currency in debtor_credit([debtor.pk]).get(debtor.pk, {}):
                do_refund_credit(debtor, currency=currency, refunded_on=today, source=source)
                recorded += 1
        if recorded:
            self.message_user(request, ngettext(
                "%(count)d terugbetaling van tegoed vastgelegd.", "%(count)d terugbetalingen van tegoed vastgelegd.",
                recorded,
            ) % {"count": recorded})
        else:
            self.message_user(request, _("De gekozen debiteuren hebben geen tegoed."), level=messages.WARNING)


def _plan_claim_parts(debtor: Debtor) -> list[str]:
    """Return the claim's words for the debtor's current payment plan, with what it leaves out.

    The plan's invoices are out of the claim while it runs, so their
    interest and costs, stored on the plan, are named here as the plan pages
    name them (`betaalreis.payments.plans`).
    """
    from betaalreis.payments.models import PaymentPlan, PlanStatus
    from betaalreis.payments.plans import paid_so_far

    plan = PaymentPlan.objects.filter(
        debtor=debtor, status__in=(PlanStatus.ACTIVE, PlanStatus.PENDING_APPROVAL)
    ).order_by("-pk").first()
    if plan is None:
        return []

    language = "en" if (get_language() or "").startswith("en") else "nl"

    def money(amount: Decimal) -> str:
        return format_money(amount, plan.currency, language)

    text = gettext("betalingsregeling (%(status)s): %(total)s in %(terms)s termijnen, nog open %(open)s") % {
        "status": plan.get_status_display().lower(),
        "total": money(plan.total),
        "terms": plan.terms,
        "open": money(plan.total - paid_so_far(plan)),
    }
    excluded = []
    if plan.interest_excluded > ZERO:
        excluded.append(gettext("rente %(amount)s") % {"amount": money(plan.interest_excluded)})
    if plan.costs_excluded > ZERO:
        excluded.append(gettext("incassokosten %(amount)s") % {"amount": money(plan.costs_excluded)})
    if plan.principal_excluded > ZERO:
        excluded.append(
            gettext("hoofdsom %(amount)s door eerdere betalingen op rente of kosten (art. 6:44 BW)")
            % {"amount": money(plan.principal_excluded)}
        )
    if excluded:
        text += ngettext(
            "; buiten de regeling %(parts)s, die vervalt als de regeling wordt nagekomen",
            "; buiten de regeling %(parts)s, die vervallen als de regeling wordt nagekomen",
            len(excluded),
        ) % {"parts": get_text_list(excluded, pgettext("joins the last two items of a list", "en"))}
    return [text]


class InvoiceAdminForm(forms.ModelForm):
    """The invoice change form, which rejects amounts that contradict each other or the status.

    Setting status Betaald or Gecrediteerd while leaving Openstaand as it
    was marks the whole open amount settled, so Openstaand becomes 0,00.
    """

    class Meta:
        model = Invoice
        fields = "__all__"
        help_texts = {
            "status": _(
                "Betaald of Gecrediteerd zet Openstaand op 0,00 als u Openstaand niet wijzigt. "
                "Afgeboekt laat het openstaande bedrag staan. Voor een deelbetaling verlaagt u alleen Openstaand."
            ),
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        status, total, open_amount = cleaned.get("status"), cleaned.get("total"), cleaned.get("open_amount")
        if status is None or total is None or open_amount is None:
            return cleaned

        settled_now = "status" in self.changed_data and status in SETTLED_STATUSES
        if settled_now and "open_amount" not in self.changed_data:
            open_amount = cleaned["open_amount"] = ZERO

        creditor, debtor = cleaned.get("creditor"), cleaned.get("debtor")
        if creditor is not None and debtor is not None and debtor.creditor_id != creditor.pk:
            self.add_error("debtor", forms.ValidationError(
                _("Debiteur %(debtor)s hoort bij een andere crediteur. Kies een debiteur van %(creditor)s.")
                % {"debtor": debtor.customer_number, "creditor": creditor.slug},
                code="debtor_of_other_creditor",
            ))

        kind = cleaned.get("kind") or self.instance.kind
        currency = cleaned.get("currency") or self.instance.currency
        for problem in amount_problems(kind, status, total, open_amount, currency):
            self.add_error(problem.field, forms.ValidationError(problem.message, code=problem.code))
        return cleaned


@admin.register(Invoice)
class InvoiceAdmin(CreditorScopedAdmin):
    list_display = (
        "number", "debtor", "creditor", "kind", "due_date", "currency", "total", "open_amount",
        "status", dunning_stage, dunning_stage_date,
    )
    list_filter = ("creditor", "status", "kind", stage_filter("dunning_progress__stage"))
    search_fields = ("number", "payment_reference", "debtor__name", "debtor__customer_number")
    list_select_related = ("debtor", "creditor", "dunning_progress")
    raw_id_fields = ("debtor", "corrects")
    date_hierarchy = "due_date"
    form = InvoiceAdminForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[Invoice]:
        return with_stage_names(super().get_queryset(request))

    def has_delete_permission(self, request: HttpRequest, obj: Invoice | None = None) -> bool:
        # Deleting an invoice deletes its payment allocations and the lines of
        # the messages that named it, which prove a 14-day letter's amount.
        if obj is not None and has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Invoice, form: ModelForm, change: bool) -> None:
        """Save the invoice and record what the edit means for its claim and dunning.

        A changed status goes through `do_set_invoice_status`, which writes the
        timeline and waives the charges of a closed claim over the amount open
        before the edit. Changed amounts then go through
        `do_edit_invoice_amounts`, which records them. A paid or credited
        invoice set open again then restarts its dunning, and a raised open
        invoice is recorded as a raise, as an import would do. A new invoice
        goes through `do_add_invoice`, which records it.
        """
        from betaalreis.dunning.reopening import do_follow_admin_edit

        source = f"admin:{request.user.get_username()}"
        if not change:
            do_add_invoice(obj, source=source)
            return

        was_status, was_open, was_total = Invoice.objects.values_list("status", "open_amount", "total").get(pk=obj.pk)
        status, open_amount, total = obj.status, obj.open_amount, obj.total

        # The other fields save here, and the status and amounts through the actions below.
        obj.status, obj.open_amount, obj.total = was_status, was_open, was_total
        super().save_model(request, obj, form, change)
        if status != was_status:
            obj.status = do_set_invoice_status(obj, status, source=source, reason="status set in the admin").status
        updated = do_edit_invoice_amounts(
            obj, total=total, open_amount=open_amount, source=source, reason="amounts set in the admin"
        )
        obj.open_amount, obj.total = updated.open_amount, updated.total

        do_follow_admin_edit(obj, was_status=was_status, was_open=was_open, source=source)


def has_history(invoice: Invoice) -> bool:
    """Return whether a payment or credit note was applied to `invoice` or a message named it."""
    return (
        invoice.allocations.exists()
        or invoice.credit_allocations.exists()
        or invoice.communication_items.exists()
    )


@admin.display(description=_("reden"))
def allocation_reason(allocation: Allocation) -> str:
    """Return the stored reason of an allocation in the user's language."""
    return reason_in_language(allocation.reason)


class AllocationInline(RowsWithoutTitleInline):
    model = Allocation
    fk_name = "payment"
    fields = ("invoice", "amount", allocation_reason, "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


# Written by bank matching and the review queue, with the reason, so never by hand.
MATCH_DECISION_FIELDS = ("match_rule", "match_score", "match_decided_at", "match_confirmed_by", "match_confirmed_at")


@admin.register(Payment)
class PaymentAdmin(CreditorScopedAdmin):
    list_display = (
        "booking_date", "creditor", "amount", "currency", "payer_name", "status", "credit", match_reason,
    )
    list_filter = ("creditor", "status", "source")
    search_fields = ("payer_name", "payer_iban", "remittance_info", "structured_reference")
    raw_id_fields = ("debtor", "reverses")
    inlines = [AllocationInline]
    # Who paid what to whom, and the payment's state, change only through the
    # actions (matching, the review queue, reversals), which keep allocations,
    # credit and the timeline in step. An edit by hand would leave them out of step.
    locked_fields = (
        "creditor", "debtor", "source", "external_id", "booking_date", "value_date", "amount", "currency",
        "payer_name", "payer_iban", "structured_reference", "status", "reverses", *MATCH_DECISION_FIELDS,
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Payment | None = None) -> tuple[str, ...]:
        return self.locked_fields if obj is not None else ("status", *MATCH_DECISION_FIELDS)

    def has_delete_permission(self, request: HttpRequest, obj: Payment | None = None) -> bool:
        # Deleting a payment would delete its allocations, and for a bank payment its bank transaction.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Payment]:
        return with_credit(super().get_queryset(request))

    @admin.display(description=_("tegoed"))
    def credit(self, payment: Payment) -> str:
        """Show the part of a matched payment that pays no invoice, is not refunded and stays as the debtor's credit."""
        if payment.status not in (PaymentStatus.MATCHED, PaymentStatus.PARTLY_MATCHED) or payment.amount <= 0:
            return ""
        return format_money(payment.credit, payment.currency) if payment.credit > 0 else ""


@admin.register(TimelineEvent)
class TimelineEventAdmin(EvidenceAdmin):
    """The timeline is the audit log and proves which message went out when, so it is read-only."""

    list_display = ("at", "debtor", "kind", timeline_summary, timeline_source)
    list_filter = ("creditor", "kind")
    search_fields = ("summary", "debtor__name", "debtor__customer_number")
    raw_id_fields = ("debtor", "invoice")
    date_hierarchy = "at"
