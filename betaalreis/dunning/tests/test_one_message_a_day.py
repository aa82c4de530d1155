"""One message a day per debtor when the debtor's invoices are at different stages.

The consumer policy sends the friendly reminder 3 days after the due date
and the reminder 14 days after it. Invoice A is due 14 days before the run
day and has had its friendly reminder, and invoice B is due 3 days before
it, so each has a stage due on the run day.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from betaalreis.dunning.planner import plan_day
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)
NEXT_DAY = DAY + dt.timedelta(days=1)


def _two_stages(creditor, **debtor_fields):
    debtor = make_debtor(creditor, customer_number="TWEE-1", **debtor_fields)
    first = make_invoice(
        debtor, "100.00", due=DAY - dt.timedelta(days=14),
        dunning_stage="friendly_reminder", dunning_stage_date=DAY - dt.timedelta(days=11),
    )
    second = make_invoice(debtor, "50.00", due=DAY - dt.timedelta(days=3))
    return debtor, first, second


def _stages(plan) -> dict[int, str]:
    return {invoice_id: message.stage.code for message in plan.messages for invoice_id in message.invoice_ids}


def test_higher_stage_goes_first(creditor):
    debtor, first, second = _two_stages(creditor)

    plan = plan_day(DAY, creditor)

    assert _stages(plan) == {first.pk: "reminder"}
    (held,) = plan.held_second_messages
    assert (held.stage.code, held.invoice_ids) == ("friendly_reminder", [second.pk])


def test_held_message_goes_next_run(creditor):
    debtor, first, second = _two_stages(creditor)
    output = io.StringIO()
    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", stdout=output)

    plan = plan_day(NEXT_DAY, creditor)

    assert _stages(plan) == {second.pk: "friendly_reminder"}
    assert plan.held_second_messages == []


def test_message_of_earlier_run_counts(creditor):
    debtor, first, second = _two_stages(creditor)
    Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="email", stage="friendly_reminder", language="nl",
        idempotency_key="earlier-run", status=CommunicationStatus.SENT, run_date=DAY, total_amount=Decimal("50.00"),
    )

    plan = plan_day(DAY, creditor)

    assert plan.messages == []
    assert sorted(message.stage.code for message in plan.held_second_messages) == ["friendly_reminder", "reminder"]


@pytest.mark.parametrize("status", [CommunicationStatus.CANCELLED, CommunicationStatus.FAILED])
def test_cancelled_message_does_not_count(creditor, status):
    debtor, first, second = _two_stages(creditor)
    Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="email", stage="friendly_reminder", language="nl",
        idempotency_key="earlier-run", status=status, run_date=DAY, total_amount=Decimal("50.00"),
    )

    plan = plan_day(DAY, creditor)

    assert _stages(plan) == {first.pk: "reminder"}


def test_unreachable_message_does_not_count(creditor):
    # No channel of either stage reaches the debtor, so both stay in the plan to be reported.
    debtor, first, second = _two_stages(creditor, email="", mobile="", street="")

    plan = plan_day(DAY, creditor)

    assert _stages(plan) == {first.pk: "reminder", second.pk: "friendly_reminder"}
    assert plan.held_second_messages == []


def test_other_debtors_unaffected(creditor):
    _two_stages(creditor)
    other = make_debtor(creditor)
    make_invoice(other, "70.00", due=DAY - dt.timedelta(days=3))

    plan = plan_day(DAY, creditor)

    assert sorted(message.stage.code for message in plan.messages if message.debtor.id == other.pk) == [
        "friendly_reminder"
    ]


@pytest.mark.parametrize(
    ("language", "total", "line"),
    [
        ("nl", "1 tweede bericht van de dag uitgesteld",
         "Vriendelijke herinnering uitgesteld tot de volgende run, omdat de debiteur vandaag al een bericht "
         "krijgt: TWEE-1"),
        ("en", "1 second message of the day held",
         "Friendly reminder held to the next run, because the debtor already gets a message today: TWEE-1"),
    ],
)
def test_run_summary_names_held(creditor, language, total, line):
    _two_stages(creditor)
    output = io.StringIO()

    call_command(
        "run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--no-dispatch", "--lang", language,
        stdout=output,
    )

    text = " ".join(output.getvalue().split())
    assert total in text
    assert line in text
