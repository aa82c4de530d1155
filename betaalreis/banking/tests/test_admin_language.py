"""The banking admin shows Dutch names like the rest of the back office, and English ones in the en locale."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from betaalreis.banking.matching import match_payments
from betaalreis.banking.models import BankTransaction, MatchCandidate, MatchDecision
from betaalreis.banking.reason_text import reason_in_dutch
from betaalreis.banking.review import reopen_reviews_after_new_invoices
from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.models import DebtorBankAccount, Payment

from .helpers import PAYER_IBAN, import_entries, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    return client


def _page(client, url: str, language: str) -> str:
    """Return the HTML of an admin page requested in `language`."""
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def test_banking_admin_dutch(admin_client, tmp_path: Path):
    creditor = make_creditor()
    make_invoice(make_debtor(creditor, "D1", "Jansen"), "A-1001", "80.00")
    make_invoice(make_debtor(creditor, "D2", "Pietersen"), "B-2001", "80.00")
    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), iban=PAYER_IBAN, remittance="A-1001 B-2001")])
    payment = Payment.objects.get()

    index = admin_client.get(reverse("admin:index")).content.decode()
    transactions = admin_client.get(reverse("admin:banking_banktransaction_changelist")).content.decode()
    review = admin_client.get(reverse("admin:banking_reviewpayment_change", args=[payment.pk])).content.decode()

    assert "Banktransacties" in index
    assert "Betalingskoppelingen" in index
    assert "Payment matchs" not in index
    assert "Bank transactions" not in index
    assert "Boekdatum" in transactions
    assert "Naam tegenpartij" in transactions
    for header in ("Debiteur", "Score", "Regel", "Reden"):
        assert header in review, header
    assert ">Debtor<" not in review
    assert ">Rule<" not in review


def test_banking_names_english_in_en_locale():
    with translation.override("en"):
        assert str(BankTransaction._meta.verbose_name_plural) == "bank transactions"
        assert str(MatchDecision._meta.verbose_name_plural) == "payment matches"
        assert str(MatchCandidate._meta.get_field("debtor").verbose_name) == "debtor"
    with translation.override("nl"):
        assert str(MatchDecision._meta.verbose_name_plural) == "betalingskoppelingen"


APP_NAMES = {
    "banking": ("Bank", "Banking"),
    "dunning": ("Aanmaningen", "Dunning"),
    "ledger": ("Debiteurenadministratie", "Ledger"),
    "outbox": ("Berichten", "Outbox"),
    "payments": ("Betalingen", "Payments"),
    "portal": ("Debiteurenportaal", "Portal"),
}


@pytest.mark.parametrize("label", sorted(APP_NAMES))
def test_app_name_follows_language(label: str):
    from django.apps import apps

    dutch, english = APP_NAMES[label]
    config = apps.get_app_config(label)
    with translation.override("nl"):
        assert str(config.verbose_name) == dutch
    with translation.override("en"):
        assert str(config.verbose_name) == english


@pytest.mark.parametrize("language, heading, other", [
    ("nl", "Koppel aan een andere debiteur", "Link to another debtor"),
    ("en", "Link to another debtor", "Koppel aan een andere debiteur"),
])
def test_review_link_form_one_language(admin_client, tmp_path: Path, language: str, heading: str, other: str):
    creditor = make_creditor()
    make_invoice(make_debtor(creditor, "D1", "Jansen"), "A-1001", "80.00")
    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), remittance="onbekend")])
    payment = Payment.objects.get()

    review = _page(admin_client, reverse("admin:banking_reviewpayment_change", args=[payment.pk]), language)
    index = _page(admin_client, reverse("admin:index"), language)

    assert heading in review
    assert other not in review
    assert " / " not in review.split(heading)[1].split("</form>")[0]
    if language == "nl":
        assert "Aanmaningen" in index
        assert ">Dunning<" not in index


def _payment_of_two_debtors(tmp_path: Path) -> Payment:
    """Import a payment that names invoices of two debtors, which puts it in the review queue."""
    creditor = make_creditor()
    make_invoice(make_debtor(creditor, "D1", "Jansen"), "A-1001", "80.00")
    make_invoice(make_debtor(creditor, "D2", "Pietersen"), "B-2001", "80.00")
    import_entries(tmp_path, [SampleEntry(Decimal("80.00"), remittance="A-1001 B-2001")])
    return Payment.objects.get()


@pytest.mark.parametrize(("language", "expected", "other"), [
    ("nl", "factuurnummer A-1001, B-2001 in de omschrijving, maar op facturen van 2 debiteuren",
     "invoice number A-1001"),
    ("en", "invoice number A-1001, B-2001 in the description, but on invoices of 2 debtors",
     "factuurnummer A-1001"),
])
def test_review_reason_in_user_language(admin_client, tmp_path: Path, language: str, expected: str, other: str):
    payment = _payment_of_two_debtors(tmp_path)

    review = _page(admin_client, reverse("admin:banking_reviewpayment_change", args=[payment.pk]), language)
    matches = _page(admin_client, reverse("admin:banking_matchdecision_changelist"), language)

    assert expected in review
    assert other not in review
    assert expected in matches
    assert other not in matches


@pytest.mark.parametrize(("language", "rule", "other"), [
    ("nl", "Factuurnummer", "Invoice number"),
    ("en", "Invoice number", "Factuurnummer"),
])
def test_review_shows_rule_and_score(admin_client, tmp_path: Path, language: str, rule: str, other: str):
    payment = _payment_of_two_debtors(tmp_path)
    assert payment.match_rule == "invoice_number"
    assert payment.match_score > 0

    listing = _page(admin_client, reverse("admin:banking_reviewpayment_changelist"), language)
    review = _page(admin_client, reverse("admin:banking_reviewpayment_change", args=[payment.pk]), language)

    assert f'<td class="field-match_rule">{rule}</td>' in listing
    assert f'<td class="field-match_score">{payment.match_score}</td>' in listing
    assert other not in listing
    assert f'<div class="readonly">{rule}</div>' in review
    assert f'<div class="readonly">{payment.match_score}</div>' in review


def test_review_list_shows_reference_and_reason(admin_client, tmp_path: Path):
    """A debtor reference paid twice: the list shows the reference and the reason of the import report."""
    from betaalreis.channels.render.context import debtor_payment_reference

    creditor = make_creditor()
    debtor = make_debtor(creditor, "D1", "Jansen")
    make_invoice(debtor, "A-1001", "80.00")
    reference = debtor_payment_reference(debtor)
    twice = [SampleEntry(Decimal("80.00"), name="Jansen", iban=PAYER_IBAN, structured_reference=reference)] * 2
    report = import_entries(tmp_path, twice)
    payment = Payment.objects.get(status="review")
    # A newer invoice makes the next run match the payment again, now that the
    # first payment has linked the payer IBAN to the debtor.
    make_invoice(make_debtor(creditor, "D2", "Pietersen"), "B-2001", "15.00")
    assert reopen_reviews_after_new_invoices(creditor.pk) == 1
    match_payments(creditor)
    payment.refresh_from_db()
    assert DebtorBankAccount.objects.filter(debtor=debtor).exists()

    listing = _page(admin_client, reverse("admin:banking_reviewpayment_changelist"), "nl")

    reason = f"betalingskenmerk {reference} hoort bij een debiteur zonder openstaande facturen"
    assert any(reason in line for line in report.details), report.details
    assert payment.status == "review"
    assert reason in reason_in_dutch(payment.match_reason)
    assert reason in listing
    assert f'<td class="field-structured_reference">{reference}</td>' in listing
    assert payment.structured_reference == reference
