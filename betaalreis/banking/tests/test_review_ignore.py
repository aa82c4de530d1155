"""Review queue: ignoring a payment, and bank data and payments that the admin must not delete or edit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from betaalreis.banking.actions import do_ignore_payment
from betaalreis.banking.models import BankStatement, BankTransaction, MatchCandidate
from betaalreis.banking.review import debtor_ids_with_payment_in_review
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Payment, PaymentStatus, TimelineEvent

from .helpers import make_creditor

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(ambiguous):
    payment, jansen, _, second = ambiguous
    assert payment.status == PaymentStatus.REVIEW
    return payment, jansen, second.debtor


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_ignore_records_reason(in_review):
    payment, jansen, pietersen = in_review
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)

    paused = do_ignore_payment(payment, reason="  terugbetaling\nvan leverancier ", user=admin)

    payment.refresh_from_db()
    assert sorted(paused) == sorted([jansen.pk, pietersen.pk])
    assert payment.status == PaymentStatus.IGNORED
    assert payment.match_reason == "ignored by beheer: terugbetaling van leverancier"
    assert payment.match_rule == "none"
    assert payment.match_score == 0
    assert payment.match_confirmed_by == admin
    assert payment.match_confirmed_at is not None
    assert not MatchCandidate.objects.filter(payment=payment).exists()
    for debtor in (jansen, pietersen):
        event = TimelineEvent.objects.get(debtor=debtor, data__ignored=True)
        assert "genegeerd door beheer: terugbetaling van leverancier" in event.summary
        assert event.data["payment_id"] == payment.pk
    assert debtor_ids_with_payment_in_review(payment.creditor_id) == set()
    assert BankTransaction.objects.filter(payment=payment).exists()


def test_ignore_without_reason_rejected(in_review):
    payment, _, _ = in_review

    with pytest.raises(InvalidInput, match="Geef een reden op"):
        do_ignore_payment(payment, reason=" \n ", user=None)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW
    assert MatchCandidate.objects.filter(payment=payment).count() == 2


def test_ignore_twice_rejected(in_review):
    payment, _, _ = in_review
    do_ignore_payment(payment, reason="dubbel geboekt", user=None)

    with pytest.raises(InvalidInput, match="alleen te beoordelen betalingen"):
        do_ignore_payment(payment, reason="nog eens", user=None)


def test_admin_ignores_with_reason(admin_client, in_review):
    payment, jansen, _ = in_review

    page = admin_client.get(reverse("admin:banking_reviewpayment_change", args=[payment.pk])).content.decode()
    response = admin_client.post(
        reverse("admin:banking_reviewpayment_ignore", args=[payment.pk]), {"reason": "retour leverancier"}, follow=True
    )

    assert 'id="ignore"' in page
    assert "Negeer deze betaling" in page
    assert 'name="reason"' in page
    assert "genegeerd" in _messages(response)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.IGNORED
    assert Payment.objects.get(pk=payment.pk).match_confirmed_by.get_username() == "beheer"
    assert TimelineEvent.objects.filter(debtor=jansen, summary__contains="retour leverancier").exists()


def test_admin_ignore_empty_reason(admin_client, in_review):
    payment, _, _ = in_review

    response = admin_client.post(
        reverse("admin:banking_reviewpayment_ignore", args=[payment.pk]), {"reason": ""}, follow=True
    )

    assert "Geef een reden op" in _messages(response)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW


def test_admin_ignore_rejects_get(admin_client, in_review):
    payment, _, _ = in_review

    response = admin_client.get(reverse("admin:banking_reviewpayment_ignore", args=[payment.pk]))

    assert response.status_code == 405


def test_review_queue_cannot_delete(admin_client, in_review):
    payment, _, _ = in_review

    listing = admin_client.get(reverse("admin:banking_reviewpayment_changelist")).content.decode()
    delete_page = admin_client.get(reverse("admin:banking_reviewpayment_delete", args=[payment.pk]))
    bulk = admin_client.post(
        reverse("admin:banking_reviewpayment_changelist"),
        {"action": "delete_selected", "_selected_action": [payment.pk], "post": "yes"},
    )

    assert "delete_selected" not in listing
    assert delete_page.status_code == 403
    assert bulk.status_code in (200, 302)
    assert Payment.objects.filter(pk=payment.pk).exists()
    assert BankTransaction.objects.filter(payment=payment).exists()


def test_bank_data_admin_cannot_delete(admin_client, in_review):
    payment, _, _ = in_review
    transaction = BankTransaction.objects.get(payment=payment)
    statement = BankStatement.objects.get()

    transaction_delete = admin_client.get(reverse("admin:banking_banktransaction_delete", args=[transaction.pk]))
    statement_delete = admin_client.get(reverse("admin:banking_bankstatement_delete", args=[statement.pk]))
    payment_delete = admin_client.get(reverse("admin:ledger_payment_delete", args=[payment.pk]))
    transaction_edit = admin_client.post(
        reverse("admin:banking_banktransaction_change", args=[transaction.pk]), {"amount": "1.00"}
    )

    assert transaction_delete.status_code == 403
    assert statement_delete.status_code == 403
    assert payment_delete.status_code == 403
    assert transaction_edit.status_code == 403
    transaction.refresh_from_db()
    assert transaction.amount == Decimal("80.00")
    assert BankStatement.objects.filter(pk=statement.pk).exists()


def test_payment_admin_money_read_only(admin_client, in_review):
    payment, jansen, _ = in_review
    other = make_creditor("other", iban="NL39RABO0300065264")
    url = reverse("admin:ledger_payment_change", args=[payment.pk])

    page = admin_client.get(url).content.decode()
    admin_client.post(url, {
        "creditor": other.pk, "debtor": jansen.pk, "source": "manual", "external_id": "x",
        "booking_date": "2026-01-01", "amount": "1.00", "currency": "USD", "payer_name": "Iemand",
        "payer_iban": "", "status": "matched", "match_reason": "", "remittance_info": "",
        "allocations-TOTAL_FORMS": "0", "allocations-INITIAL_FORMS": "0",
    })

    for name in ("creditor", "amount", "currency", "status", "payer_name", "payer_iban", "debtor"):
        assert f'name="{name}"' not in page, name
    payment.refresh_from_db()
    assert payment.creditor_id != other.pk
    assert payment.amount == Decimal("80.00")
    assert payment.currency == "EUR"
    assert payment.status == PaymentStatus.REVIEW
    assert payment.payer_name == "Jan"
    assert payment.debtor_id is None
