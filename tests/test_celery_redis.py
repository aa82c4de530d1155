"""The daily job runs through Celery with a Redis broker, as on several machines."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from betaalreis.celery import app
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.tasks import run_daily
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

REDIS_URL = os.environ.get("REDIS_URL", "")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set; .ci/run sets it"),
]


@pytest.fixture
def redis_worker(settings):
    from celery.contrib.testing.worker import start_worker

    app.conf.update(
        broker_url=REDIS_URL,
        result_backend=REDIS_URL,
        task_always_eager=False,
        broker_connection_retry_on_startup=False,
    )
    try:
        with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING"):
            yield app
    finally:
        app.conf.update(task_always_eager=True, broker_url="", result_backend=None)


def test_run_daily_through_redis_worker(redis_worker):
    creditor = make_creditor()
    seed_default_policies(creditor)
    day = dt.date(2026, 11, 20)
    make_invoice(make_debtor(creditor), due=day - dt.timedelta(days=3))

    result = run_daily.delay(day.isoformat(), creditor.slug)

    assert result.get(timeout=60) == 1
    communication = Communication.objects.get()
    assert communication.status == CommunicationStatus.SENT
