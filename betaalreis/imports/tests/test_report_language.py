"""The language of `betaalreis import` reports: Dutch by default, English with --lang en or the setting."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from betaalreis.imports.registry import RowError
from betaalreis.imports.report_labels import ROW_LABELS, SKIP_REASONS, row_label
from betaalreis.ledger.models import Creditor

WriteFile = Callable[..., Path]

GOOD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;01-03-2025;10,00\n"
BAD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF2;D2;Twee;31-02-2025;10,00\n"


def _import(*arguments: str) -> str:
    output = io.StringIO()
    call_command("import", *arguments, stdout=output)
    return output.getvalue()


def test_report_dutch_by_default(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme")

    assert "nieuwe facturen" in text
    assert "openstaand in bestand (EUR)" in text
    assert "invoices new" not in text


def test_report_english_with_lang_option(creditor: Creditor, write_file: WriteFile) -> None:
    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme", "--lang", "en")

    assert "invoices new" in text
    assert "open in file (EUR)" in text
    assert "nieuwe facturen" not in text


def test_setting_picks_english(settings, creditor: Creditor, write_file: WriteFile) -> None:
    settings.BETAALREIS_LANGUAGE = "en"

    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme")

    assert "invoices new" in text


def test_lang_option_overrides_setting(settings, creditor: Creditor, write_file: WriteFile) -> None:
    settings.BETAALREIS_LANGUAGE = "en"

    text = _import(str(write_file("goed.csv", GOOD)), "--creditor", "acme", "--lang", "nl")

    assert "nieuwe facturen" in text


def test_rejection_in_dutch(creditor: Creditor, write_file: WriteFile) -> None:
    bad = write_file("fout.csv", BAD)
    good = write_file("goed.csv", GOOD)
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(bad), str(good), "--creditor", "acme", stdout=output)

    assert caught.value.returncode == 1
    assert "1 van 2 bestanden geweigerd; de andere zijn geïmporteerd" in str(caught.value)
    assert "fout.csv: geweigerd, er is niets geïmporteerd." in output.getvalue()
    assert "rij 2, veld 'Vervaldatum', waarde '31-02-2025'" in output.getvalue()


def test_rejection_in_english(creditor: Creditor, write_file: WriteFile) -> None:
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(write_file("fout.csv", BAD)), "--creditor", "acme", "--lang", "en", stdout=output)

    assert "1 of 1 file rejected; no file was imported" in str(caught.value)
    assert "fout.csv: rejected, nothing was imported." in output.getvalue()
    assert "row 2, field 'Vervaldatum', value '31-02-2025'" in output.getvalue()


def test_unknown_lang_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    with pytest.raises(CommandError, match="invalid choice: 'de'"):
        _import(str(write_file("goed.csv", GOOD)), "--lang", "de")


def test_row_error_framed_in_active_language() -> None:
    error = RowError(3, "Bedrag", "abc", "x")

    with translation.override("nl"):
        assert str(error) == "rij 3, veld 'Bedrag', waarde 'abc': x"
    with translation.override("en"):
        assert str(error) == "row 3, field 'Bedrag', value 'abc': x"


@pytest.mark.parametrize("key", sorted(ROW_LABELS))
def test_row_label_english_is_key(key: str) -> None:
    with translation.override("en"):
        assert row_label(key) == key
        assert row_label(f"{key} (EUR)") == f"{key} (EUR)"
    with translation.override("nl"):
        assert row_label(key) != key


@pytest.mark.parametrize("reason", sorted(SKIP_REASONS))
def test_skip_labels_english_is_key(reason: str) -> None:
    with translation.override("en"):
        assert row_label(f"skipped: {reason}") == f"skipped: {reason}"
        assert row_label(f"skipped {reason} (EUR)") == f"skipped {reason} (EUR)"
