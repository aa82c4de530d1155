"""`betaalreis run` for a day after today: rejected, unless the run is simulated."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.dunning.run import amsterdam_today, run_cycle
from betaalreis.dunning.tasks import run_daily
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import DebtorKind
from betaalreis.legal.contact import is_contact_day
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def simulation_allowed(settings):
    """These creditors are made up, so `run --simulate` may move their stages on."""
    settings.ALLOW_SIMULATE = True


class ProviderBackend(ChannelBackend):
    """Stands in for a real provider such as SMTP: records every message handed to it."""

    channel = "email"
    provider = "test-provider"
    sent: list[str] = []

    def send(self, message: OutgoingMessage) -> SendResult:
        ProviderBackend.sent.append(message.idempotency_key)
        raise ChannelError("a real provider must not be used here", permanent=True)


@pytest.fixture
def provider_email(settings):
    ProviderBackend.sent = []
    settings.BETAALREIS_CHANNEL_BACKENDS = {
        **settings.BETAALREIS_CHANNEL_BACKENDS, "email": f"{__name__}.ProviderBackend",
    }
    return ProviderBackend


def next_contact_day(after: dt.date) -> dt.date:
    day = after + dt.timedelta(days=1)
    while not is_contact_day(day):
        day += dt.timedelta(days=1)
    return day


def files(home: Path) -> list[Path]:
    outbox = home / "outbox"
    return sorted(path for path in outbox.rglob("*") if path.is_file()) if outbox.exists() else []


def run_command(creditor, day: dt.date, *options: str) -> str:
    output = io.StringIO()
    call_command("run", "--date", day.isoformat(), "--creditor", creditor.slug, *options, stdout=output)
    return output.getvalue()


def test_future_date_rejected_in_dutch(creditor, betaalreis_home, provider_email):
    tomorrow = amsterdam_today() + dt.timedelta(days=1)
    make_invoice(make_debtor(creditor, kind=DebtorKind.BUSINESS), due=tomorrow - dt.timedelta(days=10))

    with pytest.raises(CommandError) as error:
        run_command(creditor, tomorrow)

    message = str(error.value)
    assert f"Datum {tomorrow.isoformat()} ligt na vandaag ({amsterdam_today().isoformat()}" in message
    assert "--simulate" in message
    assert Communication.objects.count() == 0
    assert files(betaalreis_home) == []
    assert provider_email.sent == []


def test_future_date_rejected_in_english(creditor):
    later = amsterdam_today() + dt.timedelta(days=365)

    with pytest.raises(CommandError, match=f"Date {later.isoformat()} is after today"):
        run_command(creditor, later, "--lang", "en")


def test_future_date_rejected_without_dispatch(creditor):
    # Rows written for a later day would go out with the next real dispatch.
    tomorrow = amsterdam_today() + dt.timedelta(days=1)
    make_invoice(make_debtor(creditor, kind=DebtorKind.BUSINESS), due=tomorrow - dt.timedelta(days=10))

    with pytest.raises(CommandError, match="ligt na vandaag"):
        run_command(creditor, tomorrow, "--no-dispatch")

    assert Communication.objects.count() == 0


def test_today_still_runs(creditor, betaalreis_home):
    text = run_command(creditor, amsterdam_today(), "--no-dispatch")

    assert f"Betaalreis-run van {amsterdam_today().isoformat()}" in text


def test_simulate_sends_future_day_to_files(creditor, betaalreis_home, provider_email):
    day = next_contact_day(amsterdam_today())
    make_invoice(make_debtor(creditor, kind=DebtorKind.BUSINESS), due=day - dt.timedelta(days=10))

    run_command(creditor, day, "--simulate")

    communication = Communication.objects.get()
    assert communication.status == CommunicationStatus.SENT
    assert communication.run_date == day
    assert provider_email.sent == []
    emails = [path for path in files(betaalreis_home) if path.suffix == ".eml"]
    assert len(emails) == 1
    assert day.isoformat() in str(emails[0])


@pytest.mark.parametrize("value", ["04-12-2026", "2026-2-3", "26-12-04", ""])
def test_malformed_date_rejected_in_dutch(value):
    with pytest.raises(CommandError) as error:
        call_command("run", "--date", value, stdout=io.StringIO())

    message = str(error.value)
    assert f"Ongeldige datum {value!r} bij --date" in message
    assert "JJJJ-MM-DD" in message
    assert Communication.objects.count() == 0


def test_malformed_date_rejected_in_english():
    with pytest.raises(CommandError) as error:
        call_command("run", "--date", "04-12-2026", "--lang", "en", stdout=io.StringIO())

    message = str(error.value)
    assert "Invalid date '04-12-2026' for --date" in message
    assert "YYYY-MM-DD" in message


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        ("2026-02-31", "nl", "Datum '2026-02-31' bij --date is geen bestaande datum: maand 2 van 2026 heeft "
         "geen dag 31; verbeter de datum."),
        ("2026-02-31", "en", "Date '2026-02-31' for --date is not a real date: month 2 of 2026 has no day 31; "
         "correct the date."),
        ("2026-13-01", "nl", "Datum '2026-13-01' bij --date is geen bestaande datum: maand 13 bestaat niet; "
         "verbeter de datum."),
        ("2026-13-01", "en", "Date '2026-13-01' for --date is not a real date: there is no month 13; "
         "correct the date."),
    ],
)
def test_nonexistent_date_named_as_such(value, language, expected):
    with pytest.raises(CommandError) as error:
        call_command("run", "--date", value, "--lang", language, stdout=io.StringIO())

    assert str(error.value) == expected
    assert Communication.objects.count() == 0


def test_simulate_with_no_dispatch_rejected(creditor):
    with pytest.raises(CommandError, match="--simulate en --no-dispatch gaan niet samen"):
        run_command(creditor, amsterdam_today(), "--simulate", "--no-dispatch")


def test_simulate_rejected_in_production(creditor, settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="--simulate is niet toegestaan met BETAALREIS_PRODUCTION=1"):
        run_command(creditor, amsterdam_today(), "--simulate")

    assert not Communication.objects.exists()


def test_celery_task_rejects_future_day(creditor):
    tomorrow = amsterdam_today() + dt.timedelta(days=1)

    with pytest.raises(InvalidInput, match=f"Invalid day {tomorrow.isoformat()}: it is after today"):
        run_daily(tomorrow.isoformat(), creditor.slug)

    assert Communication.objects.count() == 0


def test_simulated_cycle_never_uses_configured_provider(creditor, betaalreis_home, provider_email):
    day = dt.date(2026, 11, 20)
    make_invoice(make_debtor(creditor, kind=DebtorKind.BUSINESS), due=day - dt.timedelta(days=10))

    summary = run_cycle(day, creditor, simulate=True)

    assert summary.dispatched.total("sent") == 1
    assert provider_email.sent == []
    assert len(files(betaalreis_home)) == 1


def test_simulate_rejected_for_real_creditor(creditor, settings, betaalreis_home):
    settings.ALLOW_SIMULATE = False
    make_invoice(make_debtor(creditor, kind=DebtorKind.BUSINESS), due=amsterdam_today() - dt.timedelta(days=10))

    with pytest.raises(CommandError) as error:
        run_command(creditor, amsterdam_today(), "--simulate")

    assert "--simulate draait alleen voor de demo-crediteuren" in str(error.value)
    assert creditor.slug in str(error.value)
    assert Communication.objects.count() == 0


def test_simulate_rejected_in_english(creditor, settings):
    settings.ALLOW_SIMULATE = False

    with pytest.raises(CommandError, match="--simulate runs only for the demo creditors"):
        run_command(creditor, amsterdam_today(), "--simulate", "--lang", "en")


def test_simulate_allowed_for_demo_creditor(settings, betaalreis_home):
    settings.ALLOW_SIMULATE = False
    demo_creditor = make_creditor(slug="demo-energie")

    run_command(demo_creditor, amsterdam_today(), "--simulate")
