"""Fixtures shared by the dunning tests."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.testing import make_creditor


@pytest.fixture
def creditor():
    """A creditor with the default consumer and business policies."""
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


@pytest.fixture
def real_now(monkeypatch):
    """Set the real time that django.utils.timezone.now() reports."""

    def set_now(moment: dt.datetime) -> None:
        monkeypatch.setattr(timezone, "now", lambda: moment.astimezone(dt.timezone.utc))

    return set_now
