"""The Celery beat schedule, the tasks without a broker, and the worker's log lines."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.conf import settings as django_settings

from betaalreis.celery import app
from betaalreis.deployment import daily_run_time
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.dunning.tasks import run_daily
from betaalreis.errors import InvalidInput
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.outbox.tasks import dispatch_outbox
from betaalreis.testing import make_creditor, make_debtor, make_invoice

ROOT = Path(__file__).resolve().parent.parent
# A past run day, and the friendly reminder's offset after the due date.
DAY = dt.date(2026, 11, 20)
FRIENDLY_OFFSET = 3


def test_beat_schedule_names_both_tasks():
    schedule = django_settings.CELERY_BEAT_SCHEDULE

    assert schedule["dispatch-outbox"]["task"] == "betaalreis.outbox.dispatch"
    assert schedule["dispatch-outbox"]["schedule"] == 300.0
    assert schedule["daily-run"]["task"] == "betaalreis.dunning.run_daily"
    assert schedule["daily-run"]["schedule"] == crontab(hour=7, minute=0)
    assert app.conf.beat_schedule == schedule
    for entry in schedule.values():
        assert entry["task"] in app.tasks


def test_daily_run_time_parsed():
    assert daily_run_time("06:30") == dt.time(6, 30)
    assert daily_run_time(" 7:05 ") == dt.time(7, 5)


@pytest.mark.parametrize("value", ["25:00", "7", "07:00:00", "seven", ""])
def test_daily_run_time_invalid(value):
    with pytest.raises(ValueError, match="BETAALREIS_DAILY_RUN_TIME"):
        daily_run_time(value)


@pytest.mark.django_db
def test_dispatch_task_runs_without_broker(betaalreis_home):
    creditor = make_creditor()
    seed_default_policies(creditor)
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=FRIENDLY_OFFSET))
    run_cycle(DAY, creditor, dispatch_messages=False)

    sent = dispatch_outbox.delay(creditor_slug=creditor.slug).get()

    assert app.conf.task_always_eager
    assert sent == 1
    assert Communication.objects.get().status == CommunicationStatus.SENT


@pytest.mark.django_db
def test_run_daily_task_without_broker(betaalreis_home):
    creditor = make_creditor()
    seed_default_policies(creditor)
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=FRIENDLY_OFFSET))

    planned = run_daily.delay(DAY.isoformat(), creditor.slug).get()

    assert planned == 1
    assert Communication.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("task", [run_daily, dispatch_outbox])
def test_task_unknown_creditor(task):
    make_creditor("acme")

    with pytest.raises(InvalidInput) as rejected:
        task.delay(creditor_slug="nope").get()

    assert "Creditor 'nope' not found" in str(rejected.value)
    assert "Known creditors: acme." in str(rejected.value)


# Sets up logging as `celery -A betaalreis worker -l info` does, then logs one line with a field.
WORKER_LOGGING = textwrap.dedent(
    """
    import logging

    import django

    django.setup()
    from betaalreis.celery import app

    app.log.setup(loglevel="INFO")
    logging.getLogger("betaalreis.outbox.tasks").warning("probe line", extra={"probe_id": 7})
    """
)


def test_worker_logs_each_line_once(tmp_path):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "betaalreis.settings",
        "BETAALREIS_HOME": str(tmp_path),
        "BETAALREIS_LOG_LEVEL": "INFO",
    }
    environment.pop("DATABASE_URL", None)

    finished = subprocess.run(
        [sys.executable, "-c", WORKER_LOGGING],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False,
    )

    assert finished.returncode == 0, finished.stderr
    output = finished.stdout + finished.stderr
    lines = [line for line in output.splitlines() if "probe line" in line]
    assert len(lines) == 1, output
    assert "probe_id=7" in lines[0]
