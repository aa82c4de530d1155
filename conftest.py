"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent.parent / "shared" / "corpus"


@pytest.fixture(autouse=True)
def betaalreis_home(settings, tmp_path: Path) -> Path:
    """Give every test its own BETAALREIS_HOME, so outbox files never mix."""
    home = tmp_path / "home"
    home.mkdir()
    settings.BETAALREIS_HOME = home
    settings.OUTBOX_DIR = home / "outbox"
    return home


@pytest.fixture
def corpus() -> Path:
    """The shared corpus of real bank statements, e-invoices and CSV files."""
    if not CORPUS.is_dir():
        pytest.fail(f"Corpus not found at {CORPUS}; it is expected beside the repository.")
    return CORPUS
