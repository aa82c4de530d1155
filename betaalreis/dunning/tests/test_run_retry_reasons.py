"""The run summary names why messages wait for a retry, apart from the messages the contact rules hold."""

from __future__ import annotations

import datetime as dt
import io
import socket
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 11, 20)


def closed_port() -> int:
    """Return a port on 127.0.0.1 on which nothing listens, so a connection there is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_report(creditor, *options: str) -> str:
    output = io.StringIO()
    call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, *options, stdout=output)
    return " ".join(output.getvalue().split())


@pytest.fixture
def refused_smtp(settings):
    settings.BETAALREIS_CHANNEL_BACKENDS = {
        **settings.BETAALREIS_CHANNEL_BACKENDS, "email": "betaalreis.channels.backends.email.DjangoEmailBackend",
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_port()
    settings.EMAIL_TIMEOUT = 5


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "om opnieuw te proberen na een fout: verbinden met de mailserver mislukte: de verbinding werd "
           "geweigerd (ECONNREFUSED)"),
    ("en", "to retry after an error: connecting to the mail server failed: the connection was refused "
           "(ECONNREFUSED)"),
])
def test_refused_smtp_named_in_summary(creditor, refused_smtp, real_now, language, expected):
    # A Friday morning, inside the contact hours, so only the refused connection delays the messages.
    real_now(dt.datetime(2026, 11, 20, 10, 0, tzinfo=AMSTERDAM))
    for _ in range(2):
        make_invoice(make_debtor(creditor), "100.00", due=DAY - dt.timedelta(days=3))

    output = io.StringIO()
    # A refused connection is an outage of our own set-up, so the run exits non-zero.
    with pytest.raises(CommandError):
        call_command("run", "--date", DAY.isoformat(), "--creditor", creditor.slug, "--lang", language,
                     stdout=output)
    text = " ".join(output.getvalue().split())

    assert expected in text
    assert "()" not in text
    assert "Errno" not in text
    retries = Communication.objects.filter(status=CommunicationStatus.PENDING).exclude(last_error="")
    assert retries.count() == 2


def test_retry_and_contact_hold_on_separate_lines(creditor):
    debtor = make_debtor(creditor)
    common = {
        "creditor": creditor, "debtor": debtor, "channel": "email", "stage": "reminder", "language": "nl",
        "run_date": DAY, "total_amount": Decimal("10.00"),
    }
    Communication.objects.create(
        **common, idempotency_key="held", hold_reason="zondag",
        not_before=dt.datetime(2026, 11, 23, 7, tzinfo=AMSTERDAM),
    )
    # A retry keeps the hold reason of its planning, which no longer applies.
    Communication.objects.create(
        **common, idempotency_key="retry", hold_reason="zondag",
        not_before=dt.datetime(2026, 11, 21, 10, tzinfo=AMSTERDAM),
        last_error="smtp_unavailable: SMTP hand-over failed: (451, b'4.3.0 Try again later')",
    )

    text = run_report(creditor, "--no-dispatch")

    assert "E-mail: 1 bericht wacht tot 23-11-2026 07:00 (zondag)" in text
    assert ("E-mail: 1 bericht wacht tot 21-11-2026 10:00 om opnieuw te proberen na een fout: "
            "de mailserver antwoordde 451 4.3.0 Try again later") in text
