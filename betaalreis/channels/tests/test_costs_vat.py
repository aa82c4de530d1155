"""Collection costs with VAT: every message that charges them states why (BIK art. 2 lid 3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest

from betaalreis.channels.render import ClaimBreakdown, render_message
from betaalreis.channels.tests.conftest import invoice
from betaalreis.legal.claims import ClaimItem, compute_claim
from betaalreis.legal.policy import LegalSettings

ON = dt.date(2026, 12, 7)

REASONS = {
    "nl": "omdat wij voor de incasso een externe dienst inschakelen die ons btw in rekening brengt",
    "en": "because we use an outside collection service that charges us VAT",
}


def plain(text: str) -> str:
    """Return `text` with no-break spaces as plain spaces; babel puts one after "€" in Dutch."""
    return text.replace("\xa0", " ")


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
    return " ".join(plain(text).split())


def business_claim(vat_deductible: bool) -> ClaimBreakdown:
    """A business owes EUR 1,000 due 1 October 2026, so EUR 150 costs are owed without a letter."""
    legal = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("B-1", Decimal("1000.00"), dt.date(2026, 10, 1))],
        on=ON,
        settings=LegalSettings(vat_deductible=vat_deductible),
    )
    return ClaimBreakdown.from_legal(legal)


def render(make_context, claim: ClaimBreakdown, stage: str, language: str, channel: str):
    line = invoice("B-1", "1000.00", dt.date(2026, 10, 1), issued=dt.date(2026, 9, 1))
    context = make_context(stage_code=stage, language=language, invoices=(line,), claim=claim, date=ON)
    return render_message(context, channel)


def test_business_costs_include_vat() -> None:
    claim = business_claim(vat_deductible=False)

    assert claim.costs_due
    assert claim.costs == Decimal("181.50")
    assert claim.costs_vat == Decimal("31.50")


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("stage", ["reminder", "final_notice", "handover"])
def test_costs_vat_stated_in_email(make_context, stage: str, language: str) -> None:
    message = render(make_context, business_claim(vat_deductible=False), stage, language, "email")

    assert plain(message.text).count(REASONS[language]) == 1
    assert plain(message.html).count(REASONS[language]) == 1
    assert "31,50" in message.text or "31.50" in message.text


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("stage", ["reminder", "final_notice", "handover"])
def test_costs_vat_stated_in_letter(make_context, stage: str, language: str) -> None:
    message = render(make_context, business_claim(vat_deductible=False), stage, language, "letter")

    assert plain(message.text).count(REASONS[language]) == 1
    assert pdf_text(message.attachments[0].content).count(REASONS[language]) == 1


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_deductible_vat_no_statement(make_context, channel: str) -> None:
    message = render(make_context, business_claim(vat_deductible=True), "final_notice", "nl", channel)

    assert REASONS["nl"] not in plain(message.text)
    assert REASONS["nl"] not in plain(message.html)


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_fourteen_day_letter_states_vat_once(make_context, claim, channel: str) -> None:
    costs_owed = dataclasses.replace(
        claim, costs_due=True, costs=Decimal("301.21"), costs_vat=Decimal("52.28"),
        costs_if_unpaid=Decimal("301.21"), costs_if_unpaid_vat=Decimal("52.28"),
    )
    context = make_context(stage_code="fourteen_day_letter", claim=costs_owed)

    message = render_message(context, channel)

    assert plain(message.text).count(REASONS["nl"]) == 1
    if channel == "letter":
        assert pdf_text(message.attachments[0].content).count(REASONS["nl"]) == 1
