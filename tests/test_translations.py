"""Every Dutch source string has an English translation, compiled into its .mo file."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parent.parent / "betaalreis"
PO_FILES = sorted(PACKAGE.glob("*/locale/*/LC_MESSAGES/django.po"))


def test_translation_files_found():
    assert len(PO_FILES) >= 3


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_string_translated(po_path: Path):
    with po_path.open("rb") as handle:
        catalog = read_po(handle)

    untranslated = [message.id for message in catalog if message.id and not message.string]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]

    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_compiled_file_matches_source(po_path: Path):
    mo_path = po_path.with_suffix(".mo")
    with po_path.open("rb") as handle:
        source = {message.id: message.string for message in read_po(handle) if message.id}
    with mo_path.open("rb") as handle:
        compiled = {message.id: message.string for message in read_mo(handle) if message.id}

    assert compiled == source
