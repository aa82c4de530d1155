"""Stage texts claim earlier reminders only when the debtor was sent one for these invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest

from betaalreis.dunning.models import Stage
from betaalreis.ledger.models import DebtorKind
from betaalreis.outbox.history import reminded_before
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import render_communication
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 12, 7)


def communication_for(debtor, invoices, *, stage: str, channel: str, language: str = "nl", **fields):
    communication = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel=channel, stage=stage, language=language,
        idempotency_key=f"{stage}-{channel}-{language}-{Communication.objects.count()}",
        run_date=fields.pop("run_date", DAY), total_amount=sum(invoice.open_amount for invoice in invoices),
        **fields,
    )
    items = [
        CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=invoice.open_amount)
        for invoice in invoices
    ]
    return communication, items


def send_earlier_reminder(debtor, invoices, *, status=CommunicationStatus.SENT, channel="email"):
    sent_at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=AMSTERDAM)
    return communication_for(
        debtor, invoices, stage="reminder", channel=channel, status=status, run_date=sent_at.date(),
        sent_at=sent_at if status == CommunicationStatus.SENT else None,
    )


def render(debtor, invoices, *, stage: str, channel: str, language: str = "nl"):
    communication, items = communication_for(debtor, invoices, stage=stage, channel=channel, language=language)
    policy_stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind=debtor.kind, code=stage)
    message = render_communication(communication, items, policy_stage, today=DAY)
    if channel == "letter":
        document = pdfium.PdfDocument(message.attachments[0].content)
        return " ".join(" ".join(page.get_textpage().get_text_range() for page in document).split())
    return " ".join(f"{message.subject} {message.text}".split())


@pytest.fixture
def business(creditor):
    return make_debtor(creditor, kind=DebtorKind.BUSINESS, customer_number="ZOET-1")


@pytest.fixture
def overdue(business):
    return make_invoice(business, "200.00", due=DAY - dt.timedelta(days=45))


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_first_final_notice_claims_no_earlier_reminder(business, overdue, channel):
    text = render(business, [overdue], stage="final_notice", channel=channel)

    assert "eerder gevraagd" not in text
    assert "De vervaldatum van de factuur hieronder is verstreken" in text
    assert "Dit is onze laatste aanmaning." in text


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_final_notice_after_reminder_says_so(business, overdue, channel):
    send_earlier_reminder(business, [overdue])

    text = render(business, [overdue], stage="final_notice", channel=channel)

    assert "Wij hebben u al eerder gevraagd om de factuur hieronder te betalen" in text


@pytest.mark.parametrize("channel", ["email", "letter"])
def test_final_notice_in_english_both_cases(business, overdue, channel):
    first = render(business, [overdue], stage="final_notice", channel=channel, language="en")
    send_earlier_reminder(business, [overdue])
    later = render(business, [overdue], stage="final_notice", channel=channel, language="en")

    assert "asked you before" not in first
    assert "The due date of the invoice below has passed" in first
    assert "We have asked you before to pay the invoice below" in later


# Per stage: text a first message must not contain, and text it contains once reminded.
HISTORY_TEXTS = {
    "second_reminder": ("Tweede herinnering", "Wij hebben u eerder gevraagd"),
    "handover": ("laatste aanmaning", "ook na onze laatste aanmaning"),
}


@pytest.mark.parametrize("channel", ["email", "letter"])
@pytest.mark.parametrize("stage", sorted(HISTORY_TEXTS))
def test_stage_text_follows_history(business, overdue, stage, channel):
    absent_at_first, present_later = HISTORY_TEXTS[stage]

    first = render(business, [overdue], stage=stage, channel=channel)
    send_earlier_reminder(business, [overdue])
    later = render(business, [overdue], stage=stage, channel=channel)

    assert absent_at_first not in first
    assert "eerder gevraagd" not in first
    assert present_later in later


def test_failed_or_call_message_is_no_earlier_reminder(business, overdue):
    send_earlier_reminder(business, [overdue], status=CommunicationStatus.FAILED)
    send_earlier_reminder(business, [overdue], channel="phone")

    text = render(business, [overdue], stage="final_notice", channel="email")

    assert "eerder gevraagd" not in text


def test_every_invoice_needs_an_earlier_message(business, overdue):
    newer = make_invoice(business, "50.00", due=DAY - dt.timedelta(days=40))
    send_earlier_reminder(business, [overdue])
    both, items = communication_for(business, [overdue, newer], stage="final_notice", channel="email")
    only_old, old_items = communication_for(business, [overdue], stage="final_notice", channel="email")

    reminded = reminded_before([(both, items), (only_old, old_items)])

    assert reminded == {only_old.pk}


def test_sms_second_reminder_without_history(business, overdue):
    text = render(business, [overdue], stage="second_reminder", channel="sms")

    assert "tweede herinnering" not in text
    assert ": herinnering." in text


def test_run_sends_first_final_notice_without_false_claim(creditor, business, overdue, betaalreis_home):
    from betaalreis.dunning.run import run_cycle

    run_cycle(DAY, creditor)

    (letter,) = sorted((betaalreis_home / "outbox" / "letter").rglob("*.pdf"))
    document = pdfium.PdfDocument(str(letter))
    text = " ".join(" ".join(page.get_textpage().get_text_range() for page in document).split())
    assert "Laatste aanmaning" in text
    assert "eerder gevraagd" not in text
