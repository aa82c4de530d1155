"""A partly paid claim in letters, emails and call tasks: charged, paid and still open per part."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest

from betaalreis.channels.render import ClaimBreakdown, render_message
from betaalreis.channels.tests.conftest import invoice
from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.policy import LegalSettings

ON = dt.date(2026, 12, 5)


def plain(text: str) -> str:
    """Return `text` with no-break spaces as plain spaces; babel puts one after "€" in Dutch."""
    return text.replace("\xa0", " ")


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return plain("\n".join(document[index].get_textpage().get_text_range() for index in range(len(document))))


@pytest.fixture
def paid_claim() -> ClaimBreakdown:
    """A business owes EUR 1,000 due 1 June 2021 and paid EUR 500 on the day of the letter."""
    legal = compute_claim(
        debtor_kind="business",
        items=[ClaimItem("OLD-1", Decimal("1000.00"), dt.date(2021, 6, 1))],
        on=ON,
        payments=[ClaimPayment(ON, Decimal("500.00"), "OLD-1")],
        settings=LegalSettings(),
    )
    return ClaimBreakdown.from_legal(legal)


@pytest.fixture
def final_notice(make_context, paid_claim):
    def build(language: str, channel: str):
        line = invoice("OLD-1", "1000.00", dt.date(2021, 6, 1), issued=dt.date(2021, 5, 1))
        context = make_context(
            stage_code="final_notice", language=language, invoices=(line,), claim=paid_claim, date=ON
        )
        return render_message(context, channel)

    return build


def test_paid_claim_parts_add_up(paid_claim) -> None:
    assert paid_claim.paid == Decimal("500.00")
    assert paid_claim.paid_to_costs == Decimal("150.00")
    assert paid_claim.paid_to_interest == Decimal("350.00")
    assert paid_claim.paid_to_principal == Decimal("0.00")
    assert paid_claim.costs_charged == Decimal("150.00")
    assert paid_claim.costs_outstanding == Decimal("0.00")
    assert paid_claim.interest_charged == paid_claim.interest + Decimal("350.00")
    assert paid_claim.charged - paid_claim.paid_applied == paid_claim.total


@pytest.mark.parametrize(("language", "lines"), [
    ("nl", [
        "Hoofdsom: € 1.000,00, betaald € 0,00, nog open € 1.000,00",
        "Wettelijke handelsrente: € {interest_charged}, betaald € 350,00, nog open € {interest}",
        "Incassokosten: € 150,00, betaald € 150,00, nog open € 0,00",
        "Ontvangen betalingen: € 500,00, toegerekend in deze volgorde: kosten, rente, hoofdsom.",
        "Totaal te betalen: € {total}",
    ]),
    ("en", [
        "Principal: €1,000.00, paid €0.00, still open €1,000.00",
        "Statutory commercial interest: €{interest_charged}, paid €350.00, still open €{interest}",
        "Collection costs: €150.00, paid €150.00, still open €0.00",
        "Payments received: €500.00, applied in this order: costs, interest, principal.",
        "Total to pay: €{total}",
    ]),
])
def test_final_notice_text_after_payment(final_notice, paid_claim, language: str, lines: list[str]) -> None:
    separator = "," if language == "en" else "."
    decimal = "." if language == "en" else ","

    def amount(value: Decimal) -> str:
        whole, cents = f"{value:.2f}".split(".")
        return f"{int(whole):,}".replace(",", separator) + decimal + cents

    values = {
        "interest_charged": amount(paid_claim.interest_charged),
        "interest": amount(paid_claim.interest),
        "total": amount(paid_claim.total),
    }
    for channel in ("letter", "email"):
        text = plain(final_notice(language, channel).text)

        for line in lines:
            assert line.format(**values) in text, (channel, line, text)
        assert "€ 0,00\n  Totaal te betalen" not in text, channel
        assert "\n\n\n" not in text, channel


@pytest.mark.parametrize(("language", "phrases"), [
    ("nl", ["Hoofdsom", "berekend", "€ 150,00 betaald", "Ontvangen betalingen: € 500,00"]),
    ("en", ["Principal", "charged", "€150.00 paid", "Payments received: €500.00"]),
])
def test_final_notice_html_after_payment(final_notice, language: str, phrases: list[str]) -> None:
    html = plain(final_notice(language, "email").html)

    for phrase in phrases:
        assert phrase in html, phrase


@pytest.mark.parametrize(("language", "header", "payments"), [
    ("nl", ("Berekend", "Betaald", "Nog open"), "Ontvangen betalingen: € 500,00"),
    ("en", ("Charged", "Paid", "Still open"), "Payments received: €500.00"),
])
def test_final_notice_pdf_after_payment(final_notice, paid_claim, language, header, payments) -> None:
    message = final_notice(language, "letter")

    text = pdf_text(message.attachments[0].content)

    for label in header:
        assert label in text, text
    assert payments in text, text
    costs_row = "Incassokosten" if language == "nl" else "Collection costs"
    amount = "€ 150,00" if language == "nl" else "€150.00"
    costs_line = next(line for line in text.splitlines() if line.startswith(costs_row))
    assert costs_line.count(amount) == 2, costs_line


def test_unpaid_claim_keeps_short_lines(make_context, claim) -> None:
    text = plain(render_message(make_context(stage_code="final_notice", claim=claim), "letter").text)

    assert "Totaal open: € 1.659,56" in text
    assert "Ontvangen betalingen" not in text
    assert ", betaald " not in text


@pytest.mark.parametrize(("language", "together"), [("nl", "samen"), ("en", "Together")])
def test_call_script_together_only_for_several(make_context, language: str, together: str) -> None:
    one_invoice = (invoice("2026-0042", "425.00", dt.date(2026, 11, 1)),)

    single = render_message(make_context(stage_code="call_task", language=language, invoices=one_invoice), "phone")
    several = render_message(make_context(stage_code="call_task", language=language), "phone")

    assert together not in single.metadata["call_task"]["script"][1]
    assert together in several.metadata["call_task"]["script"][1]


@pytest.mark.parametrize(("language", "split"), [
    ("nl", "Dat is € 1.000,00 hoofdsom en € {interest} wettelijke handelsrente."),
    ("en", "That is €1,000.00 principal and €{interest} statutory commercial interest."),
])
def test_call_task_splits_claim(make_context, paid_claim, language: str, split: str) -> None:
    line = invoice("OLD-1", "1000.00", dt.date(2021, 6, 1))
    context = make_context(stage_code="call_task", language=language, invoices=(line,), claim=paid_claim)

    task = render_message(context, "phone").metadata["call_task"]

    assert task["principal"] == "1000.00"
    assert task["interest"] == f"{paid_claim.interest:.2f}"
    assert task["collection_costs"] == "0.00"
    assert task["total"] == f"{paid_claim.total:.2f}"
    assert task["paid"] == "500.00"
    interest = f"{paid_claim.interest:.2f}"
    interest = interest.replace(".", ",") if language == "nl" else interest
    script = plain("\n".join(task["script"]))
    assert split.format(interest=interest) in script, script
    assert ("Ontvangen betalingen: € 500,00" if language == "nl" else "Payments received: €500.00") in script


def test_call_task_costs_without_payment(make_context) -> None:
    claim = ClaimBreakdown(
        principal=Decimal("123.71"), interest=Decimal("1.66"), costs=Decimal("40.00"),
        total=Decimal("165.37"), costs_due=True,
    )
    line = invoice("VD2026-000931", "123.71", dt.date(2026, 9, 1))
    context = make_context(stage_code="call_task", invoices=(line,), claim=claim)

    task = render_message(context, "phone").metadata["call_task"]

    assert task["amount"] == "165.37"
    assert (task["principal"], task["interest"], task["collection_costs"]) == ("123.71", "1.66", "40.00")
    script = plain("\n".join(task["script"]))
    assert "Er staat nog € 165,37 open." in script
    assert "Dat is € 123,71 hoofdsom, € 1,66 wettelijke rente en € 40,00 incassokosten." in script
