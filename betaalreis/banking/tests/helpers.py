"""Ledger rows and statement files for the banking tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from betaalreis.banking.camt import read_camt
from betaalreis.banking.importers import Camt05xImporter, statement_account_owners
from betaalreis.banking.samples import SampleEntry, write_camt053
from betaalreis.banking.statements import ParsedStatement, StatementFileError
from betaalreis.banking.store import DUTCH_ACCOUNT_NUMBER
from betaalreis.imports.registry import ImportReport
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.models import Creditor, Debtor, Invoice

CREDITOR_IBAN = "NL91ABNA0417164300"
PAYER_IBAN = "NL02ABNA0123456789"
OTHER_PAYER_IBAN = "NL20INGB0001234567"


def make_creditor(slug: str = "acme", iban: str = CREDITOR_IBAN) -> Creditor:
    return Creditor.objects.create(slug=slug, legal_name=f"{slug} B.V.", iban=iban)


def make_debtor(creditor: Creditor, number: str, name: str) -> Debtor:
    return Debtor.objects.create(creditor=creditor, customer_number=number, name=name)


def make_invoice(
    debtor: Debtor, number: str, amount: str, *, reference: str = "", due: dt.date = dt.date(2026, 11, 1), status: str = "open"
) -> Invoice:
    return Invoice.objects.create(
        creditor=debtor.creditor,
        debtor=debtor,
        number=number,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        total=Decimal(amount),
        open_amount=Decimal(amount),
        payment_reference=reference,
        status=status,
    )


def import_entries(tmp_path: Path, entries: list[SampleEntry], name: str = "statement.xml", **options: object) -> ImportReport:
    path = write_camt053(tmp_path / name, CREDITOR_IBAN, entries, **options)
    return Camt05xImporter().run(path, None)


def make_account_owners(statements: list[ParsedStatement]) -> list[Creditor]:
    """Return the owner of each statement's account, and create a creditor for an account that has none.

    An old Dutch domestic account number gets an NL IBAN that ends in it,
    which is how statements with such numbers find their creditor. An
    IBAN-shaped account with a bad checksum, as test files have, is stored
    as written, because `objects.create` does not validate it.
    """
    owners: list[Creditor] = []
    for statement in statements:
        found = statement_account_owners(statement)
        if found:
            owners.append(found[0])
            continue
        match = DUTCH_ACCOUNT_NUMBER.match(compact_iban(statement.account).replace(".", ""))
        iban = f"NL00ABNA{match.group(1).zfill(10)}" if match else statement.account
        owners.append(make_creditor(f"owner-{len(owners) + 1}", iban=iban))
    return owners


def camt_outcome(path: Path) -> str:
    """Return the repr of the statements that read_camt reads from `path`, or of its errors."""
    try:
        return repr(read_camt(path))
    except StatementFileError as exc:
        return repr(exc.errors)
