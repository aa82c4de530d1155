"""SMS and WhatsApp messages of a claim name the payments received and what is still open."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.channels.gsm import measure_sms
from betaalreis.channels.render import ClaimBreakdown, render_message
from betaalreis.channels.render.templating import format_amount
from betaalreis.channels.tests.conftest import invoice
from betaalreis.legal.claims import ClaimItem, ClaimPayment, compute_claim
from betaalreis.legal.policy import LegalSettings

ON = dt.date(2026, 12, 5)
DUE = dt.date(2026, 10, 1)
NUMBER = "2026-0042"
# A short sign-in link as `short_portal_url` builds it: 12 characters of code.
SHORT_URL = "http://127.0.0.1:8000/b/K7Q2MX9PRT4W/"


def plain(text: str) -> str:
    """Return `text` with no-break spaces as plain spaces, because babel puts one after "€" in Dutch."""
    return text.replace("\xa0", " ")


def business_claim(paid: str | None) -> ClaimBreakdown:
    """Return a business's claim over EUR 1,000 due 1 October 2026 on 5 December, after a payment of `paid` that day."""
    payments = [ClaimPayment(ON, Decimal(paid), NUMBER)] if paid else []
    legal = compute_claim(
        debtor_kind="business",
        items=[ClaimItem(NUMBER, Decimal("1000.00"), DUE)],
        on=ON,
        payments=payments,
        settings=LegalSettings(),
    )
    return ClaimBreakdown.from_legal(legal)


def money(amount: Decimal, language: str) -> str:
    return plain(format_amount(amount, "EUR", language))


@pytest.fixture
def render(make_context):
    def build(claim: ClaimBreakdown, language: str, channel: str, stage_code: str = "final_notice"):
        line = invoice(NUMBER, "1000.00", DUE)
        context = make_context(
            stage_code=stage_code, language=language, invoices=(line,), claim=claim, date=ON, short_url=SHORT_URL,
        )
        return render_message(context, channel)

    return build


def test_payment_cases_split_as_intended() -> None:
    partly = business_claim("400.00")
    only_costs = business_claim("100.00")

    assert partly.paid_to_costs == Decimal("150.00")
    assert partly.paid_to_interest > 0
    assert partly.paid_to_principal > 0
    assert only_costs.paid_to_costs == Decimal("100.00")
    assert only_costs.paid_to_interest == Decimal("0.00")
    assert only_costs.paid_to_principal == Decimal("0.00")


# The sentence on the amount still open, by channel and language, with
# {open} for the claim total in the message language.
OPEN_SENTENCES = {
    ("sms", "nl"): "Er staat nog {open} open voor factuur 2026-0042.",
    ("sms", "en"): "{open} is still outstanding for invoice 2026-0042.",
    ("whatsapp", "nl"): "Er staat nog {open} open.",
    ("whatsapp", "en"): "{open} is still outstanding.",
}
UNPAID_OPEN_SENTENCES = {
    **OPEN_SENTENCES,
    ("sms", "nl"): "er staat nog {open} open voor factuur 2026-0042.",
    ("whatsapp", "nl"): "Het openstaande bedrag is {open}.",
    ("whatsapp", "en"): "The amount outstanding is {open}.",
}

# Each case: the language, the payment, the note on it ({paid} is the
# claim's payments in the message language) and the SMS segments. Every SMS
# is GSM-7, and a payment adds one segment at most.
CASES = {
    "nl unpaid": ("nl", None, None, 1),
    "nl partly paid": ("nl", "400.00", "Wij ontvingen {paid} van u. Dat ging eerst naar kosten en rente.", 2),
    "nl only costs paid": ("nl", "100.00", "Wij ontvingen {paid} van u. Dat ging eerst naar kosten.", 2),
    "en unpaid": ("en", None, None, 1),
    "en partly paid": ("en", "400.00", "We received {paid} from you. It went to costs and interest first.", 2),
    "en only costs paid": ("en", "100.00", "We received {paid} from you. It went to costs first.", 2),
}


@pytest.mark.parametrize(("language", "paid", "note", "segments"), list(CASES.values()), ids=list(CASES))
@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_short_message_states_payment(render, channel, language, paid, note, segments) -> None:
    claim = business_claim(paid)
    values = {"paid": money(claim.paid, language), "open": money(claim.total, language)}

    message = render(claim, language, channel)

    text = plain(message.text)
    if note is None:
        assert UNPAID_OPEN_SENTENCES[(channel, language)].format(**values) in text, text
        assert "ontvingen" not in text
        assert "received" not in text
    else:
        assert f"{note.format(**values)} {OPEN_SENTENCES[(channel, language)].format(**values)}" in text, text
    assert message.metadata["amount_due"] == str(claim.total)
    if channel == "sms":
        assert message.metadata["encoding"] == "GSM-7"
        assert message.metadata["segments"] == segments, (text, message.metadata["units"])
        assert measure_sms(message.text).segments == segments


@pytest.mark.parametrize(("language", "paid", "status"), [
    ("nl", None, "Wij ontvingen nog geen betaling."),
    ("nl", "400.00", "Wij ontvingen € 400,00 van u. Dat ging eerst naar kosten en rente."),
    ("nl", "100.00", "Wij ontvingen € 100,00 van u. Dat ging eerst naar kosten."),
    ("en", None, "We have not received a payment yet."),
    ("en", "400.00", "We received €400.00 from you. It went to costs and interest first."),
    ("en", "100.00", "We received €100.00 from you. It went to costs first."),
])
def test_whatsapp_payments_value(render, language, paid, status) -> None:
    message = render(business_claim(paid), language, "whatsapp")

    values = message.metadata["template_values"]
    assert plain(values["payments"]) == status
    assert plain(values["total"]) == money(business_claim(paid).total, language)


def test_whatsapp_payments_value_without_claim(make_context) -> None:
    line = invoice(NUMBER, "1000.00", DUE)
    # A credit note or a payment outside any claim lowered this open amount.
    credited = dataclasses.replace(invoice("2026-0057", "300.00", DUE), open_amount=Decimal("120.00"))

    unpaid = render_message(make_context(invoices=(line,)), "whatsapp")
    reduced = render_message(make_context(invoices=(line, credited)), "whatsapp")

    assert unpaid.metadata["template_values"]["payments"] == "Wij ontvingen nog geen betaling."
    assert reduced.metadata["template_values"]["payments"] == "Wij ontvingen nog niet het volledige bedrag."
    assert "ontvingen" not in reduced.text


@pytest.mark.parametrize("stage_code", ["friendly_reminder", "reminder", "second_reminder", "final_notice"])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_payment_adds_one_segment_at_most(render, stage_code, language) -> None:
    unpaid = render(business_claim(None), language, "sms", stage_code)
    paid = render(business_claim("400.00"), language, "sms", stage_code)

    assert "ontvingen" in paid.text or "received" in paid.text
    assert paid.metadata["encoding"] == "GSM-7"
    assert paid.metadata["segments"] <= unpaid.metadata["segments"] + 1, paid.text
