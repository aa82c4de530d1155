"""The run summary prints how many messages the contact rules hold back, per channel and until when."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import waiting_messages
from betaalreis.ledger.models import DebtorKind
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUNDAY = dt.date(2026, 11, 22)
CHRISTMAS = dt.date(2025, 12, 25)


def run_report(creditor, day: dt.date, *options: str) -> str:
    output = io.StringIO()
    call_command("run", "--date", day.isoformat(), "--creditor", creditor.slug, *options, stdout=output)
    return " ".join(output.getvalue().split())


def make_overdue_debtors(creditor, day: dt.date) -> None:
    """Give the creditor two business debtors reached by email and one reached only by letter."""
    for fields in ({}, {}, {"email": "", "mobile": ""}):
        debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, **fields)
        make_invoice(debtor, "100.00", due=day - dt.timedelta(days=10))


def test_sunday_run_names_waiting_per_channel(creditor):
    make_overdue_debtors(creditor, SUNDAY)

    text = run_report(creditor, SUNDAY)

    assert "E-mail: 2 berichten wachten tot 23-11-2026 07:00 (zondag)" in text
    assert "Brief: 1 bericht wacht tot 23-11-2026 07:00 (zondag)" in text
    assert Communication.objects.filter(status=CommunicationStatus.PENDING).count() == 3


def test_holiday_run_names_waiting_in_english(creditor):
    make_overdue_debtors(creditor, CHRISTMAS)

    text = run_report(creditor, CHRISTMAS, "--lang", "en")

    # 26 December is a holiday too, so the messages wait for Saturday 27 December.
    assert "Email: 2 messages wait until 27-12-2025 07:00 (public holiday)" in text
    assert "Letter: 1 message waits until 27-12-2025 07:00 (public holiday)" in text


def test_weekday_run_names_no_waiting(creditor):
    make_overdue_debtors(creditor, dt.date(2026, 11, 20))

    text = run_report(creditor, dt.date(2026, 11, 20))

    assert "wacht tot" not in text
    assert "wachten tot" not in text


def test_waiting_from_earlier_run_counted_with_range(creditor):
    debtor = make_debtor(creditor)
    for offset, hour in enumerate((7, 9)):
        Communication.objects.create(
            creditor=creditor, debtor=debtor, channel="email", stage="reminder", language="nl",
            idempotency_key=f"earlier-{offset}", run_date=SUNDAY, total_amount=Decimal("10.00"),
            not_before=dt.datetime(2026, 11, 23 + offset, hour, tzinfo=AMSTERDAM),
            hold_reason="buiten de contacturen",
        )

    text = run_report(creditor, SUNDAY, "--no-dispatch")

    assert (
        "E-mail: 2 berichten wachten tot een moment van 23-11-2026 07:00 tot en met 24-11-2026 09:00 "
        "(buiten de contacturen)"
    ) in text


def test_waiting_messages_scoped_to_creditor(creditor):
    other = make_creditor("ander")
    seed_default_policies(other)
    make_overdue_debtors(other, SUNDAY)
    run_report(other, SUNDAY)
    moment = dt.datetime(2026, 11, 22, 9, tzinfo=AMSTERDAM)

    assert waiting_messages(creditor, moment) == []
    assert [(waiting.channel, waiting.count) for waiting in waiting_messages(other, moment)] == [
        ("email", 2), ("letter", 1),
    ]
