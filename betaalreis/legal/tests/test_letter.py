"""The legal paragraph of the 14-day letter."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.errors import InvalidInput
from betaalreis.legal.claims import ClaimItem, compute_claim
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.letter import fourteen_day_letter
from betaalreis.legal.policy import LegalSettings

SENT = dt.date(2026, 12, 4)
ITEMS = [ClaimItem("2026-0042", Decimal("150.00"), SENT), ClaimItem("2026-0043", Decimal("200.00"), SENT)]

# Wordings that start the term on the letter's date and so void the costs.
FORBIDDEN = ("dagtekening", "na heden", "na verzending", "date of this letter", "from today")


def _letter(language: str, *, vat_deductible: bool = True):  # type: ignore[no-untyped-def]
    breakdown = compute_claim(
        debtor_kind="consumer",
        items=ITEMS,
        on=SENT,
        settings=LegalSettings(vat_deductible=vat_deductible),
    )
    return fourteen_day_letter(
        breakdown,
        fourteen_day_term(SENT, "letter"),
        language=language,
        payee_name="Voorbeeld Incasso B.V.",
        iban="NL91ABNA0417164300",
        payment_reference="RF0520260000042",
    )


@pytest.mark.parametrize("language", ["nl", "en"])
def test_letter_states_required_elements(language: str) -> None:
    letter = _letter(language)

    assert letter.principal == Decimal("350.00")
    assert letter.costs_if_unpaid == Decimal("52.50")
    assert ("52,50" if language == "nl" else "52.50") in letter.costs_sentence
    assert "NL91 ABNA 0417 1643 00" in letter.payment_sentence
    assert "RF0520260000042" in letter.payment_sentence
    assert letter.term.term_end == dt.date(2026, 12, 22)


def test_term_worded_from_receipt() -> None:
    assert "binnen veertien dagen na de dag waarop u deze brief heeft ontvangen" in _letter("nl").term_sentence
    assert "within fourteen days after the day on which you received this letter" in _letter("en").term_sentence


@pytest.mark.parametrize("language", ["nl", "en"])
def test_no_wording_from_letter_date(language: str) -> None:
    paragraph = _letter(language).paragraph.lower()

    for wording in FORBIDDEN:
        assert wording not in paragraph


def test_letter_names_vat_when_not_deductible() -> None:
    letter = _letter("nl", vat_deductible=False)

    assert letter.costs_if_unpaid == Decimal("63.53")
    assert letter.vat_on_costs == Decimal("11.03")
    assert "btw" in letter.costs_sentence
    assert "externe dienst" in letter.costs_sentence
    assert "niet kunnen aftrekken" in letter.costs_sentence


@pytest.mark.usefixtures("english_reports")
def test_business_claim_rejected() -> None:
    breakdown = compute_claim(debtor_kind="business", items=ITEMS, on=SENT)

    with pytest.raises(InvalidInput, match="consumer"):
        fourteen_day_letter(
            breakdown, fourteen_day_term(SENT, "letter"), language="nl",
            payee_name="X", iban="NL91ABNA0417164300", payment_reference="RF0520260000042",
        )
