"""Betaalreis: dunning and debtor communication for Dutch credit management."""

from betaalreis.celery import app as celery_app

__all__ = ["celery_app"]
