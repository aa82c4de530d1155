"""Celery application.

With `CELERY_BROKER_URL` unset, tasks run in-process (eager), so the same task
code serves a single machine and a Redis-backed worker pool. The beat
schedule (`CELERY_BEAT_SCHEDULE` in the settings) starts the dispatch and the
daily run.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

app = Celery("betaalreis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def configure_django_logging(**kwargs: object) -> None:
    """Configure the worker's and beat's logging from the LOGGING setting only.

    Celery skips its own set-up when this signal has a receiver. Its own set-up
    adds a handler to the root logger even with worker_hijack_root_logger
    off (Celery 5.7), and every betaalreis line would then be written twice.
    """
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
