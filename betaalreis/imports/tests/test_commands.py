"""The `import` command and the importer registry."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.errors import BetaalreisError
from betaalreis.imports.registry import Importer, ImportReport, find_importer, importer_classes
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.imports.ubl import UblImporter
from betaalreis.ledger.models import Creditor, Invoice

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

REPO = Path(__file__).resolve().parents[3]
GOOD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;01-03-2025;10,00\n"
BAD = "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF2;D2;Twee;31-02-2025;10,00\n"


def test_rejected_file_gives_exit_code_one(creditor: Creditor, write_file: WriteFile) -> None:
    good = write_file("goed.csv", GOOD)
    bad = write_file("fout.csv", BAD)
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(bad), str(good), "--creditor", "acme", stdout=output)

    assert caught.value.returncode == 1
    assert "1 of 2 files rejected; the others were imported" in str(caught.value)
    assert "row 2, field 'Vervaldatum', value '31-02-2025'" in output.getvalue()
    assert list(Invoice.objects.values_list("number", flat=True)) == ["F1"]


def test_dry_run_imports_nothing(creditor: Creditor, write_file: WriteFile) -> None:
    output = io.StringIO()

    call_command("import", str(write_file("goed.csv", GOOD)), "--dry-run", stdout=output)

    assert "Dry run: nothing was saved." in output.getvalue()
    assert Invoice.objects.count() == 0


def test_single_creditor_needs_no_option(creditor: Creditor, write_file: WriteFile) -> None:
    call_command("import", str(write_file("goed.csv", GOOD)), stdout=io.StringIO())

    assert Invoice.objects.get().creditor == creditor


def test_creditor_required_when_several(creditor: Creditor, write_file: WriteFile) -> None:
    Creditor.objects.create(slug="other", legal_name="Other B.V.", iban="NL91ABNA0417164300")

    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(write_file("goed.csv", GOOD)), stdout=output)
    assert "several creditors exist; pass --creditor SLUG" in output.getvalue()
    with pytest.raises(CommandError, match="'nope' not found; the creditors are: acme, other"):
        call_command("import", str(write_file("goed.csv", GOOD)), "--creditor", "nope")


def test_missing_file_rejected(creditor: Creditor, tmp_path: Path) -> None:
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(tmp_path / "weg.csv"), stdout=output)

    assert "weg.csv: file not found." in output.getvalue()


def test_mapping_option_reads_unknown_table(creditor: Creditor, write_file: WriteFile) -> None:
    mapping = write_file(
        "mapping.toml",
        '[columns]\ninvoice_number = "Doc"\ncustomer_number = "Rel"\nname = "Relatie"\n'
        'due_date = "Uiterlijk"\nopen_amount = "Nog open"\n',
    )
    path = write_file("vreemd.csv", "Doc;Rel;Relatie;Uiterlijk;Nog open\nX1;R1;Een;01-02-2025;5,00\n")

    with pytest.raises(BetaalreisError, match="pass --mapping FILE"):
        find_importer(path)
    call_command("import", str(path), "--mapping", str(mapping), stdout=io.StringIO())

    assert Invoice.objects.get().number == "X1"


def test_bad_mapping_file_named(creditor: Creditor, write_file: WriteFile) -> None:
    mapping = write_file("mapping.toml", '[columns]\nfactuur = "Doc"\n')

    with pytest.raises(CommandError, match="unknown fields in \\[columns\\]: \\['factuur'\\]"):
        call_command("import", str(write_file("goed.csv", GOOD)), "--mapping", str(mapping))


def test_example_mapping_file_loads(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "docs.csv",
        "Docnr;Relatiecode;Relatie;Docdatum;Uiterlijk;Docbedrag;Nog open;Mailadres facturen\n"
        "D-1;R-1;Winkel;01.01.2025;31.01.2025;1.210,00;1.210,00;winkel@example.nl\n",
        encoding="cp1252",
    )

    call_command(
        "import", str(path), "--mapping", str(REPO / "examples" / "mapping.toml"), stdout=io.StringIO()
    )

    invoice = Invoice.objects.get()
    assert invoice.total == invoice.open_amount
    assert invoice.debtor.kind == "business"


def test_missing_importer_module_skipped(settings, caplog: pytest.LogCaptureFixture) -> None:
    settings.BETAALREIS_IMPORTERS = [
        "betaalreis.not_written_yet.importers.FutureImporter",
        "betaalreis.imports.ubl.UblImporter",
        "betaalreis.imports.ubl.NoSuchImporter",
        "betaalreis.imports.tabular.TabularInvoiceImporter",
    ]

    with caplog.at_level(logging.WARNING, logger="betaalreis.imports.registry"):
        classes = importer_classes()

    assert classes == [UblImporter, TabularInvoiceImporter]
    assert len(caplog.records) == 2


def test_broken_importer_module_raises(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_importer.py").write_text("import module_that_does_not_exist\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.BETAALREIS_IMPORTERS = ["broken_importer.Importer"]

    with pytest.raises(ModuleNotFoundError, match="module_that_does_not_exist"):
        importer_classes()


class _AccountNamesCreditor(Importer):
    """A stand-in for a bank statement importer, which finds the creditor itself."""

    format = "test statement"
    needs_creditor = False
    seen: list[Creditor | None] = []

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        return head.startswith(b"STATEMENT")

    def run(self, path: Path, creditor: Creditor | None, **options: object) -> ImportReport:
        self.seen.append(creditor)
        return ImportReport(path=path, format=self.format)


def test_importer_without_creditor_gets_none(creditor: Creditor, settings, write_file: WriteFile) -> None:
    Creditor.objects.create(slug="other", legal_name="Other B.V.", iban="NL91ABNA0417164300")
    settings.BETAALREIS_IMPORTERS = [f"{__name__}._AccountNamesCreditor"]
    _AccountNamesCreditor.seen.clear()

    call_command("import", str(write_file("day.txt", "STATEMENT 1\n")), stdout=io.StringIO())
    call_command("import", str(write_file("day.txt", "STATEMENT 1\n")), "--creditor", "acme", stdout=io.StringIO())

    assert _AccountNamesCreditor.seen == [None, creditor]


def test_dry_run_rejection_says_nothing_saved(creditor: Creditor, write_file: WriteFile) -> None:
    good = write_file("goed.csv", GOOD)
    bad = write_file("fout.csv", BAD)

    with pytest.raises(CommandError) as caught:
        call_command("import", "--dry-run", str(bad), str(good), "--creditor", "acme", stdout=io.StringIO())

    assert "1 of 2 files rejected; dry run, so nothing was saved" in str(caught.value)
    assert "the others were imported" not in str(caught.value)
    assert not Invoice.objects.exists()


def test_empty_file_named_empty(creditor: Creditor, write_file: WriteFile) -> None:
    empty = write_file("leeg.xml", "")
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(empty), "--creditor", "acme", stdout=output)

    assert "the file is empty (0 bytes)" in output.getvalue()
    assert "unknown file format" not in output.getvalue()


def test_verbosity_zero_prints_only_errors(creditor: Creditor, write_file: WriteFile) -> None:
    good = write_file("goed.csv", GOOD)
    bad = write_file("fout.csv", BAD)
    output = io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import", str(good), str(bad), verbosity=0, stdout=output)

    assert caught.value.returncode == 1
    assert "fout.csv: rejected, nothing was imported." in output.getvalue()
    assert "row 2, field 'Vervaldatum', value '31-02-2025'" in output.getvalue()
    assert "goed.csv" not in output.getvalue()
    assert "invoices new" not in output.getvalue()
    assert Invoice.objects.count() == 1


def test_verbosity_zero_silent_on_success(creditor: Creditor, write_file: WriteFile) -> None:
    output = io.StringIO()

    call_command("import", str(write_file("goed.csv", GOOD)), verbosity=0, stdout=output)

    assert output.getvalue() == ""
    assert Invoice.objects.count() == 1


def test_verbosity_one_prints_report(creditor: Creditor, write_file: WriteFile) -> None:
    output = io.StringIO()

    call_command("import", str(write_file("goed.csv", GOOD)), verbosity=1, stdout=output)

    assert "goed.csv" in output.getvalue()
    assert "invoices new" in output.getvalue()


def test_bom_file_with_bad_byte_names_byte(creditor: Creditor, write_file: WriteFile) -> None:
    # The BOM marks the file as UTF-8, but "Zoë" was saved as Windows-1252: 0xEB at byte 95.
    data = b"\xef\xbb\xbf" + GOOD.encode() + b"F3;D3;Zo\xeb;01-03-2025;10,00\n"
    path = write_file("bom.csv", data)
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", stdout=output)

    text = " ".join(output.getvalue().split())
    assert "starts with a UTF-8 byte order mark but is not UTF-8 at byte 95" in text
    assert "save the file again as CSV UTF-8" in text
    assert "--mapping" not in text
    assert "unknown file format" not in text
    assert Invoice.objects.count() == 0


def test_bom_file_with_bad_byte_in_dutch(creditor: Creditor, write_file: WriteFile) -> None:
    data = b"\xef\xbb\xbf" + GOOD.encode() + b"F3;D3;Zo\xeb;01-03-2025;10,00\n"
    output = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import", str(write_file("bom.csv", data)), "--creditor", "acme", "--lang", "nl",
                     stdout=output)

    text = " ".join(output.getvalue().split())
    assert "Het bestand begint met een UTF-8-bytevolgordeteken (BOM), maar is bij byte 95 geen UTF-8" in text
    assert "--mapping" not in text
