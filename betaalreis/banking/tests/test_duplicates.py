"""One bank transaction in a camt.054 notification, a camt.053 statement and an MT940 is booked once."""

from __future__ import annotations

import datetime as dt
import importlib
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path

import pytest
from schwifty import IBAN

from betaalreis.banking.camt import read_camt
from betaalreis.banking.duplicates import StatementPeriod, same_account, statements_overlap
from betaalreis.banking.importers import Camt05xImporter, Mt940Importer
from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.banking.mt940_reader import read_mt940
from betaalreis.banking.reason_text import reason_in_dutch
from betaalreis.banking.samples import SampleEntry, write_camt053, write_camt054
from betaalreis.banking.statements import ParsedStatement
from betaalreis.banking.store import Kind, _transactions, classify
from betaalreis.imports.registry import ImportRejected, ImportReport
from betaalreis.ledger.models import Creditor, Payment, PaymentStatus

from .helpers import CREDITOR_IBAN, PAYER_IBAN, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

CORPUS = Path("/work/shared/corpus")
MONDAY = dt.date(2026, 11, 16)
TUESDAY = dt.date(2026, 11, 17)
WEDNESDAY = dt.date(2026, 11, 18)
OTHER_IBAN = "NL39RABO0300065264"

PAID = SampleEntry(
    Decimal("600.00"), name="J. Muller", iban=PAYER_IBAN, remittance="F2026-001",
    end_to_end_id="E2E-1", booking_date=MONDAY,
)

OTHER_DAY = SampleEntry(
    Decimal("75.00"), name="K. Bos", iban=OTHER_IBAN, remittance="F2026-002", end_to_end_id="E2E-9", booking_date=TUESDAY,
)


@dataclass(frozen=True)
class File:
    """One bank file of a case: its kind, its entries, and which dates its entries leave out."""

    kind: str
    entries: list[SampleEntry]
    drop: tuple[str, ...] = ()
    account: str = CREDITOR_IBAN
    opening: Decimal = Decimal("1000.00")
    # The camt.054 Ntfctn/Id; empty gives each file its own.
    notification_id: str = ""


def _with_references(entries: list[SampleEntry], prefix: str) -> list[SampleEntry]:
    """Give every entry its own bank reference, as each bank channel numbers its own."""
    return [replace(entry, reference=f"{prefix}-{number}") for number, entry in enumerate(entries, start=1)]


def _write(tmp_path: Path, number: int, file: File) -> Path:
    entries = _with_references(file.entries, f"{file.kind}-{number}")
    path = tmp_path / f"{number}_{file.kind}.xml"
    if file.kind == "camt054":
        write_camt054(path, file.account, entries, notification_id=file.notification_id or f"NTF-{number}")
    else:
        write_camt053(path, file.account, entries, statement_id=f"STMT-{number}", opening=file.opening)
    text = path.read_text()
    for element in file.drop:
        text = re.sub(rf"<{element}>.*?</{element}>", "", text)
    path.write_text(text)
    return path


def _import(path: Path, creditor: Creditor | None = None) -> ImportReport:
    return Camt05xImporter().run(path, creditor)


@dataclass(frozen=True)
class Case:
    """Files imported in order and, per file, the new payments and the transactions already imported."""

    files: list[File]
    expected: list[tuple[int, int]] = field(default_factory=list)


CASES = {
    "notification then statement": Case(
        [File("camt054", [PAID]), File("camt053", [PAID])], [(1, 0), (0, 1)],
    ),
    "statement then notification": Case(
        [File("camt053", [PAID]), File("camt054", [PAID])], [(1, 0), (0, 1)],
    ),
    "notification without booking date": Case(
        [File("camt054", [PAID], drop=("BookgDt",)), File("camt053", [PAID])], [(1, 0), (0, 1)],
    ),
    "notification without value date": Case(
        [File("camt054", [PAID], drop=("ValDt",)), File("camt053", [PAID])], [(1, 0), (0, 1)],
    ),
    "statement one day later": Case(
        [File("camt054", [PAID]), File("camt053", [replace(PAID, booking_date=TUESDAY)])], [(1, 0), (0, 1)],
    ),
    "value dates match, booking days apart": Case(
        [
            File("camt054", [replace(PAID, booking_date=WEDNESDAY, value_date=MONDAY)], drop=("BookgDt",)),
            File("camt053", [replace(PAID, booking_date=WEDNESDAY, value_date=MONDAY)]),
        ],
        [(1, 0), (0, 1)],
    ),
    "statement two days later": Case(
        [File("camt054", [PAID]), File("camt053", [replace(PAID, booking_date=WEDNESDAY)])], [(1, 0), (1, 0)],
    ),
    "other end-to-end id": Case(
        [File("camt054", [PAID]), File("camt053", [replace(PAID, end_to_end_id="E2E-2")])], [(1, 0), (1, 0)],
    ),
    "end-to-end id on one side only": Case(
        [File("camt054", [replace(PAID, end_to_end_id="NOTPROVIDED")]), File("camt053", [PAID])], [(1, 0), (0, 1)],
    ),
    "same end-to-end id, other text": Case(
        [File("camt054", [PAID]), File("camt053", [replace(PAID, remittance="F2026-001 bedankt")])], [(1, 0), (0, 1)],
    ),
    "no end-to-end id, other text": Case(
        [
            File("camt054", [replace(PAID, end_to_end_id="")]),
            File("camt053", [replace(PAID, end_to_end_id="", remittance="F2026-002")]),
        ],
        [(1, 0), (1, 0)],
    ),
    "no end-to-end id, other payer": Case(
        [
            File("camt054", [replace(PAID, end_to_end_id="")]),
            File("camt053", [replace(PAID, end_to_end_id="", iban=OTHER_IBAN)]),
        ],
        [(1, 0), (1, 0)],
    ),
    "no end-to-end id, text with other spaces and case": Case(
        [
            File("camt054", [replace(PAID, end_to_end_id="NOTPROVIDED", remittance="Factuur F2026-001")]),
            File("camt053", [replace(PAID, end_to_end_id="", remittance="factuur  F2026- 001")]),
        ],
        [(1, 0), (0, 1)],
    ),
    "same structured reference": Case(
        [
            File("camt054", [replace(PAID, end_to_end_id="", remittance="", structured_reference="1234567890123456")]),
            File("camt053", [replace(PAID, end_to_end_id="", remittance="", structured_reference="1234567890123456")]),
        ],
        [(1, 0), (0, 1)],
    ),
    "nothing identifies the payer": Case(
        [
            File("camt054", [SampleEntry(Decimal("50.00"), booking_date=MONDAY)]),
            File("camt053", [SampleEntry(Decimal("50.00"), booking_date=MONDAY)]),
        ],
        [(1, 0), (1, 0)],
    ),
    "other amount": Case(
        [File("camt054", [PAID]), File("camt053", [replace(PAID, amount=Decimal("600.01"))])], [(1, 0), (1, 0)],
    ),
    "reversal": Case(
        [
            File("camt054", [replace(PAID, amount=Decimal("-600.00"), reversal=True, return_reason="AC04")]),
            File("camt053", [replace(PAID, amount=Decimal("-600.00"), reversal=True, return_reason="AC04")]),
        ],
        [(1, 0), (0, 1)],
    ),
    "two statements of one kind": Case(
        [File("camt053", [PAID]), File("camt053", [replace(PAID, booking_date=TUESDAY)])], [(1, 0), (1, 0)],
    ),
    "two notifications of one kind": Case(
        [File("camt054", [PAID]), File("camt054", [replace(PAID, booking_date=TUESDAY)])], [(1, 0), (1, 0)],
    ),
    "notification again, new references": Case(
        [File("camt054", [PAID], notification_id="NTF-A"), File("camt054", [PAID], notification_id="NTF-A")],
        [(1, 0), (0, 1)],
    ),
    "notification again, no end-to-end id": Case(
        [
            File("camt054", [replace(PAID, end_to_end_id="")], notification_id="NTF-A"),
            File("camt054", [replace(PAID, end_to_end_id="")], notification_id="NTF-A"),
        ],
        [(1, 0), (0, 1)],
    ),
    "notification again with one more equal transfer": Case(
        [File("camt054", [PAID], notification_id="NTF-A"), File("camt054", [PAID, PAID], notification_id="NTF-A")],
        [(1, 0), (1, 1)],
    ),
    "notification id again, other day": Case(
        [
            File("camt054", [PAID], notification_id="NTF-A"),
            File("camt054", [replace(PAID, booking_date=TUESDAY)], notification_id="NTF-A"),
        ],
        [(1, 0), (1, 0)],
    ),
    "two notifications, one transfer each": Case(
        [File("camt054", [PAID]), File("camt054", [PAID])], [(1, 0), (1, 0)],
    ),
    "two identical transfers in one file": Case(
        [File("camt053", [PAID, PAID])], [(2, 0)],
    ),
    "two notified, two on the statement": Case(
        [File("camt054", [PAID, PAID]), File("camt053", [PAID, PAID])], [(2, 0), (0, 2)],
    ),
    "one notified, two on the statement": Case(
        [File("camt054", [PAID]), File("camt053", [PAID, PAID])], [(1, 0), (1, 1)],
    ),
    "two notified, one on the statement": Case(
        [File("camt054", [PAID, PAID]), File("camt053", [PAID])], [(2, 0), (0, 1)],
    ),
    "notified row taken once": Case(
        [
            File("camt054", [PAID]),
            File("camt053", [PAID]),
            File("camt053", [replace(PAID, booking_date=TUESDAY)]),
        ],
        [(1, 0), (0, 1), (1, 0)],
    ),
    "statement issued again": Case(
        [File("camt053", [PAID]), File("camt053", [PAID, OTHER_DAY])], [(1, 0), (1, 1)],
    ),
    "statement issued again, no end-to-end id": Case(
        [File("camt053", [replace(PAID, end_to_end_id="")]), File("camt053", [replace(PAID, end_to_end_id="")])],
        [(1, 0), (0, 1)],
    ),
    "issued again with two equal transfers": Case(
        [File("camt053", [PAID, PAID]), File("camt053", [PAID, PAID])], [(2, 0), (0, 2)],
    ),
    "issued again with one more equal transfer": Case(
        [File("camt053", [PAID]), File("camt053", [PAID, PAID])], [(1, 0), (1, 1)],
    ),
    "issued again, other end-to-end id": Case(
        [File("camt053", [PAID]), File("camt053", [replace(PAID, end_to_end_id="E2E-2")])], [(1, 0), (1, 0)],
    ),
    "notification, statement, statement issued again": Case(
        [File("camt054", [PAID]), File("camt053", [PAID]), File("camt053", [PAID])], [(1, 0), (0, 1), (0, 1)],
    ),
    "statement, notification, statement issued again": Case(
        [File("camt053", [PAID]), File("camt054", [PAID]), File("camt053", [PAID])], [(1, 0), (0, 1), (0, 1)],
    ),
    "next statement of the same day": Case(
        [File("camt053", [PAID]), File("camt053", [PAID], opening=Decimal("1600.00"))], [(1, 0), (1, 0)],
    ),
    "exact date preferred": Case(
        [
            File("camt054", [PAID, replace(PAID, booking_date=TUESDAY)]),
            File("camt053", [replace(PAID, booking_date=TUESDAY)]),
            File("camt053", [PAID]),
        ],
        [(2, 0), (0, 1), (0, 1)],
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_duplicate_rules(tmp_path: Path, case: Case):
    make_creditor()

    for number, (file, (new, already)) in enumerate(zip(case.files, case.expected, strict=True), start=1):
        report = _import(_write(tmp_path, number, file))

        assert report.counts["new payments"] == new, f"file {number}"
        assert report.counts["already imported"] == already, f"file {number}"
    assert Payment.objects.count() == sum(new for new, _ in case.expected)


def test_other_account_rejected_not_duplicate(tmp_path: Path):
    creditor = make_creditor()
    _import(_write(tmp_path, 1, File("camt054", [PAID])))

    with pytest.raises(ImportRejected, match="niet de IBAN van crediteur"):
        _import(_write(tmp_path, 2, File("camt053", [PAID], account=OTHER_IBAN)), creditor)

    assert BankTransaction.objects.count() == 1


def test_other_creditor_not_duplicate(tmp_path: Path):
    make_creditor()
    make_creditor("other", OTHER_IBAN)
    _import(_write(tmp_path, 1, File("camt054", [PAID])))

    report = _import(_write(tmp_path, 2, File("camt053", [PAID], account=OTHER_IBAN)))

    assert report.counts["new payments"] == 1
    assert report.counts["already imported"] == 0


def test_statement_after_notification_pays_invoice_once(tmp_path: Path):
    creditor = make_creditor()
    invoice = make_invoice(make_debtor(creditor, "D001", "J. Muller"), "F2026-001", "1234.56")
    _import(_write(tmp_path, 1, File("camt054", [PAID])))

    report = _import(_write(tmp_path, 2, File("camt053", [PAID])))

    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("634.56")
    assert Payment.objects.count() == 1
    assert any("notificatie NTF-1 in 1_camt054.xml" in note for note in report.notes), report.notes


def test_repeat_stored_without_payment(tmp_path: Path):
    make_creditor()
    _import(_write(tmp_path, 1, File("camt054", [PAID])))

    _import(_write(tmp_path, 2, File("camt053", [PAID])))

    notified = BankTransaction.objects.get(statement__is_notification=True)
    repeated = BankTransaction.objects.get(statement__is_notification=False)
    assert notified.payment is not None
    assert repeated.payment is None
    assert repeated.duplicate_of == notified


def test_statement_imported_again_names_file(tmp_path: Path):
    make_creditor()
    _import(_write(tmp_path, 1, File("camt054", [PAID])))
    statement = _write(tmp_path, 2, File("camt053", [PAID]))
    _import(statement)

    report = _import(statement)

    assert report.counts["already imported"] == 1
    assert report.counts["new payments"] == 0
    assert any("rekeningafschrift STMT-2 in 2_camt053.xml" in note for note in report.notes), report.notes


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("NL20INGB0001234567", "NL20INGB0001234567", True),
        ("NL20INGB0001234567", "1234567", True),
        ("0001234567", "NL20INGB0001234567", True),
        ("NL20INGB0001234567", "7654321", False),
        ("NL20INGB0001234567", "NL20RABO0001234567", False),
        ("DE89370400440532013000", "0532013000", False),
    ],
)
def test_same_account(first: str, second: str, same: bool):
    assert same_account(first, second) is same


def _samples(statements: list[ParsedStatement]) -> list[SampleEntry]:
    """Return the payments and reversals of `statements` as sample entries, one per transaction."""
    samples = []
    for statement in statements:
        for entry in statement.entries:
            for item in _transactions(entry):
                if classify(entry, item) == Kind.IGNORED:
                    continue
                samples.append(SampleEntry(
                    item.amount,
                    name=item.counterparty_name,
                    iban=item.counterparty_iban,
                    remittance=item.remittance_info,
                    structured_reference=item.structured_reference,
                    end_to_end_id=item.end_to_end_id,
                    reversal=entry.is_reversal,
                    return_reason=item.return_reason,
                    booking_date=entry.booking_date,
                    value_date=entry.value_date,
                ))
    return samples


def _currency(statements: list[ParsedStatement]) -> str:
    currencies = {item.currency or entry.currency for statement in statements for entry in statement.entries for item in _transactions(entry)}
    assert len(currencies) == 1, currencies
    return currencies.pop()


# Real camt.053 files and the payments plus reversals each contains. The
# corpus files whose balances do not add up are left out, because the import
# rejects them.
CAMT053_FILES = [
    ("genkgo_multi-statement_camt053v02.xml", 1),
    ("genkgo_othr-account-id_mixed-ccy-balances_camt053v08.xml", 1),
    ("viafintech_six-ch_charges_camt053v04.xml", 23),
]


def _corpus_notification(tmp_path: Path, name: str) -> tuple[Path, Path, str]:
    path = CORPUS / "camt053" / name
    if not path.exists():
        pytest.skip(f"corpus file {path} is missing")
    statements = read_camt(path)
    account = statements[0].account
    notification = write_camt054(
        tmp_path / "notification.xml", account, _with_references(_samples(statements), "N"),
        currency=_currency(statements),
    )
    return path, notification, account


@pytest.mark.parametrize(("name", "payments"), CAMT053_FILES)
def test_corpus_statement_then_notification(tmp_path: Path, name: str, payments: int):
    statement, notification, account = _corpus_notification(tmp_path, name)
    creditor = make_creditor(iban=account)
    first = _import(statement, creditor)

    report = _import(notification, creditor)

    assert first.counts["new payments"] == payments
    assert report.counts["new payments"] == 0
    assert report.counts["already imported"] == payments
    assert Payment.objects.count() == payments


@pytest.mark.parametrize(("name", "payments"), CAMT053_FILES)
def test_corpus_notification_then_statement(tmp_path: Path, name: str, payments: int):
    statement, notification, account = _corpus_notification(tmp_path, name)
    creditor = make_creditor(iban=account)
    first = _import(notification, creditor)

    report = _import(statement, creditor)

    assert first.counts["new payments"] == payments
    assert report.counts["new payments"] == 0
    assert report.counts["already imported"] == payments
    assert Payment.objects.count() == payments


def _as_notification(statement: Path, target: Path, references: str) -> Path:
    """Write the entries of a real camt.053 file as a camt.054 notification.

    The entries stay as the bank wrote them, apart from their references. The
    message and statement elements get their camt.054 names, and the
    balances go, because a notification has none.
    `references` "kept" leaves AcctSvcrRef and NtryRef as the statement has
    them, "new" gives them a prefix as another bank channel would, and
    "none" removes them.
    """
    text = statement.read_text(encoding="utf-8")
    text = re.sub(r"camt\.053\.001\.(\d\d)", r"camt.054.001.\1", text)
    text = text.replace("BkToCstmrStmt", "BkToCstmrDbtCdtNtfctn")
    text = re.sub(r"<(/?)Stmt>", r"<\1Ntfctn>", text)
    text = re.sub(r"<Bal>.*?</Bal>", "", text, flags=re.DOTALL)
    for element in ("AcctSvcrRef", "NtryRef"):
        if references == "new":
            text = re.sub(rf"<{element}>(.*?)</{element}>", rf"<{element}>NTF-\1</{element}>", text)
        elif references == "none":
            text = re.sub(rf"<{element}>.*?</{element}>", "", text)
    target.write_text(text, encoding="utf-8")
    return target


# Orders of one real statement and the notification made from its entries:
# the first file books every payment, the second none.
CORPUS_ORDERS = {
    "statement, then notification": ("statement", "notification"),
    "notification, then statement": ("notification", "statement"),
    "notification imported twice": ("notification", "notification again"),
}


@pytest.mark.parametrize("references", ["kept", "new", "none"])
@pytest.mark.parametrize("order", list(CORPUS_ORDERS), ids=list(CORPUS_ORDERS))
@pytest.mark.parametrize(("name", "payments"), CAMT053_FILES)
def test_corpus_entries_booked_once(tmp_path: Path, name: str, payments: int, order: str, references: str):
    statement = CORPUS / "camt053" / name
    if not statement.exists():
        pytest.skip(f"corpus file {statement} is missing")
    creditor = make_creditor(iban=read_camt(statement)[0].account)
    files = {
        "statement": statement,
        "notification": _as_notification(statement, tmp_path / "notification.xml", references),
        # A copy under another file name, and with other references when they are not kept.
        "notification again": _as_notification(
            statement, tmp_path / "notification-2.xml", "none" if references == "none" else "kept"
        ),
    }
    first, second = CORPUS_ORDERS[order]

    first_report = _import(files[first], creditor)
    second_report = _import(files[second], creditor)

    assert first_report.counts["new payments"] == payments
    assert second_report.counts["new payments"] == 0
    assert Payment.objects.count() == payments


# Real MT940 files that the import accepts, the creditor IBAN that ends in
# their account, and their payments plus reversals.
MT940_FILES = [
    ("fruitl00p_abnamro_trtp-wrapped-midword.txt", IBAN.generate("NL", bank_code="ABNA", account_code="0534334164").compact, 1),
    ("oca_ing-sepa-structured_returns_sum.940", "NL77INGB0574908765", 4),
    ("oca_rabobank-structured_multi-day.swi", "NL34RABO0142623393", 1),
    ("zilverline_knab_two-blocks_amounts-without-decimals.txt", IBAN.generate("NL", bank_code="KNAB", account_code="0222222222").compact, 3),
    ("zilverline_triodos-iban_wrapped-eref.txt", "NL86TRIO07878788778", 2),
]


def _corpus_camt053(tmp_path: Path, name: str, account: str) -> tuple[Path, Path]:
    path = CORPUS / "mt940" / name
    if not path.exists():
        pytest.skip(f"corpus file {path} is missing")
    statements = read_mt940(path)
    statement = write_camt053(
        tmp_path / "statement.xml", account, _with_references(_samples(statements), "S"),
        currency=_currency(statements),
    )
    return path, statement


@pytest.mark.parametrize(("name", "account", "payments"), MT940_FILES)
def test_corpus_mt940_then_camt053(tmp_path: Path, name: str, account: str, payments: int):
    mt940, camt053 = _corpus_camt053(tmp_path, name, account)
    creditor = make_creditor(iban=account)
    first = Mt940Importer().run(mt940, creditor)

    report = _import(camt053, creditor)

    assert first.counts["new payments"] == payments
    assert report.counts["new payments"] == 0
    assert report.counts["already imported"] == payments
    assert Payment.objects.count() == payments


@pytest.mark.parametrize(("name", "account", "payments"), MT940_FILES)
def test_corpus_camt053_then_mt940(tmp_path: Path, name: str, account: str, payments: int):
    mt940, camt053 = _corpus_camt053(tmp_path, name, account)
    creditor = make_creditor(iban=account)
    first = _import(camt053, creditor)

    report = Mt940Importer().run(mt940, creditor)

    assert first.counts["new payments"] == payments
    assert report.counts["new payments"] == 0
    assert report.counts["already imported"] == payments
    assert Payment.objects.count() == payments


def test_migration_marks_old_notifications():
    from django.apps import apps

    migration = importlib.import_module("betaalreis.banking.migrations.0004_transaction_duplicate_of")
    creditor = make_creditor()
    fields = {"creditor": creditor, "account": CREDITOR_IBAN, "file_sha256": "0" * 64}
    notification = BankStatement.objects.create(format="camt.053/054", index_in_file=0, **fields)
    statement = BankStatement.objects.create(
        format="camt.053/054", index_in_file=1, opening_balance=Decimal("0.00"), closing_balance=Decimal("600.00"), **fields
    )
    mt940 = BankStatement.objects.create(format="MT940", index_in_file=2, **fields)

    migration.mark_notifications(apps, None)

    notification.refresh_from_db()
    statement.refresh_from_db()
    mt940.refresh_from_db()
    assert notification.is_notification
    assert not statement.is_notification
    assert not mt940.is_notification



def _mt940(path: Path, opening: str, bookings: list[tuple[dt.date, str]]) -> Path:
    """Write an MT940 statement of J. Muller's transfers of 600.00, one per (booking date, bank reference)."""
    lines = [":20:STMT", f":25:{CREDITOR_IBAN}", ":28C:1/1", f":60F:C261113EUR{opening}"]
    for day, reference in bookings:
        lines.append(f":61:{day:%y%m%d}{day:%m%d}C600,00NTRFNONREF//{reference}")
        lines.append(
            ":86:/TRTP/SEPA OVERBOEKING/IBAN/NL02ABNA0123456789/BIC/ABNANL2A/NAME/J. MULLER/REMI/F2026-001/EREF/E2E-1"
        )
    closing = Decimal(opening.replace(",", ".")) + 600 * len(bookings)
    lines.append(f":62F:C{bookings[-1][0]:%y%m%d}EUR{closing:.2f}".replace(".", ","))
    path.write_text("\n".join([*lines, "-", ""]))
    return path


def test_mt940_issued_again_booked_once(tmp_path: Path):
    make_creditor()
    Mt940Importer().run(_mt940(tmp_path / "monday.sta", "1000,00", [(MONDAY, "BANK-1")]), None)

    report = Mt940Importer().run(
        _mt940(tmp_path / "monday-tuesday.sta", "1000,00", [(MONDAY, "BANK-7"), (TUESDAY, "BANK-8")]), None
    )

    assert report.counts["new payments"] == 1
    assert report.counts["already imported"] == 1
    assert Payment.objects.count() == 2
    assert any("rekeningafschrift STMT/1 in monday.sta" in note for note in report.notes), report.notes


def test_mt940_next_statement_keeps_equal_transfer(tmp_path: Path):
    make_creditor()
    Mt940Importer().run(_mt940(tmp_path / "morning.sta", "1000,00", [(MONDAY, "BANK-1")]), None)

    report = Mt940Importer().run(_mt940(tmp_path / "afternoon.sta", "1600,00", [(MONDAY, "BANK-2")]), None)

    assert report.counts["new payments"] == 1
    assert report.counts["already imported"] == 0
    assert Payment.objects.count() == 2


def test_statement_issued_again_names_file(tmp_path: Path):
    make_creditor()
    _import(_write(tmp_path, 1, File("camt053", [PAID])))

    report = _import(_write(tmp_path, 2, File("camt053", [PAID, OTHER_DAY])))

    repeated = BankTransaction.objects.get(statement__statement_id="STMT-2", amount=Decimal("600.00"))
    assert repeated.payment is None
    assert repeated.duplicate_of == BankTransaction.objects.get(statement__statement_id="STMT-1")
    assert any(
        note.startswith("al geïmporteerd uit rekeningafschrift STMT-1 in 1_camt053.xml: 1 transactie")
        for note in report.notes
    ), report.notes


def _period(first: dt.date, last: dt.date, opening: str, closing: str, opening_date: dt.date = MONDAY) -> StatementPeriod:
    return StatementPeriod(first, last, Decimal(opening), opening_date, Decimal(closing))


# Each case: the stored statement, the new one, and whether they overlap.
OVERLAP_CASES = {
    "issued again": (_period(MONDAY, MONDAY, "100", "700"), _period(MONDAY, TUESDAY, "100", "775"), True),
    "next day": (_period(MONDAY, MONDAY, "100", "700"), _period(TUESDAY, TUESDAY, "700", "775"), False),
    "next part of one day": (_period(MONDAY, MONDAY, "100", "700"), _period(MONDAY, MONDAY, "700", "1300"), False),
    "earlier part imported last": (_period(MONDAY, MONDAY, "700", "1300"), _period(MONDAY, MONDAY, "100", "700"), False),
    "issued again, bookings add up to zero": (
        _period(MONDAY, MONDAY, "100", "100"), _period(MONDAY, MONDAY, "100", "100"), True,
    ),
    "continues but starts before the end": (
        _period(MONDAY, TUESDAY, "100", "700"), _period(MONDAY, WEDNESDAY, "700", "900", TUESDAY), True,
    ),
}


@pytest.mark.parametrize(("stored", "new", "overlap"), list(OVERLAP_CASES.values()), ids=list(OVERLAP_CASES))
def test_statements_overlap(stored: StatementPeriod, new: StatementPeriod, overlap: bool):
    assert statements_overlap(new, stored) is overlap


# Each case: the entries of a notification and of one the bank sent again
# with another notification id, and per entry of the second whether its
# payment goes to review as a possible repeat.
RESENT_CASES = {
    "same end-to-end id": ([PAID], [PAID], [True]),
    "no end-to-end id": ([replace(PAID, end_to_end_id="")], [replace(PAID, end_to_end_id="")], [True]),
    "end-to-end id on one only": ([PAID], [replace(PAID, end_to_end_id="")], [True]),
    "other end-to-end id": ([PAID], [replace(PAID, end_to_end_id="E2E-2")], [False]),
    "other payer": ([PAID], [replace(PAID, iban=OTHER_IBAN)], [False]),
    "other description": ([PAID], [replace(PAID, remittance="F2026-003")], [False]),
    "other day": ([PAID], [replace(PAID, booking_date=TUESDAY)], [False]),
    "other amount": ([PAID], [replace(PAID, amount=Decimal("600.01"))], [False]),
    "two against one": ([PAID], [PAID, PAID], [True, True]),
}


@pytest.mark.parametrize(("first", "second", "doubtful"), list(RESENT_CASES.values()), ids=list(RESENT_CASES))
def test_notification_sent_again_new_id(tmp_path: Path, english_reports, first, second, doubtful):
    make_creditor()
    _import(_write(tmp_path, 1, File("camt054", first, notification_id="NTF-A")))

    report = _import(_write(tmp_path, 2, File("camt054", second, notification_id="NTF-B")))

    assert report.counts["new payments"] == len(second)
    assert report.counts["already imported"] == 0
    later = Payment.objects.filter(bank_transaction__statement__statement_id="NTF-B").order_by("id")
    assert [payment.match_reason.startswith("may repeat bank transaction") for payment in later] == doubtful
    for payment in later:
        if payment.match_reason.startswith("may repeat"):
            assert payment.status == PaymentStatus.REVIEW
            assert payment.allocations.count() == 0
    assert any("possibly already imported" in note for note in report.notes) == any(doubtful)


def test_doubtful_repeat_reason_and_note(tmp_path: Path, english_reports):
    make_creditor()
    _import(_write(tmp_path, 1, File("camt054", [PAID], notification_id="NTF-A")))
    stored = BankTransaction.objects.get()

    report = _import(_write(tmp_path, 2, File("camt054", [PAID], notification_id="NTF-B")))

    payment = Payment.objects.exclude(pk=stored.payment_id).get()
    assert payment.match_reason == (
        f"may repeat bank transaction {stored.pk} of notification NTF-A (1_camt054.xml): "
        "same date, amount, payer and description, and no end-to-end id tells them apart"
    )
    assert reason_in_dutch(payment.match_reason) == (
        f"herhaalt mogelijk banktransactie {stored.pk} van notificatie NTF-A (1_camt054.xml): "
        "dezelfde datum, hetzelfde bedrag, dezelfde betaler en omschrijving, en geen end-to-end-id onderscheidt ze"
    )
    assert (
        "possibly already imported from notification NTF-A in 1_camt054.xml: 1 transaction with the same date, "
        "amount, payer and description"
    ) in " ".join(report.notes)
