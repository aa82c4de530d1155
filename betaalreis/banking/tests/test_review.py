"""Review queue: confirming a candidate in the admin allocates and teaches the matcher."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from betaalreis.banking.actions import do_confirm_match
from betaalreis.banking.candidate_plan import plan_candidate
from betaalreis.banking.models import MatchCandidate
from betaalreis.banking.samples import SampleEntry
from betaalreis.errors import InvalidInput
from betaalreis.ledger.actions import unallocated_amount
from betaalreis.ledger.models import DebtorBankAccount, Invoice, Payment, PaymentStatus, TimelineEvent

from .conftest import superuser_client
from .helpers import PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def test_admin_lists_and_confirms(client, ambiguous, tmp_path: Path):
    payment, jansen, first, second = ambiguous
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    candidate = MatchCandidate.objects.get(payment=payment, debtor=jansen)

    listing = client.get(reverse("admin:banking_reviewpayment_changelist"))
    page = client.get(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
    response = client.post(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]))

    assert listing.status_code == 200
    assert "Jansen (90)" in listing.content.decode()
    assert f'form="confirm-{candidate.pk}"' in page.content.decode()
    assert f'id="confirm-{candidate.pk}"' in page.content.decode()
    assert response.status_code == 302
    payment.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert payment.status == PaymentStatus.MATCHED
    assert first.open_amount == Decimal("0.00")
    assert second.open_amount == Decimal("80.00")
    assert payment.match_confirmed_by == admin
    assert payment.match_rule == "manual"
    assert DebtorBankAccount.objects.filter(debtor=jansen, iban=PAYER_IBAN, source="manual match").exists()
    assert TimelineEvent.objects.filter(debtor=jansen, summary__startswith="Betaling handmatig").exists()

    # The next payment from that account matches on the IBAN without review.
    make_invoice(jansen, "A-1002", "45.00")
    report = import_entries(tmp_path, [SampleEntry(Decimal("45.00"), iban=PAYER_IBAN, remittance="dank")], name="next.xml")
    assert report.counts["matched automatically"] == 1


def test_confirm_view_rejects_get(client, ambiguous):
    payment, jansen, _, _ = ambiguous
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    candidate = MatchCandidate.objects.get(payment=payment, debtor=jansen)

    response = client.get(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]))

    assert response.status_code == 405
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW


def test_confirm_rejects_other_creditor(ambiguous):
    payment, _, _, _ = ambiguous
    other = make_creditor("other", iban="NL39RABO0300065264")
    stranger = make_debtor(other, "X1", "Vreemde")

    with pytest.raises(InvalidInput):
        do_confirm_match(payment, stranger, user=None)


def test_confirm_twice_rejected(ambiguous):
    payment, jansen, _, _ = ambiguous
    do_confirm_match(payment, jansen, user=None)

    with pytest.raises(InvalidInput):
        do_confirm_match(payment, jansen, user=None)


def test_admin_assign_without_candidate(client, tmp_path: Path):
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K-900", "Onbekend Bedrijf")
    invoice = make_invoice(debtor, "Z-1", "12.34")
    import_entries(tmp_path, [SampleEntry(Decimal("12.34"), iban=PAYER_IBAN, remittance="gift")])
    payment = Payment.objects.get()
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    url = reverse("admin:banking_reviewpayment_assign", args=[payment.pk])

    wrong = client.post(url, {"customer_number": "K-901"})
    payment.refresh_from_db()
    assert wrong.status_code == 302
    assert payment.status == PaymentStatus.REVIEW

    missing = client.post(url, {"customer_number": "K-900", "invoice_numbers": "Z-2"})
    payment.refresh_from_db()
    assert missing.status_code == 302
    assert payment.status == PaymentStatus.REVIEW

    done = client.post(url, {"customer_number": "K-900", "invoice_numbers": "Z-1"})
    payment.refresh_from_db()
    invoice.refresh_from_db()
    assert done.status_code == 302
    assert payment.status == PaymentStatus.MATCHED
    assert invoice.open_amount == Decimal("0.00")
    assert DebtorBankAccount.objects.filter(debtor=debtor, iban=PAYER_IBAN).exists()


def test_admin_best_candidate_action(client, ambiguous):
    payment, jansen, first, _ = ambiguous
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)

    response = client.post(
        reverse("admin:banking_reviewpayment_changelist"),
        {"action": "confirm_best_candidate", "_selected_action": [payment.pk]},
    )

    payment.refresh_from_db()
    assert response.status_code == 302
    # Both candidates score 90, so the action skips the payment.
    assert payment.status == PaymentStatus.REVIEW


@pytest.fixture
def unlinked_reversal(tmp_path: Path):
    """A paid invoice and a reversal of that payment with no end-to-end id and no payer IBAN."""
    creditor = make_creditor()
    debtor = make_debtor(creditor, "D40", "Storno Klant")
    invoice = make_invoice(debtor, "2026-1040", "210.00")
    import_entries(tmp_path, [SampleEntry(Decimal("210.00"), name="Storno Klant", remittance="2026-1040", reference="IN-40")], name="in.xml")
    import_entries(
        tmp_path,
        [SampleEntry(Decimal("-210.00"), reversal=True, remittance="2026-1040", reference="RV-40")],
        name="storno.xml",
    )
    original = Payment.objects.get(external_id__contains="IN-40")
    reversal = Payment.objects.get(external_id__contains="RV-40")
    return debtor, invoice, original, reversal


def test_reversal_review_lists_original(unlinked_reversal):
    _, _, original, reversal = unlinked_reversal

    candidate = MatchCandidate.objects.get(payment=reversal)

    assert reversal.status == PaymentStatus.REVIEW
    assert candidate.original_payment == original
    assert candidate.rule == "reversal"
    assert "zelfde omschrijving" in candidate.reason


def test_admin_confirms_reversal(client, unlinked_reversal):
    debtor, invoice, original, reversal = unlinked_reversal
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    candidate = MatchCandidate.objects.get(payment=reversal)

    page = client.get(reverse("admin:banking_reviewpayment_change", args=[reversal.pk]))
    response = client.post(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]), follow=True)

    assert f'form="confirm-{candidate.pk}"' in page.content.decode()
    assert "Terugboeking gekoppeld aan betaling" in response.content.decode()
    original.refresh_from_db()
    reversal.refresh_from_db()
    invoice.refresh_from_db()
    assert original.status == PaymentStatus.REVERSED
    assert reversal.reverses_id == original.pk
    assert reversal.status == PaymentStatus.MATCHED
    assert invoice.open_amount == Decimal("210.00")
    assert invoice.status == "open"
    assert Payment.objects.get(pk=reversal.pk).match_confirmed_by == admin
    assert TimelineEvent.objects.filter(debtor=debtor, summary__startswith="Terugboeking").exists()
    assert TimelineEvent.objects.filter(debtor=debtor, summary__startswith="Betaling teruggeboekt").exists()


def test_admin_assign_reversal_by_customer(client, unlinked_reversal):
    _, invoice, original, reversal = unlinked_reversal
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)

    response = client.post(
        reverse("admin:banking_reviewpayment_assign", args=[reversal.pk]), {"customer_number": "D40"}, follow=True
    )

    content = response.content.decode()
    assert "only money in" not in content
    assert "Terugboeking gekoppeld" in content
    original.refresh_from_db()
    invoice.refresh_from_db()
    assert original.status == PaymentStatus.REVERSED
    assert invoice.open_amount == Decimal("210.00")


@pytest.fixture
def two_debtor_transfer(tmp_path: Path):
    """One transfer that names an invoice of each of two debtors and pays both in full."""
    creditor = make_creditor()
    jansen = make_debtor(creditor, "D1", "Jan Jansen")
    visser = make_debtor(creditor, "D4", "Sophie Visser")
    first = make_invoice(jansen, "2026-1004", "60.00")
    second = make_invoice(visser, "2026-1005", "99.95")
    import_entries(tmp_path, [SampleEntry(Decimal("159.95"), name="Jan Jansen", remittance="facturen 2026-1004 en 2026-1005")])
    return Payment.objects.get(), jansen, visser, first, second


def _superuser_client(client):
    return superuser_client(client)


def _messages(response) -> str:
    return " ".join(str(message) for message in response.context["messages"])


def test_split_candidate_pays_both_debtors(client, two_debtor_transfer):
    payment, jansen, visser, first, second = two_debtor_transfer
    split = [candidate for candidate in MatchCandidate.objects.filter(payment=payment) if candidate.invoices.count() == 2]
    assert len(split) == 1

    page = _superuser_client(client).get(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
    response = client.post(reverse("admin:banking_reviewpayment_confirm", args=[split[0].pk]), follow=True)

    content = page.content.decode()
    assert "Verdeeld over 2 debiteuren" in content
    assert "D1 Jan Jansen: 2026-1004 €\xa060,00 (samen €\xa060,00)" in content
    assert "D4 Sophie Visser: 2026-1005 €\xa099,95 (samen €\xa099,95)" in content
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.open_amount == Decimal("0.00")
    assert second.open_amount == Decimal("0.00")
    assert unallocated_amount(Payment.objects.get(pk=payment.pk)) == Decimal("0.00")
    assert "Betaling verdeeld over 2 debiteuren." in _messages(response)
    assert "D1 Jan Jansen: hoofdsom €\xa060,00 op 2026-1004." in _messages(response)
    assert "D4 Sophie Visser: hoofdsom €\xa099,95 op 2026-1005." in _messages(response)
    assert "gekoppeld aan Jan Jansen" not in _messages(response)
    assert "tegoed" not in _messages(response)


def test_confirm_one_debtor_reports_credit(client, two_debtor_transfer):
    payment, jansen, visser, first, second = two_debtor_transfer
    (candidate,) = [
        candidate for candidate in MatchCandidate.objects.filter(payment=payment, debtor=jansen)
        if list(candidate.invoices.all()) == [first]
    ]

    response = _superuser_client(client).post(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]), follow=True)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.MATCHED
    assert unallocated_amount(payment) == Decimal("99.95")
    assert "€\xa099,95 staat als tegoed bij Jan Jansen" in _messages(response)
    assert TimelineEvent.objects.filter(debtor=jansen, summary__startswith="Teveel betaald").exists()


def test_single_candidate_shows_credit(client, two_debtor_transfer):
    payment, jansen, visser, first, second = two_debtor_transfer
    (candidate,) = [
        candidate for candidate in MatchCandidate.objects.filter(payment=payment, debtor=jansen)
        if list(candidate.invoices.all()) == [first]
    ]

    page = _superuser_client(client).get(reverse("admin:banking_reviewpayment_change", args=[payment.pk]))
    listing = client.get(reverse("admin:banking_reviewpayment_changelist"))

    content = page.content.decode()
    assert "Tegoed €\xa099,95 bij D1 Jan Jansen" in content
    assert "verdeeld over Jan Jansen + Sophie Visser" in listing.content.decode()
    plans = {candidate.pk: plan_candidate(candidate) for candidate in MatchCandidate.objects.filter(payment=payment)}
    assert plans[candidate.pk].credit == Decimal("99.95")
    assert not plans[candidate.pk].is_split
    (split,) = [plan for plan in plans.values() if plan.is_split]
    assert [share.debtor for share in split.shares] == [jansen, visser]
    assert [share.total for share in split.shares] == [Decimal("60.00"), Decimal("99.95")]
    assert split.credit == Decimal("0.00")


def test_confirm_paid_candidate_pays_oldest_open(client, ambiguous):
    payment, jansen, first, _ = ambiguous
    later = make_invoice(jansen, "A-1003", "30.00")
    candidate = MatchCandidate.objects.get(payment=payment, debtor=jansen)
    Invoice.objects.filter(pk=first.pk).update(open_amount=Decimal("0.00"), status="paid")

    response = _superuser_client(client).post(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]), follow=True)

    later.refresh_from_db()
    payment.refresh_from_db()
    assert later.open_amount == Decimal("0.00")
    assert unallocated_amount(payment) == Decimal("50.00")
    assert "niet meer open" in _messages(response)
    assert "€\xa050,00 staat als tegoed bij Jansen" in _messages(response)


def test_confirm_paid_candidate_without_open_is_credit(client, ambiguous):
    payment, jansen, first, _ = ambiguous
    candidate = MatchCandidate.objects.get(payment=payment, debtor=jansen)
    Invoice.objects.filter(pk=first.pk).update(open_amount=Decimal("0.00"), status="paid")

    response = _superuser_client(client).post(reverse("admin:banking_reviewpayment_confirm", args=[candidate.pk]), follow=True)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.MATCHED
    assert unallocated_amount(payment) == Decimal("80.00")
    assert "Niets toegewezen" in _messages(response)
    assert "€\xa080,00 staat als tegoed bij Jansen" in _messages(response)
    assert TimelineEvent.objects.filter(debtor=jansen, summary__contains="staat als tegoed open").exists()


def test_assign_foreign_invoice_links_nothing(client, ambiguous):
    payment, jansen, _, _ = ambiguous
    other = make_creditor("other", iban="NL39RABO0300065264")
    make_invoice(make_debtor(other, "D1", "Vreemde"), "2026-1060", "80.00")

    response = _superuser_client(client).post(
        reverse("admin:banking_reviewpayment_assign", args=[payment.pk]),
        {"customer_number": "D1", "invoice_numbers": "2026-1060"},
        follow=True,
    )

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.REVIEW
    assert "Niets gekoppeld" in _messages(response)
    assert "gekoppeld aan" not in _messages(response)


def test_payment_admin_shows_credit(client, two_debtor_transfer):
    payment, jansen, _, first, _ = two_debtor_transfer
    do_confirm_match(payment, jansen, [first], user=None)

    listing = _superuser_client(client).get(reverse("admin:ledger_payment_changelist"))

    assert "€\xa099,95" in listing.content.decode()
