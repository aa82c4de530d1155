"""Fixtures shared by the dunning tests."""

from __future__ import annotations

import pytest

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.testing import make_creditor


@pytest.fixture
def creditor():
    """A creditor with the default consumer and business policies."""
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor
