"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import translation
from hypothesis import settings as hypothesis_settings

from betaalreis.testing import CORPUS_DIR as CORPUS

# Hypothesis fails an example that takes longer than 200 ms by default. On a
# loaded machine that failed tests of unchanged code, and speed is measured
# by the benchmarks, so no test has a time limit.
hypothesis_settings.register_profile("betaalreis", deadline=None)
hypothesis_settings.load_profile("betaalreis")


@pytest.fixture(autouse=True)
def betaalreis_home(settings, tmp_path: Path) -> Path:
    """Give every test its own BETAALREIS_HOME, so outbox and media files never mix."""
    home = tmp_path / "home"
    home.mkdir()
    settings.BETAALREIS_HOME = home
    settings.OUTBOX_DIR = home / "outbox"
    settings.MEDIA_ROOT = home / "media"
    return home


@pytest.fixture
def corpus() -> Path:
    """The shared corpus of real bank statements, e-invoices and CSV files."""
    if not CORPUS.is_dir():
        pytest.fail(
            f"Corpus not found at {CORPUS}: put shared/corpus beside the repository "
            "or set BETAALREIS_CORPUS to its path."
        )
    return CORPUS


@pytest.fixture(autouse=True)
def default_language():
    """Start each test in the default language.

    A request through LocaleMiddleware leaves its language active in the
    thread, so without this a test would run in the language of the last
    admin or portal request of an earlier test.
    """
    with translation.override(django_settings.LANGUAGE_CODE):
        yield


@pytest.fixture
def english_reports(settings):
    """Print command reports and import errors in English, for tests that check the English wording."""
    settings.BETAALREIS_LANGUAGE = "en"
    with translation.override("en"):
        yield
