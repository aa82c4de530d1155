from __future__ import annotations

import pytest
from django.core.cache import cache

from betaalreis.portal.tests.factories import CapturingBackend


@pytest.fixture
def captured_messages(settings):
    """Route email and SMS to memory and return the list the messages land in."""
    dotted = "betaalreis.portal.tests.factories.CapturingBackend"
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS, "email": dotted, "sms": dotted}
    CapturingBackend.sent = []
    return CapturingBackend.sent


@pytest.fixture(autouse=True)
def _clear_failure_counts():
    """Start each test with no failed sign-ins counted, because the counts live in the process-wide cache."""
    cache.clear()
