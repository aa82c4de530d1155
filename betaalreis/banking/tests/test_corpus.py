"""Every real statement in the corpus is read; its counts and sums are checked against the file."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from betaalreis.banking.camt import read_camt
from betaalreis.banking.importers import Camt05xImporter, IngCsvImporter, Mt940Importer
from betaalreis.banking.ing_csv import read_ing_csv
from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.banking.mt940_reader import read_mt940
from betaalreis.imports.registry import HEAD_BYTES, ImportRejected, find_importer
from betaalreis.ledger.models import Creditor, Payment

from .helpers import make_account_owners, make_creditor

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

# Files whose own closing balance is not the opening balance plus their
# entries, with the difference the rejection must name. The others import.
UNBALANCED = {
    "camt053/genkgo_three-decimal-amounts_camt053v02.xml": "+€0.05",
    "camt053/oca_abn-style_batch-reversal-return_camt053v02.xml": "-€434.16",
    "camt053/oca_bookgdt-datetime_camt053v02.xml": "+€307.10",
    "camt053/viafintech_ing-nl_batch_camt053v02.xml": "+€12,774.14",
    "camt053/viafintech_instdamt-vs-txamt_camt053v02.xml": "-CHF100.00",
    "mt940/fruitl00p_rabobank_pref-batch-entries.txt": "+€19,477.78",
    "mt940/jejik_triodos-legacy_subfields_crlf.txt": "+€111.40",
    "mt940/zilverline_abnamro_acceptgiro-betalingskenmerk.txt": "-€0.50",
    "mt940/zilverline_abnamro_mixed-legacy-and-sepa_multi-statement.txt": "+€5.10",
}

CORPUS_FILES = [
    f"{folder}/{name}"
    for folder in ("camt053", "mt940")
    for name in sorted(p.name for p in (Path(__file__).resolve().parents[4] / "shared" / "corpus" / folder).iterdir())
]


def _entry_count_in_text(path: Path) -> int:
    text = path.read_bytes().decode("utf-8", "replace")
    if path.parent.name == "camt053":
        return len(re.findall(r"<Ntry>", text))
    return len(re.findall(r"^:61:", text, flags=re.MULTILINE))


def _read(path: Path):
    return read_camt(path) if path.parent.name == "camt053" else read_mt940(path)


def test_corpus_list_complete():
    assert len(CORPUS_FILES) == 21


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_file_parses(corpus: Path, name: str):
    path = corpus / name
    statements = _read(path)

    assert sum(len(statement.entries) for statement in statements) == _entry_count_in_text(path)
    for statement in statements:
        assert statement.account
        for entry in statement.entries:
            # A collective entry may list no transactions (ING: only NbOfTxs).
            if entry.transactions:
                assert sum(item.amount for item in entry.transactions) == entry.amount


@pytest.mark.parametrize("name", CORPUS_FILES)
@pytest.mark.django_db
def test_corpus_file_imports_or_names_mismatch(corpus: Path, name: str):
    path = corpus / name
    owners = set(make_account_owners(_read(path)))
    # With one account, --creditor names its owner. That is needed for a test
    # IBAN with a bad checksum, which only an exact match on the IBAN finds.
    creditor = owners.pop() if len(owners) == 1 else None
    importer = find_importer(path)
    assert importer in (Camt05xImporter, Mt940Importer)

    if name in UNBALANCED:
        with pytest.raises(ImportRejected) as rejected:
            importer().run(path, creditor)
        assert "closing balance" in str(rejected.value)
        assert f"difference {UNBALANCED[name]}" in str(rejected.value)
        assert not Payment.objects.exists()
        assert not BankStatement.objects.exists()
        return

    report = importer().run(path, creditor)
    statements = _read(path)
    for statement in statements:
        if statement.opening_balance is not None and statement.closing_balance is not None:
            total = sum((entry.amount for entry in statement.entries), Decimal("0"))
            assert statement.opening_balance + total == statement.closing_balance
    assert report.counts["entries read"] == _entry_count_in_text(path)
    assert BankStatement.objects.count() == len(statements)
    stored = BankTransaction.objects.count()
    assert stored == report.counts["transactions"]
    assert report.counts["new payments"] + report.counts["ignored"] == stored
    assert Payment.objects.count() == report.counts["new payments"]

    again = importer().run(path, creditor)
    assert again.counts["new payments"] == 0
    assert again.counts["already imported"] == stored
    assert Payment.objects.count() == report.counts["new payments"]


def test_detect_claims_only_statements(corpus: Path):
    for name in CORPUS_FILES:
        path = corpus / name
        head = path.read_bytes()[:HEAD_BYTES]
        expected = Camt05xImporter if name.startswith("camt053") else Mt940Importer
        assert expected.detect(path, head), name
    for path in sorted((corpus / "ubl").iterdir()) + sorted((corpus / "csv").iterdir()):
        head = path.read_bytes()[:HEAD_BYTES]
        assert not Camt05xImporter.detect(path, head), path.name
        assert not Mt940Importer.detect(path, head), path.name


@pytest.mark.django_db
def test_six_ch_batch_split_and_charges(corpus: Path):
    path = corpus / "camt053/viafintech_six-ch_charges_camt053v04.xml"
    make_account_owners(read_camt(path))
    Camt05xImporter().run(path, None)

    batch = BankTransaction.objects.filter(batch_size=10)
    assert batch.count() == 10
    assert sum(row.amount for row in batch) == Decimal("1000.00")
    assert BankTransaction.objects.filter(charges=Decimal("1.24")).count() == 3
    assert BankTransaction.objects.filter(is_reversal=True, return_reason="MD06").count() == 2


@pytest.mark.django_db
def test_mt940_ing_fields(corpus: Path):
    statements = read_mt940(corpus / "mt940/oca_ing-sepa-structured_returns_sum.940")
    first = statements[0].entries[0].transactions[0]

    assert statements[0].account == "NL77INGB0574908765"
    assert first.counterparty_iban == "NL32INGB0000012345"
    assert first.counterparty_name == "ING BANK NV INZAKE WEB"
    assert first.remittance_info == "EV10001REP1000000T1000"
    assert statements[0].entries[3].bank_transaction_code.endswith("/TRCD/01016/")
    assert statements[0].entries[6].transactions[0].structured_reference == "9001123412341234"


def test_mt940_wrapped_values_joined(corpus: Path):
    abn = read_mt940(corpus / "mt940/fruitl00p_abnamro_trtp-wrapped-midword.txt")[0].entries[1].transactions[0]
    rabo = read_mt940(corpus / "mt940/zilverline_rabobank-structured_scor-cur-creditor-ref.txt")[0].entries[0].transactions[0]
    triodos = read_mt940(corpus / "mt940/zilverline_triodos-iban_wrapped-eref.txt")[0].entries[1].transactions[0]

    assert abn.remittance_info == "INV/1511682351 1.12.2016"
    assert abn.end_to_end_id == "012345678912361000"
    assert rabo.structured_reference == "1234567899874563"
    assert triodos.remittance_info == "Factuurnummer 201801-001"


ING_CSV = "csv/ing-nl_betaalrekening_export-2023_semicolon.csv"


def test_ing_csv_detected_only_for_ing(corpus: Path):
    for path in sorted((corpus / "csv").iterdir()) + sorted((corpus / "ubl").iterdir()):
        head = path.read_bytes()[:HEAD_BYTES]
        assert IngCsvImporter.detect(path, head) == (path.name == Path(ING_CSV).name), path.name


def test_ing_csv_balances_chain(corpus: Path):
    statements = read_ing_csv(corpus / ING_CSV)

    assert sorted(statement.account for statement in statements) == [
        "NL54BKMG0378842587", "NL90KNAB0445266309", "NL94COBA0678011583",
    ]
    assert sum(len(statement.entries) for statement in statements) == 124
    for statement in statements:
        total = sum((entry.amount for entry in statement.entries), Decimal("0"))
        assert statement.opening_balance + total == statement.closing_balance
    knab = next(statement for statement in statements if statement.account == "NL90KNAB0445266309")
    assert knab.closing_balance == Decimal("446.38")
    assert knab.entries[-1].amount == Decimal("-2000.00")


@pytest.mark.django_db
def test_ing_csv_imports_once(corpus: Path):
    path = corpus / ING_CSV
    make_account_owners(read_ing_csv(path))

    report = IngCsvImporter().run(path, None)
    again = IngCsvImporter().run(path, None)

    credits = sum(
        1 for line in path.read_text(encoding="utf-8").splitlines()[1:] if line.split(";")[5] == '"Bij"'
    )
    assert report.counts["entries read"] == 124
    assert report.counts["new payments"] == credits
    assert again.counts["new payments"] == 0
    assert again.counts["already imported"] == 124


@pytest.mark.django_db
def test_ing_csv_broken_chain_rejected(corpus: Path, tmp_path: Path):
    lines = (corpus / ING_CSV).read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace('"1240,02"', '"1240,12"')
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    make_creditor()

    with pytest.raises(ImportRejected) as rejected:
        IngCsvImporter().run(path, Creditor.objects.get())

    assert "row 4" in str(rejected.value)
    assert "Saldo na mutatie" in str(rejected.value)
    assert not Payment.objects.exists()
