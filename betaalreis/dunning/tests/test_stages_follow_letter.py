"""Invoices named in one 14-day letter reach the later stages together.

Consumer invoices A (€ 300, due 20 November 2026) and B (€ 200, due 27
November 2026) are named in one 14-day letter sent by email on 18 December
2026, with a term up to and including 1 January 2027. The default consumer
policy gives the final notice 49 days and the handover 70 days after the due
date. A is due for its final notice on 8 January and for the handover on 29
January; B by its own dates a week later. B goes along with A each time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import email
import email.policy
import io
from decimal import Decimal

import pytest
from rich.console import Console

from betaalreis.dunning.management.commands.run import print_summary
from betaalreis.dunning.planner import plan_day
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import (
    Allocation, DebtorKind, Invoice, InvoiceStatus, Payment, PaymentSource, PaymentStatus,
    TimelineEvent, TimelineKind,
)
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice, make_sent_letter

pytestmark = pytest.mark.django_db

LETTER_DAY = dt.date(2026, 12, 18)
A_DUE = dt.date(2026, 11, 20)
B_DUE = dt.date(2026, 11, 27)


def _planned(plan, names: dict[int, str]) -> list[tuple[str, tuple[str, ...]]]:
    return sorted(
        (message.stage.code, tuple(names[invoice_id] for invoice_id in message.invoice_ids))
        for message in plan.messages
    )


FINAL_NOTICE_DAY = dt.date(2027, 1, 8)


def _after_one_letter(creditor, a_stage=("fourteen_day_letter", LETTER_DAY), b_stage=("fourteen_day_letter", LETTER_DAY)):
    """Create A and B, named in one sent 14-day letter, at the given (stage, stage date)."""
    # No phone, so the call task between final notice and handover is never due.
    debtor = make_debtor(creditor, mobile="", phone="")
    first = make_invoice(debtor, "300.00", due=A_DUE, dunning_stage=a_stage[0], dunning_stage_date=a_stage[1])
    second = make_invoice(debtor, "200.00", due=B_DUE, dunning_stage=b_stage[0], dunning_stage_date=b_stage[1])
    make_sent_letter(debtor, [first, second], LETTER_DAY, channel="email")
    return {first.pk: "A", second.pk: "B"}


LETTER = ("fourteen_day_letter", LETTER_DAY)
NOTICE = ("final_notice", FINAL_NOTICE_DAY)


@pytest.mark.parametrize(
    ("a_stage", "b_stage", "day", "expected"),
    [
        # The letter's term runs to 1 January; A's final notice is due on 8 January.
        (LETTER, LETTER, dt.date(2027, 1, 7), []),
        (LETTER, LETTER, FINAL_NOTICE_DAY, [("final_notice", ("A", "B"))]),
        # Both had the final notice on 8 January; A's handover is due on 29 January.
        (NOTICE, NOTICE, dt.date(2027, 1, 28), []),
        (NOTICE, NOTICE, dt.date(2027, 1, 29), [("handover", ("A", "B"))]),
        # B had its final notice on 20 January, and ten days have not passed on 29 January.
        (NOTICE, ("final_notice", dt.date(2027, 1, 20)), dt.date(2027, 1, 29), [("handover", ("A",))]),
        # B never had the required final notice, so it cannot go along with A's
        # handover. Its own final notice waits for the next run, because the
        # debtor gets one message a day.
        (NOTICE, LETTER, dt.date(2027, 1, 29), [("handover", ("A",))]),
    ],
)
def test_stage_days_after_letter(creditor, a_stage, b_stage, day, expected):
    names = _after_one_letter(creditor, a_stage, b_stage)

    plan = plan_day(day, creditor)

    assert _planned(plan, names) == expected


def test_required_stage_not_skipped(creditor):
    names = _after_one_letter(creditor, NOTICE, LETTER)

    plan = plan_day(dt.date(2027, 1, 29), creditor)

    held_messages = [
        (message.stage.code, tuple(names[invoice_id] for invoice_id in message.invoice_ids))
        for message in plan.held_second_messages
    ]
    assert held_messages == [("final_notice", ("B",))]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # The business policy has no 14-day letter, so its first claim stage
        # is the final notice. The handover is due 60 days after 1 October.
        (dt.date(2026, 11, 29), []),
        (dt.date(2026, 11, 30), [("handover", ("A", "B"))]),
    ],
)
def test_business_handover_together(creditor, day, expected):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, mobile="", phone="")
    first = make_invoice(
        debtor, "300.00", due=dt.date(2026, 10, 1),
        dunning_stage="final_notice", dunning_stage_date=dt.date(2026, 11, 8),
    )
    second = make_invoice(
        debtor, "200.00", due=dt.date(2026, 10, 15),
        dunning_stage="final_notice", dunning_stage_date=dt.date(2026, 11, 8),
    )

    plan = plan_day(day, creditor)

    assert _planned(plan, {first.pk: "A", second.pk: "B"}) == expected


def test_run_sends_one_final_notice_and_handover(creditor, betaalreis_home):
    names = _after_one_letter(creditor)
    day = dt.date(2027, 1, 2)
    while day <= dt.date(2027, 2, 6):
        run_cycle(day, creditor)
        day += dt.timedelta(days=1)

    sent = [
        (message.run_date, message.stage, tuple(sorted(names[item.invoice_id] for item in message.items.all())))
        for message in Communication.objects.filter(creditor=creditor, status=CommunicationStatus.SENT)
        .exclude(stage="fourteen_day_letter")
        .order_by("run_date")
    ]
    assert sent == [
        (dt.date(2027, 1, 8), "final_notice", ("A", "B")),
        (dt.date(2027, 1, 29), "handover", ("A", "B")),
    ]
    statuses = set(Invoice.objects.filter(pk__in=list(names)).values_list("status", flat=True))
    assert statuses == {InvoiceStatus.HANDED_OVER}


def test_final_notice_after_payment_on_claim(creditor, betaalreis_home):
    names = _after_one_letter(creditor)
    first = Invoice.objects.get(pk=next(pk for pk, name in names.items() if name == "A"))
    day = dt.date(2027, 1, 2)
    while day <= dt.date(2027, 1, 15):
        if day == dt.date(2027, 1, 5):
            # The debtor pays A in full before its final notice is due.
            payment = Payment.objects.create(
                creditor=creditor, debtor=first.debtor, source=PaymentSource.BANK, external_id="pay-a",
                booking_date=day, amount=first.open_amount, status=PaymentStatus.MATCHED,
            )
            Allocation.objects.create(creditor=creditor, payment=payment, invoice=first, amount=first.open_amount)
            Invoice.objects.filter(pk=first.pk).update(open_amount=0, status=InvoiceStatus.PAID)
        run_cycle(day, creditor)
        day += dt.timedelta(days=1)

    notice = Communication.objects.get(creditor=creditor, stage="final_notice")
    assert notice.run_date == dt.date(2027, 1, 15)
    assert [names[item.invoice_id] for item in notice.items.all()] == ["B"]
    emails = list((betaalreis_home / "outbox" / "email" / creditor.slug / "2027-01-15").glob("*.eml"))
    assert len(emails) == 1
    message = email.message_from_bytes(emails[0].read_bytes(), policy=email.policy.default)
    text = " ".join(message.get_body(preferencelist=("plain",)).get_content().split())
    assert "nog geen volledige betaling ontvangen" in text
    assert "nog geen betaling ontvangen" not in text


def test_handover_task_and_file(creditor, betaalreis_home):
    names = _after_one_letter(creditor, NOTICE, NOTICE)
    debtor = Invoice.objects.get(pk=next(iter(names))).debtor
    notice = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="email", stage="final_notice", language="nl",
        idempotency_key="notice-2027-01-08", status=CommunicationStatus.SENT, run_date=FINAL_NOTICE_DAY,
        sent_at=dt.datetime(2027, 1, 8, 10, tzinfo=dt.timezone.utc), total_amount=Decimal("500.00"),
    )
    for invoice in Invoice.objects.filter(pk__in=list(names)):
        CommunicationInvoice.objects.create(communication=notice, invoice=invoice, open_amount=invoice.open_amount)

    summary = run_cycle(dt.date(2027, 1, 29), creditor, dispatch_messages=False)

    handovers = summary.creditors[0].handovers
    path = betaalreis_home / "handover" / creditor.slug / "2027-01-29.csv"
    assert handovers.path == path
    assert [handed.customer_number for handed in handovers.debtors] == [debtor.customer_number]

    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8)
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:2] == ["Klantnummer", "Naam"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1]))
    assert row["Klantnummer"] == debtor.customer_number
    assert row["E-mail"] == debtor.email
    assert row["Facturen"].count("vervaldatum") == 2
    assert row["Hoofdsom"] == "500,00"
    assert row["Betaald"] == "0,00"
    assert Decimal(row["Rente"].replace(",", ".")) > 0
    assert row["Incassokosten"] == "75,00"
    assert row["Verzonden aanmaningen"] == "Veertiendagenbrief 18-12-2026 (e-mail); Laatste aanmaning 08-01-2027 (e-mail)"

    console = Console(record=True, width=400)
    print_summary(summary, console)
    printed = console.export_text()
    assert f"1 debiteur uit handen gegeven. Geef de gegevens door aan het incassobureau: {path}" in printed
    assert f"{debtor.customer_number} {debtor.name}: €\xa0" in printed

    tasks = TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.TASK)
    assert tasks.count() == 1
    assert tasks.get().data["task"] == "handover"
    assert str(path) in tasks.get().summary

    # A second run on the same day hands over nothing new and stores no second task.
    again = run_cycle(dt.date(2027, 1, 29), creditor, dispatch_messages=False)
    assert again.creditors[0].handovers.debtors == []
    assert tasks.count() == 1
