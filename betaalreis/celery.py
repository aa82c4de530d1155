"""Celery application.

With `CELERY_BROKER_URL` unset, tasks run in-process (eager), so the same task
code serves a single machine and a Redis-backed worker pool.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

app = Celery("betaalreis")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
