"""Django admin for bank statements and the review queue of unmatched payments.

The review queue lists payments in status review with their candidates and
scores. Each candidate has a confirm button, and the admin action confirms
the best candidate of each selected payment. A form below the candidates
links the payment to any debtor by customer number. All three call
`do_confirm_match`, which also links the payer IBAN to the debtor. Another
form ignores the payment with a reason (`do_ignore_payment`).

Bank statements, transactions and match decisions are evidence of what the
bank reported and who decided what, so this admin shows them but never lets
anyone delete them.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from betaalreis.banking.actions import (
    Confirmation,
    do_confirm_candidate,
    do_confirm_match,
    do_ignore_payment,
    is_split,
)
from betaalreis.banking.candidate_plan import DebtorShare, PlannedInvoice, plan_candidate
from betaalreis.banking.reason_text import reason_in_language
from betaalreis.banking.reversals import do_confirm_reversal, reversal_candidates
from betaalreis.banking.models import (
    BankStatement,
    BankTransaction,
    MatchCandidate,
    MatchDecision,
    ReviewPayment,
)
from betaalreis.errors import BetaalreisError
from betaalreis.ledger.evidence_admin import EvidenceAdmin
from betaalreis.ledger.models import Allocation, AllocationPart, Debtor, Invoice, Payment, PaymentStatus
from betaalreis.ledger.money import format_money
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin, scope_for_request


@admin.register(BankStatement)
class BankStatementAdmin(EvidenceAdmin):
    list_display = ("account", "statement_id", "format", "opening_balance", "closing_balance", "entry_count", "imported_at")
    list_filter = ("creditor", "format")
    search_fields = ("account", "statement_id", "file_name")


@admin.register(BankTransaction)
class BankTransactionAdmin(EvidenceAdmin):
    list_display = ("booking_date", "amount", "currency", "counterparty_name", "bank_transaction_code", "is_reversal", "payment")
    list_filter = ("creditor", "is_reversal")
    search_fields = ("counterparty_name", "end_to_end_id", "external_id")
    raw_id_fields = ("payment", "statement", "duplicate_of")


@admin.display(description=gettext_lazy("reden"))
def reason(record: MatchCandidate) -> str:
    """Return the stored reason of a review candidate in the user's language."""
    return reason_in_language(record.reason)


@admin.display(description=gettext_lazy("reden van de koppeling"))
def match_reason(payment: Payment) -> str:
    """Return the stored reason of a payment's match decision in the user's language."""
    return reason_in_language(payment.match_reason)


@admin.register(MatchDecision)
class MatchDecisionAdmin(EvidenceAdmin):
    list_display = ("__str__", "match_rule", "match_score", match_reason, "match_confirmed_by", "match_confirmed_at")
    list_filter = ("creditor", "match_rule")
    raw_id_fields = ("debtor", "reverses")

    def get_queryset(self, request: HttpRequest) -> QuerySet[MatchDecision]:
        return super().get_queryset(request).exclude(match_rule="")


class MatchCandidateInline(admin.TabularInline):
    model = MatchCandidate
    fk_name = "payment"
    fields = ("debtors", "score", "rule", reason, "booking_plan", "confirm_button")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=gettext_lazy("debiteur(en)"))
    def debtors(self, candidate: MatchCandidate) -> str:
        plan = plan_candidate(candidate)
        if not plan.is_split:
            return debtor_label(candidate.debtor)
        return format_html(
            "<strong>{}</strong><br>{}",
            _("Verdeeld over %(count)d debiteuren") % {"count": len(plan.shares)},
            format_html_join(mark_safe("<br>"), "{}", ((debtor_label(share.debtor),) for share in plan.shares)),
        )

    @admin.display(description=gettext_lazy("wordt geboekt"))
    def booking_plan(self, candidate: MatchCandidate) -> str:
        if candidate.original_payment_id is not None:
            return _("Draait betaling %(payment)d terug; de facturen gaan weer open.") % {
                "payment": candidate.original_payment_id
            }
        plan = plan_candidate(candidate)
        lines = [share_line(share, plan.currency) for share in plan.shares]
        for share in plan.shares:
            lines += [
                waived_line(line, plan.currency) for line in share.invoices if line.waived_costs > 0 or line.waived_interest > 0
            ]
        if plan.credit > 0:
            lines.append(
                _("Tegoed %(amount)s bij %(debtor)s")
                % {"amount": format_money(plan.credit, plan.currency), "debtor": debtor_label(plan.credit_debtor)}
            )
        if not plan.shares:
            lines.insert(0, _("Geen open facturen."))
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    @admin.display(description="")
    def confirm_button(self, candidate: MatchCandidate) -> str:
        # The button submits a form of its own, rendered after the change form
        # by the change_form.html template of this admin.
        return format_html('<button type="submit" form="confirm-{}" class="button">{}</button>', candidate.pk, _("Bevestig"))


@admin.register(ReviewPayment)
class ReviewPaymentAdmin(CreditorScopedAdmin):
    list_display = (
        "booking_date", "amount", "currency", "payer_name", "structured_reference", "remittance_info",
        "match_rule", "match_score", match_reason, "candidate_summary",
    )
    list_filter = ("creditor",)
    search_fields = ("payer_name", "remittance_info", "structured_reference")
    readonly_fields = (
        "creditor", "booking_date", "amount", "currency", "payer_name", "payer_iban",
        "structured_reference", "remittance_info", "match_rule", "match_score", match_reason,
    )
    fields = readonly_fields
    inlines = [MatchCandidateInline]
    actions = ["confirm_best_candidate"]
    change_form_template = "admin/banking/reviewpayment/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReviewPayment]:
        return super().get_queryset(request).filter(status=PaymentStatus.REVIEW).prefetch_related(
            "match_candidates__debtor", "match_candidates__invoices__debtor"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Deleting would remove the bank transaction with the payment, so the page offers ignore instead.
        return False

    @admin.display(description=gettext_lazy("kandidaten"))
    def candidate_summary(self, payment: ReviewPayment) -> str:
        candidates = list(payment.match_candidates.all())[:3]
        if not candidates:
            return "—"
        return format_html_join(", ", "{} ({})", ((candidate_label(candidate), candidate.score) for candidate in candidates))

    @admin.action(description=gettext_lazy("Bevestig de beste kandidaat"), permissions=["change"])
    def confirm_best_candidate(self, request: HttpRequest, queryset: QuerySet[ReviewPayment]) -> None:
        confirmed = skipped = 0
        for payment in queryset:
            candidates = list(payment.match_candidates.all())
            best = candidates[0] if candidates else None
            if best is None or (len(candidates) > 1 and candidates[1].score == best.score):
                skipped += 1
                continue
            do_confirm_candidate(best, user=request.user)
            confirmed += 1
        message = ngettext("%(count)d betaling gekoppeld.", "%(count)d betalingen gekoppeld.", confirmed)
        self.message_user(request, message % {"count": confirmed})
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d betaling overgeslagen: geen kandidaat of meerdere met dezelfde score. Kies per betaling.",
                    "%(count)d betalingen overgeslagen: geen kandidaat of meerdere met dezelfde score. Kies per betaling.",
                    skipped,
                ) % {"count": skipped},
                level=messages.WARNING,
            )

    def get_urls(self):  # type: ignore[no-untyped-def]
        extra = [
            path(
                "confirm/<int:candidate_id>/",
                self.admin_site.admin_view(require_POST(self.confirm_view)),
                name="banking_reviewpayment_confirm",
            ),
            path(
                "assign/<int:payment_id>/",
                self.admin_site.admin_view(require_POST(self.assign_view)),
                name="banking_reviewpayment_assign",
            ),
            path(
                "ignore/<int:payment_id>/",
                self.admin_site.admin_view(require_POST(self.ignore_view)),
                name="banking_reviewpayment_ignore",
            ),
        ]
        return extra + super().get_urls()

    def confirm_view(self, request: HttpRequest, candidate_id: int) -> HttpResponseRedirect:
        candidates = scope_for_request(MatchCandidate.objects.select_related("payment", "debtor"), request)
        candidate = get_object_or_404(candidates, pk=candidate_id)
        if not self.has_change_permission(request, candidate.payment):
            messages.error(request, _("Geen recht om betalingen te koppelen."))
        else:
            try:
                confirmation = do_confirm_candidate(candidate, user=request.user)
            except BetaalreisError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, confirmed_message(candidate, confirmation))
        return HttpResponseRedirect(reverse("admin:banking_reviewpayment_changelist"))

    def ignore_view(self, request: HttpRequest, payment_id: int) -> HttpResponseRedirect:
        """Take a reviewed payment out of the queue with the reason typed in by the user."""
        payment = get_object_or_404(self.get_queryset(request), pk=payment_id)
        if not self.has_change_permission(request, payment):
            messages.error(request, _("Geen recht om betalingen te negeren."))
            return HttpResponseRedirect(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
        try:
            debtor_ids = do_ignore_payment(payment, reason=request.POST.get("reason", ""), user=request.user)
        except BetaalreisError as exc:
            messages.error(request, str(exc))
            return HttpResponseRedirect(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
        messages.success(
            request,
            _("Betaling van %(amount)s genegeerd; de bankgegevens blijven bewaard. De aanmaningen van %(count)d debiteur(en) wachten niet meer op deze betaling.")
            % {"amount": format_money(payment.amount, payment.currency), "count": len(debtor_ids)},
        )
        return HttpResponseRedirect(reverse("admin:banking_reviewpayment_changelist"))

    def assign_view(self, request: HttpRequest, payment_id: int) -> HttpResponseRedirect:
        """Link a reviewed payment to the debtor and invoices typed in by the user."""
        payment = get_object_or_404(self.get_queryset(request), pk=payment_id)
        back = HttpResponseRedirect(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
        if not self.has_change_permission(request, payment):
            messages.error(request, _("Geen recht om betalingen te koppelen."))
            return back

        customer_number = request.POST.get("customer_number", "").strip()
        debtor = Debtor.objects.filter(creditor_id=payment.creditor_id, customer_number=customer_number).first()
        if debtor is None:
            messages.error(request, _("Klantnummer %(number)r niet gevonden bij deze crediteur.") % {"number": customer_number})
            return back

        if payment.amount < 0:
            return self._assign_reversal(request, payment, debtor, back)

        numbers = [number for number in re.split(r"[\s,;]+", request.POST.get("invoice_numbers", "")) if number]
        invoices = list(Invoice.objects.filter(creditor_id=payment.creditor_id, debtor=debtor, number__in=numbers))
        missing = sorted(set(numbers) - {invoice.number for invoice in invoices})
        if missing:
            messages.error(
                request,
                _("Niets gekoppeld: factuur %(numbers)s niet gevonden bij klant %(customer)s (%(name)s) van deze crediteur.")
                % {"numbers": ", ".join(missing), "customer": customer_number, "name": debtor.name},
            )
            return back

        try:
            confirmation = do_confirm_match(payment, debtor, invoices or None, user=request.user)
        except BetaalreisError as exc:
            messages.error(request, str(exc))
            return back
        messages.success(request, confirmation_message(confirmation))
        return HttpResponseRedirect(reverse("admin:banking_reviewpayment_changelist"))

    def _assign_reversal(
        self, request: HttpRequest, payment: ReviewPayment, debtor: Debtor, back: HttpResponseRedirect
    ) -> HttpResponseRedirect:
        """Link a reversal to the one earlier payment of this debtor that it can undo."""
        originals = [original for original, _, _ in reversal_candidates(payment) if original.debtor_id == debtor.pk]
        if len(originals) != 1:
            messages.error(
                request,
                _(
                    "Dit is een terugboeking. Klant %(customer)s heeft %(count)d gekoppelde betalingen van "
                    "%(amount)s; kies de betaling bij de kandidaten hierboven."
                )
                % {"customer": debtor.customer_number, "count": len(originals), "amount": format_money(-payment.amount, payment.currency)},
            )
            return back
        try:
            do_confirm_reversal(payment, originals[0], user=request.user)
        except BetaalreisError as exc:
            messages.error(request, str(exc))
            return back
        messages.success(
            request,
            _("Terugboeking gekoppeld aan de betaling van %(date)s van %(name)s; de facturen staan weer open.")
            % {"date": originals[0].booking_date.isoformat(), "name": debtor.name},
        )
        return HttpResponseRedirect(reverse("admin:banking_reviewpayment_changelist"))


def confirmed_message(candidate: MatchCandidate, confirmation: Confirmation | None) -> str:
    """Return the admin message after confirming a candidate, naming what was linked."""
    if confirmation is None:
        return _("Terugboeking gekoppeld aan betaling %(payment)d van %(name)s; de facturen staan weer open.") % {
            "payment": candidate.original_payment_id,
            "name": candidate.debtor.name,
        }
    return confirmation_message(confirmation)


def confirmation_message(confirmation: Confirmation) -> str:
    """Say what a confirmation paid, per debtor, and what stays as credit, in the admin's language."""
    by_debtor: dict[int, list[Allocation]] = {}
    for allocation in confirmation.allocations:
        by_debtor.setdefault(allocation.invoice.debtor_id, []).append(allocation)

    parts: list[str] = []
    if len(by_debtor) > 1:
        parts.append(_("Betaling verdeeld over %(count)d debiteuren.") % {"count": len(by_debtor)})
        for allocations in by_debtor.values():
            parts.append(
                _("%(debtor)s: %(lines)s.")
                % {"debtor": debtor_label(allocations[0].invoice.debtor), "lines": _paid_lines(allocations, confirmation.currency)}
            )
    else:
        parts.append(_("Betaling gekoppeld aan %(name)s.") % {"name": _without_full_stop(confirmation.debtor.name)})
    if confirmation.fell_back and confirmation.allocations:
        parts.append(_("De gekozen facturen stonden niet meer open, dus de oudste open facturen van deze klant zijn betaald."))
    elif confirmation.fell_back:
        parts.append(_("De gekozen facturen stonden niet meer open en de klant heeft geen andere open facturen."))
    if len(by_debtor) == 1:
        parts.append(_("Betaald: %(lines)s.") % {"lines": _paid_lines(confirmation.allocations, confirmation.currency)})
    elif not by_debtor:
        parts.append(_("Niets toegewezen."))
    if confirmation.credit > 0:
        parts.append(
            _("%(amount)s staat als tegoed bij %(name)s.")
            % {
                "amount": format_money(confirmation.credit, confirmation.currency),
                "name": _without_full_stop(confirmation.debtor.name),
            }
        )
    return " ".join(parts)


def _paid_lines(allocations: list[Allocation], currency: str) -> str:
    """Name each allocation's part (hoofdsom, incassokosten or rente), amount and invoice."""
    return ", ".join(
        _("%(part)s %(amount)s op %(number)s") % {
            "part": AllocationPart(allocation.part).label.lower(),
            "amount": format_money(allocation.amount, currency),
            "number": allocation.invoice.number,
        }
        for allocation in allocations
    )


def _without_full_stop(name: str) -> str:
    """Return `name` without a closing full stop, so a sentence that ends with "Kok B.V." gets no second one."""
    return name.removesuffix(".")


def debtor_label(debtor: Debtor) -> str:
    return f"{debtor.customer_number} {debtor.name}"


def candidate_label(candidate: MatchCandidate) -> str:
    """Name a candidate in the queue listing: its debtor, or every debtor of a split."""
    if not is_split(candidate):
        return candidate.debtor.name
    names = sorted({invoice.debtor.name for invoice in candidate.invoices.all()})
    return _("verdeeld over %(names)s") % {"names": " + ".join(names)}


def share_line(share: DebtorShare, currency: str) -> str:
    """Describe one debtor's part of a planned booking: each invoice with its principal, costs and interest, and their sum."""
    invoices = ", ".join(_planned_invoice_text(line, currency) for line in share.invoices)
    return _("%(debtor)s: %(invoices)s (samen %(total)s)") % {
        "debtor": debtor_label(share.debtor),
        "invoices": invoices,
        "total": format_money(share.total, currency),
    }


def _planned_invoice_text(line: PlannedInvoice, currency: str) -> str:
    text = f"{line.number} {format_money(line.amount, currency)}"
    if line.costs > 0:
        text += _(" + incassokosten %(amount)s") % {"amount": format_money(line.costs, currency)}
    if line.interest > 0:
        text += _(" + rente %(amount)s") % {"amount": format_money(line.interest, currency)}
    return text


def waived_line(line: PlannedInvoice, currency: str) -> str:
    """Describe the costs and interest of an invoice that confirming leaves unpaid and waives."""
    parts = []
    if line.waived_costs > 0:
        parts.append(_("incassokosten %(amount)s") % {"amount": format_money(line.waived_costs, currency)})
    if line.waived_interest > 0:
        parts.append(_("rente %(amount)s") % {"amount": format_money(line.waived_interest, currency)})
    return _("Kwijtgescholden op %(number)s: %(parts)s") % {"number": line.number, "parts": ", ".join(parts)}
