"""The back-office form that records a partial refund of a debtor's credit.

`DebtorAdmin` serves it at `<debtor id>/refund-credit/` for users who may
change the debtor, within their own creditors. The money is transferred
outside Betaalreis, so the form only records it with `do_refund_credit`.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.errors import InvalidInput
from betaalreis.ledger.credit import debtor_credit, do_refund_credit
from betaalreis.ledger.models import ZERO, Debtor, DebtorBankAccount
from betaalreis.ledger.money import format_money


class CreditRefundForm(forms.Form):
    """Amount, currency, account and note of one refund; the amount may not exceed the credit."""

    currency = forms.ChoiceField(label=gettext_lazy("Valuta"))
    amount = forms.DecimalField(
        label=gettext_lazy("Bedrag"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    iban = forms.CharField(label=gettext_lazy("IBAN van de debiteur"), max_length=42)
    note = forms.CharField(label=gettext_lazy("Notitie"), max_length=200, required=False)

    def __init__(self, *args, credit: dict[str, Decimal], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.credit = credit
        self.fields["currency"].choices = [
            (currency, f"{currency} ({format_money(amount, currency)})") for currency, amount in sorted(credit.items())
        ]

    def clean_iban(self) -> str:
        try:
            return IBAN(self.cleaned_data["iban"]).compact
        except SchwiftyException as exc:
            raise ValidationError(
                _("Ongeldige IBAN %(iban)s: %(error)s. Controleer de tekens.")
                % {"iban": self.cleaned_data["iban"], "error": exc}
            ) from exc

    def clean(self) -> dict:
        cleaned = super().clean()
        currency, amount = cleaned.get("currency"), cleaned.get("amount")
        if currency and amount is not None and amount > self.credit.get(currency, ZERO):
            self.add_error("amount", _("Het bedrag is hoger dan het tegoed van %(credit)s.") % {
                "credit": format_money(self.credit.get(currency, ZERO), currency)
            })
        return cleaned


def refund_credit_view(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """Show and handle the refund form of one debtor of the user's creditors."""
    debtor = model_admin.get_object(request, object_id)
    if debtor is None:
        raise Http404("No such debtor.")
    if not model_admin.has_change_permission(request, debtor):
        raise PermissionDenied
    change_url = reverse("admin:ledger_debtor_change", args=[debtor.pk])

    credit = debtor_credit([debtor.pk]).get(debtor.pk, {})
    if not credit:
        messages.warning(request, _("Deze debiteur heeft geen tegoed om terug te betalen."))
        return HttpResponseRedirect(change_url)

    form = CreditRefundForm(request.POST or None, credit=credit, initial={"iban": _known_iban(debtor)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            refund = do_refund_credit(
                debtor, currency=data["currency"], amount=data["amount"], refunded_on=timezone.localdate(),
                source=f"user:{request.user.get_username()}", note=data["note"], iban=data["iban"],
            )
        except InvalidInput as exc:
            form.add_error("amount", str(exc))
        else:
            messages.success(request, _("Terugbetaling van %(amount)s vastgelegd; %(left)s tegoed over.") % {
                "amount": format_money(refund.amount, refund.currency),
                "left": format_money(refund.credit_left, refund.currency),
            })
            return HttpResponseRedirect(change_url)

    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Tegoed terugbetalen aan %(debtor)s") % {"debtor": debtor},
        "opts": model_admin.model._meta,
        "original": debtor,
        "form": form,
        "change_url": change_url,
    }
    return TemplateResponse(request, "admin/ledger/debtor/refund_credit.html", context)


def _known_iban(debtor: Debtor) -> str:
    """Return the debtor's most recently learned account, as a suggestion for the form."""
    account = DebtorBankAccount.objects.filter(debtor=debtor).order_by("-created_at", "-pk").first()
    return account.iban if account is not None else ""
