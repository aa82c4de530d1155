"""Matching reasons shown in Dutch: every reason the matcher writes is translated."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from betaalreis.banking.models import MatchCandidate
from betaalreis.banking.reason_text import reason_in_dutch, reason_in_language
from betaalreis.banking.samples import SampleEntry
from betaalreis.ledger.models import Allocation, DebtorBankAccount, Payment

from .helpers import OTHER_PAYER_IBAN, PAYER_IBAN, import_entries
from .test_matching import CASES, KENMERK, ledger  # noqa: F401 - ledger is a fixture

pytestmark = pytest.mark.django_db

# Words of the English phrases. None may be left after translation.
ENGLISH = re.compile(
    r"\b(invoice|invoices|payer|amount|reference|reversal|debtor|debtors|confirmed|rule|but|open|"
    r"description|number|known|close|split|applied|credit|payment|ignored|short|wrong|equal|fits)\b"
)

# Payments that go to review or are matched in other ways than the rule table.
MORE_ENTRIES = [
    SampleEntry(Decimal("33.33"), remittance="geen idee"),
    SampleEntry(Decimal("121.00"), remittance="factuur 42"),
    SampleEntry(Decimal("75.00"), remittance="factuur 77319"),
    SampleEntry(Decimal("500.00"), structured_reference=KENMERK),
    SampleEntry(Decimal("999.00"), iban=PAYER_IBAN, remittance="bedankt"),
    SampleEntry(Decimal("50.00"), name="Bakkerij Pietersen", remittance="okt"),
    SampleEntry(Decimal("30.00"), remittance="INV 2O26-1OO43"),
]


def test_known_phrases_translated() -> None:
    assert reason_in_dutch("invoice number 2026-0042 in the description, amount equals open amount of 2026-0042") == (
        "factuurnummer 2026-0042 in de omschrijving, bedrag gelijk aan het openstaande bedrag van 2026-0042"
    )
    assert reason_in_dutch("payer name close to debtor name (JANSEN BV)") == (
        "naam van de betaler lijkt op de naam van de debiteur (JANSEN BV)"
    )
    settled = (
        "invoice number F-1 (paid), F-2 (credited) in the description, but no longer open; "
        "paid twice or paid late, so keep it as credit or refund it"
    )
    assert not ENGLISH.search(reason_in_dutch(settled)), reason_in_dutch(settled)


# Reasons that reversals, online payments and credit notes write, and their Dutch.
OTHER_REASONS = [
    ("payer IBAN known; 1 earlier payment of this amount listed as candidates",
     "IBAN van de betaler bekend; 1 eerdere betaling van dit bedrag als kandidaat voorgesteld"),
    ("payer IBAN known; 3 earlier payments of this amount listed as candidates",
     "IBAN van de betaler bekend; 3 eerdere betalingen van dit bedrag als kandidaten voorgesteld"),
    ("online payment tr_8Ab2 for invoices already paid: credit",
     "online betaling tr_8Ab2 voor facturen die al betaald waren: tegoed"),
    ("rest of online payment tr_8Ab2 after partial refund",
     "rest van online betaling tr_8Ab2 na gedeeltelijke terugbetaling"),
    ("rest of online payment tr_8Ab2 after partial chargeback",
     "rest van online betaling tr_8Ab2 na gedeeltelijke terugvordering (chargeback)"),
    ("online payment tr_8Ab2", "online betaling tr_8Ab2"),
    ("credit note CN-2026-0007", "creditnota CN-2026-0007"),
    ("invoice number 2026-1004 in the description, but invoice 2026-1004 was handed over to the collection "
     "agency: tell the agency of this payment before booking it, because booking only the principal waives "
     "the costs and interest",
     "factuurnummer 2026-1004 in de omschrijving, maar factuur 2026-1004 is uit handen gegeven aan het "
     "incassobureau: meld deze betaling aan het incassobureau voordat u haar boekt, want alleen de hoofdsom "
     "boeken scheldt de kosten en rente kwijt"),
    ("only the amount matches: EUR 99.99 equals what is open or was requested for 2026-1005; "
     "no reference or known payer",
     "alleen het bedrag past: EUR 99.99 is gelijk aan wat openstaat of werd gevraagd voor 2026-1005; "
     "geen betalingskenmerk of bekende betaler"),
    ("no rule matched: no valid reference, invoice number, known IBAN or name; 4 debtors have an open "
     "invoice or a sent message of EUR 29.95, too many to propose",
     "geen regel past: geen geldig betalingskenmerk, factuurnummer, bekend IBAN of bekende naam; 4 debiteuren "
     "hebben een openstaande factuur of een verstuurd bericht van EUR 29.95, te veel om voor te stellen"),
]


@pytest.mark.parametrize(("reason", "expected"), OTHER_REASONS)
def test_other_reasons_translated(reason: str, expected: str) -> None:
    assert reason_in_dutch(reason) == expected


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "factuurnummer F-1 in de omschrijving"),
    ("en", "invoice number F-1 in the description"),
])
def test_reason_in_active_language(language: str, expected: str) -> None:
    with translation.override(language):
        assert reason_in_language("invoice number F-1 in the description") == expected


OVERPAYMENT = (
    "invoice number F-1 in the description, but the payment of EUR 1016.00 is more than twice the EUR 16.00 "
    "open: large overpayment"
)


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "maar de betaling van €\xa01.016,00 is meer dan twee keer de €\xa016,00 die openstaat"),
    ("en", "but the payment of €1,016.00 is more than twice the €16.00 open"),
])
def test_reason_amounts_in_report_format(language: str, expected: str) -> None:
    with translation.override(language):
        text = reason_in_language(OVERPAYMENT)

    assert expected in text
    assert "EUR" not in text


def test_reason_keeps_unknown_currency_code() -> None:
    with translation.override("en"):
        assert reason_in_language("invoice number ABC 12.50 in the description") == (
            "invoice number ABC 12.50 in the description"
        )


ENTRIES = [case[1] for case in CASES] + MORE_ENTRIES


@pytest.mark.parametrize("entry", ENTRIES, ids=[str(index) for index in range(len(ENTRIES))])
def test_every_stored_reason_translated(tmp_path: Path, ledger, entry: SampleEntry) -> None:  # noqa: F811
    creditor, jansen, pietersen, _ = ledger
    DebtorBankAccount.objects.create(creditor=creditor, debtor=pietersen, iban=PAYER_IBAN)
    DebtorBankAccount.objects.create(creditor=creditor, debtor=jansen, iban=OTHER_PAYER_IBAN)

    import_entries(tmp_path, [entry])

    reasons = {
        *MatchCandidate.objects.values_list("reason", flat=True),
        *Payment.objects.values_list("match_reason", flat=True),
        *Allocation.objects.values_list("reason", flat=True),
    } - {""}
    assert reasons
    for reason in reasons:
        dutch = reason_in_dutch(reason)
        assert not ENGLISH.search(dutch), (reason, dutch)
