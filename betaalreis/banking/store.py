"""Check parsed statements and store them as payments, all or nothing per file.

Deduplication: every transaction gets an `external_id` built from the bank's
own references, so importing a file again, or a statement whose dates overlap
an earlier one, creates no new payments:

- with a bank reference (camt `AcctSvcrRef`, else `NtryRef`; MT940 `//` bank
  reference): `<account>:<reference>:<transaction number within the entry>`;
- without one: `<account>:<booking date>:<amount>:<digest>:<n>`, where the
  digest covers counterparty IBAN, end-to-end id and remittance text, and `n`
  counts identical transactions on that day in the statement. A transaction
  in another currency than the statement's gets `:<currency>` before `:<n>`,
  so EUR 95 and USD 95 from the same payer stay two payments. Two identical
  transfers on one day stay two payments, and an overlapping statement that
  covers the whole day yields the same ids.

A file of another kind books the same transaction under other references (a
camt.054 notification, then the camt.053 or MT940 statement); `duplicates`
recognises those, and they are stored without a payment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.banking.bulk import insert_rows
from betaalreis.banking.duplicates import set_aside_duplicates
from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.banking.models import BankStatement, BankTransaction
from betaalreis.banking.statements import (
    ParsedEntry,
    ParsedStatement,
    ParsedTransaction,
    invalid_iban_error,
    position_text,
    statement_name,
)
from betaalreis.imports.registry import ImportRejected, RowError
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.models import Creditor, Payment, PaymentSource, PaymentStatus
from betaalreis.ledger.money import CENT, format_report_money

logger = logging.getLogger(__name__)

ZERO = Decimal("0")
INSERT_BATCH = 5000


class Kind:
    """Treatment of a transaction: a payment in, a reversal, or ignored."""

    PAYMENT = "payment"
    REVERSAL = "reversal"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class StoredStatement:
    """The creditor, account and booking dates of one stored statement."""

    statement_id: str
    creditor_slug: str
    account: str
    currency: str
    first_booking: dt.date | None
    last_booking: dt.date | None


@dataclass
class StoreResult:
    """Counts of one stored file, its statements, and the new payment ids per creditor."""

    statements: list[StoredStatement] = field(default_factory=list)
    # Currencies of the new payments, so the report can label its amounts.
    currencies: set[str] = field(default_factory=set)
    entries: int = 0
    transactions: int = 0
    duplicates: int = 0
    ignored: int = 0
    ignored_amount: Decimal = ZERO
    payments: dict[int, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def classify(entry: ParsedEntry, item: ParsedTransaction) -> str:
    """Return the Kind of a transaction.

    A debit is a reversal when the entry carries the reversal indicator or the
    transaction a return reason. A credit with a return reason is our own
    outgoing payment coming back, so it is not money from a debtor.
    """
    if not entry.booked:
        return Kind.IGNORED
    if item.amount > 0:
        return Kind.IGNORED if item.return_reason else Kind.PAYMENT
    if entry.is_reversal or item.return_reason:
        return Kind.REVERSAL
    return Kind.IGNORED


def _transactions(entry: ParsedEntry) -> list[ParsedTransaction]:
    if entry.transactions:
        return entry.transactions
    # An entry without details (a collective booking with only NbOfTxs) is one payment.
    return [ParsedTransaction(amount=entry.amount, currency=entry.currency, remittance_info=entry.additional_info)]


def external_ids(statement: ParsedStatement) -> list[list[str]]:
    """Return the external id of every transaction, per entry (see the module docstring)."""
    seen: Counter[str] = Counter()
    result: list[list[str]] = []
    for entry in statement.entries:
        reference = entry.bank_reference or entry.entry_reference
        if reference.upper() in ("NONREF", "EREF", "PREF", "NOTPROVIDED"):
            reference = ""
        ids: list[str] = []
        for number, item in enumerate(_transactions(entry), start=1):
            if reference:
                ids.append(f"{statement.account}:{reference}:{number}"[:200])
                continue
            text = "|".join((item.counterparty_iban, item.end_to_end_id, item.structured_reference, item.remittance_info, entry.raw))
            digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
            key = f"{statement.account}:{entry.booking_date.isoformat()}:{item.amount}:{digest}"
            currency = item.currency or entry.currency
            if currency and statement.currency and currency != statement.currency:
                # Ids of entries in the account's own currency stay as earlier
                # versions built them, so importing an old file again adds nothing.
                key += f":{currency}"
            seen[key] += 1
            ids.append(f"{key}:{seen[key]}"[:200])
        result.append(ids)
    return result


def _entries(count: int) -> str:
    return ngettext("%(count)d boeking", "%(count)d boekingen", count) % {"count": count}


def check_statement(statement: ParsedStatement) -> list[RowError]:
    """Return the problems that make a statement untrustworthy: sums, counts, sub-cent amounts."""
    errors: list[RowError] = []
    # Pending and information-only entries do not move the booked balance.
    total = sum((entry.amount for entry in statement.entries if entry.booked), ZERO)

    if statement.opening_balance is not None and statement.closing_balance is not None:
        expected = statement.closing_balance - statement.opening_balance
        if total != expected:
            errors.append(RowError(
                None, _("saldi"), f"{statement.opening_balance} → {statement.closing_balance}",
                _(
                    "%(statement)s: beginsaldo %(opening)s plus %(entries)s (%(total)s) is %(expected)s, maar het "
                    "eindsaldo is %(closing)s (verschil %(difference)s). Er ontbreken boekingen of ze zijn verkeerd "
                    "gelezen; vraag de bank om een volledige export"
                ) % {
                    "statement": statement_name(statement),
                    "opening": format_report_money(statement.opening_balance, statement.currency),
                    "entries": _entries(len(statement.entries)),
                    "total": format_report_money(total, statement.currency, signed=True),
                    "expected": format_report_money(statement.opening_balance + total, statement.currency),
                    "closing": format_report_money(statement.closing_balance, statement.currency),
                    "difference": format_report_money(
                        statement.closing_balance - statement.opening_balance - total, statement.currency, signed=True
                    ),
                },
            ))

    if statement.declared_entry_count is not None and statement.declared_entry_count != len(statement.entries):
        errors.append(RowError(
            None, "TxsSummry/TtlNtries/NbOfNtries", str(statement.declared_entry_count),
            _(
                "%(statement)s vermeldt %(declared)s, maar bevat er %(found)d; het bestand is onvolledig, "
                "vraag de bank om een volledige export"
            ) % {
                "statement": statement_name(statement),
                "declared": _entries(statement.declared_entry_count),
                "found": len(statement.entries),
            },
        ))
    credits = [entry.amount for entry in statement.entries if entry.amount > 0]
    if statement.declared_credit_count is not None and statement.declared_credit_count != len(credits):
        errors.append(RowError(
            None, "TxsSummry/TtlCdtNtries/NbOfNtries", str(statement.declared_credit_count),
            _(
                "%(statement)s vermeldt %(declared)d bijschrijvingen, maar bevat er %(found)d; het bestand is "
                "onvolledig, vraag de bank om een volledige export"
            ) % {
                "statement": statement_name(statement),
                "declared": statement.declared_credit_count,
                "found": len(credits),
            },
        ))
    if statement.declared_credit_sum is not None and statement.declared_credit_sum != sum(credits, ZERO):
        errors.append(RowError(
            None, "TxsSummry/TtlCdtNtries/Sum", str(statement.declared_credit_sum),
            _(
                "%(statement)s vermeldt %(declared)s aan bijschrijvingen, maar de bijschrijvingen tellen op tot "
                "%(found)s; het bestand is onvolledig, vraag de bank om een volledige export"
            ) % {
                "statement": statement_name(statement),
                "declared": format_report_money(statement.declared_credit_sum, statement.currency),
                "found": format_report_money(sum(credits, ZERO), statement.currency),
            },
        ))

    for entry in statement.entries:
        for item in _transactions(entry):
            if item.amount != item.amount.quantize(CENT):
                errors.append(RowError(
                    None, _("bedrag"), str(item.amount),
                    _(
                        "%(position)s: het bedrag heeft meer dan twee decimalen en kan niet in centen worden "
                        "geboekt; vraag de bank om een correcte export"
                    ) % {"position": position_text(entry.position)},
                ))
    return errors


# A Dutch domestic account number (BBAN) as old MT940 files write it in
# :25:, maybe after a BIC and a slash or before a currency code:
# "534334164", "0534334164", "ABNANL2A/0534334164", "0534334164EUR".
DUTCH_ACCOUNT_NUMBER = re.compile(r"^(?:[A-Z]{6}[A-Z0-9]{2,5}/)?(\d{1,10})(?:[A-Z]{3})?$")


def creditors_for_dutch_account(account: str) -> list[Creditor]:
    """Return every creditor whose Dutch IBAN ends in this domestic account number.

    The last 10 characters of a Dutch IBAN are the account number, padded
    with leading zeros. Several creditors fit when the same number exists at
    two banks, and then the statement names none of them for sure.
    """
    match = DUTCH_ACCOUNT_NUMBER.match(compact_iban(account).replace(".", ""))
    if match is None or int(match.group(1)) == 0:
        return []
    padded = match.group(1).zfill(10)
    return [
        creditor
        for creditor in Creditor.objects.filter(iban__istartswith="NL").order_by("slug")
        if compact_iban(creditor.iban).endswith(padded) and len(compact_iban(creditor.iban)) == 18
    ]


def _account_owners(statement: ParsedStatement) -> list[Creditor]:
    """Return the creditors whose IBAN is the statement's account, or ends in its domestic number."""
    if statement.account_is_iban:
        return list(Creditor.objects.filter(iban__iexact=statement.account))
    return creditors_for_dutch_account(statement.account)


def _check_owner(statement: ParsedStatement, override: Creditor | None) -> tuple[Creditor | None, RowError | None, str]:
    """Return the creditor that receives `statement`, or the error that names why none does, and a note."""
    where = statement_name(statement)
    account_field = _("rekening")
    owners = _account_owners(statement)
    if override is not None:
        others = [owner for owner in owners if owner.pk != override.pk]
        if others and override not in owners:
            return None, RowError(
                None, account_field, statement.account,
                _(
                    "deze rekening hoort bij crediteur %(owner)r, niet bij %(chosen)r (%(where)s); importeer het "
                    "bestand zonder --creditor of met --creditor %(owner_slug)s"
                ) % {"owner": others[0].slug, "chosen": override.slug, "where": where, "owner_slug": others[0].slug},
            ), ""
        if override not in owners:
            return override, None, _(
                "%(statement)s is van rekening %(account)s, niet van de IBAN %(iban)s van de crediteur; het is "
                "zoals gevraagd geïmporteerd voor %(creditor)s"
            ) % {"statement": where, "account": statement.account, "iban": override.iban, "creditor": override.slug}
        return override, None, ""
    if len(owners) == 1:
        return owners[0], None, ""
    if len(owners) > 1:
        names = ", ".join(owner.slug for owner in owners)
        return None, RowError(
            None, account_field, statement.account,
            _(
                "de IBAN's van meerdere crediteuren (%(names)s) eindigen op dit rekeningnummer (%(where)s); "
                "kies er een met --creditor SLUG"
            ) % {"names": names, "where": where},
        ), ""
    invalid_iban = invalid_iban_error(statement)
    if invalid_iban is not None:
        return None, invalid_iban, ""
    # --creditor does not help in the cases below, because it only chooses
    # between creditors that own the account (`importers.reject_foreign_accounts`).
    if not statement.account_is_iban and DUTCH_ACCOUNT_NUMBER.match(compact_iban(statement.account).replace(".", "")):
        return None, RowError(
            None, account_field, statement.account,
            _(
                "het rekeningafschrift noemt de rekening %(account)r, wat geen IBAN is, en geen IBAN van een "
                "crediteur eindigt daarop (%(where)s); geef de crediteur van deze rekening het NL-IBAN dat op dit "
                "rekeningnummer eindigt, met `betaalreis creditor add` of `betaalreis creditor load`, en importeer "
                "het bestand opnieuw"
            ) % {"account": statement.account, "where": where},
        ), ""
    if not statement.account_is_iban:
        return None, RowError(
            None, account_field, statement.account,
            _(
                "het rekeningafschrift noemt de rekening %(account)r, wat geen IBAN en geen Nederlands "
                "rekeningnummer is (%(where)s); download het rekeningafschrift bij de bank met het IBAN als rekening"
            ) % {"account": statement.account, "where": where},
        ), ""
    return None, RowError(
        None, account_field, statement.account,
        _(
            "geen crediteur heeft deze rekening als IBAN (%(where)s); voeg de crediteur met dit IBAN toe met "
            "`betaalreis creditor add`, of stel het in als IBAN van een crediteur met `betaalreis creditor load`, "
            "en importeer het bestand opnieuw"
        ) % {"where": where},
    ), ""


def _new_transaction_rows(
    creditor: Creditor,
    bank_statement: BankStatement,
    statement: ParsedStatement,
    ids: list[list[str]],
    existing: set[str],
    result: StoreResult,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Return the field values of the new payments and of the new bank transactions."""
    payments: list[dict[str, object]] = []
    transactions: list[dict[str, object]] = []
    creditor_id = creditor.pk
    statement_id = bank_statement.pk
    for entry, entry_ids in zip(statement.entries, ids, strict=True):
        for item, external_id in zip(_transactions(entry), entry_ids, strict=True):
            result.transactions += 1
            if not entry.booked:
                # Not stored at all, so the booked entry of a later statement,
                # with the same reference, still becomes a payment.
                result.ignored += 1
                result.ignored_amount += item.amount
                continue
            if external_id in existing:
                result.duplicates += 1
                continue
            existing.add(external_id)

            kind = classify(entry, item)
            amount = item.amount.quantize(CENT)
            currency = item.currency or entry.currency
            if kind == Kind.IGNORED:
                result.ignored += 1
                result.ignored_amount += item.amount
            else:
                payments.append({
                    "creditor_id": creditor_id,
                    "source": PaymentSource.BANK,
                    "external_id": external_id,
                    "booking_date": entry.booking_date,
                    "value_date": entry.value_date,
                    "amount": amount,
                    "currency": currency,
                    "payer_name": item.counterparty_name[:200],
                    "payer_iban": item.counterparty_iban[:34],
                    "structured_reference": item.structured_reference[:35],
                    "remittance_info": item.remittance_info,
                    "status": PaymentStatus.NEW,
                })

            charges = item.charges
            if charges is None and len(entry.transactions) <= 1:
                # Charges given on the entry belong to its only transaction.
                charges = entry.charges
            transactions.append({
                "creditor_id": creditor_id,
                "statement_id": statement_id,
                "external_id": external_id,
                "position": entry.position[:40],
                "booking_date": entry.booking_date,
                "value_date": entry.value_date,
                "amount": amount,
                "currency": currency,
                "is_reversal": kind == Kind.REVERSAL,
                "bank_transaction_code": entry.bank_transaction_code[:60],
                "entry_reference": entry.entry_reference[:100],
                "bank_reference": entry.bank_reference[:100],
                "end_to_end_id": item.end_to_end_id[:100],
                "mandate_id": item.mandate_id[:100],
                "batch_id": entry.batch_id[:100],
                "batch_size": entry.batch_size,
                "return_reason": item.return_reason[:10],
                "charges": charges,
                "original_amount": item.original_amount,
                "original_currency": item.original_currency,
                "counterparty_name": item.counterparty_name[:200],
                "counterparty_iban": item.counterparty_iban[:34],
                "counterparty_bic": item.counterparty_bic[:11],
                "raw": entry.raw,
            })
    return payments, transactions


def _payment_ids(creditor: Creditor, external_ids: list[str]) -> dict[str, int]:
    return dict(_rows_by_external_id(Payment, creditor, external_ids, ("external_id", "id"), source=PaymentSource.BANK))


def _existing_ids(creditor: Creditor, ids: list[str]) -> set[str]:
    return {external_id for (external_id,) in _rows_by_external_id(BankTransaction, creditor, ids, ("external_id",))}


def _rows_by_external_id(
    model: type[Payment] | type[BankTransaction],
    creditor: Creditor,
    external_ids: list[str],
    columns: tuple[str, ...],
    source: str | None = None,
) -> list[tuple]:
    """Return `columns` of the creditor's rows of `model` whose external_id is in `external_ids`.

    Plain SQL, because building an ORM lookup of 5,000 values took longer
    than running it. PostgreSQL takes the whole list as one array.
    """
    quote = connection.ops.quote_name
    selected = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    conditions = [f"{quote(model._meta.get_field('creditor').column)} = %s"]
    params: list[object] = [creditor.pk]
    if source is not None:
        conditions.append(f"{quote(model._meta.get_field('source').column)} = %s")
        params.append(source)
    external_id = quote(model._meta.get_field("external_id").column)
    # The external_id condition ends differently per engine, below.
    sql = f"SELECT {selected} FROM {quote(model._meta.db_table)} WHERE {' AND '.join(conditions)} AND {external_id} "
    found: list[tuple] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql + "= ANY(%s)", [*params, external_ids])
            return list(cursor.fetchall())
        for start in range(0, len(external_ids), INSERT_BATCH):
            chunk = external_ids[start:start + INSERT_BATCH]
            cursor.execute(sql + f"IN ({', '.join(['%s'] * len(chunk))})", [*params, *chunk])
            found += cursor.fetchall()
    return found


def store_statements(
    path: Path, file_format: str, statements: list[ParsedStatement], creditor: Creditor | None
) -> StoreResult:
    """Check and store the statements of one file in one transaction.

    Raise ImportRejected with every problem found, and store nothing, when a
    statement does not add up, no creditor owns its account, or an amount
    cannot be booked.
    """
    with cyclic_gc_paused():
        return _store_statements(path, file_format, statements, creditor)


def _store_statements(
    path: Path, file_format: str, statements: list[ParsedStatement], creditor: Creditor | None
) -> StoreResult:
    errors: list[RowError] = []
    notes: list[str] = []
    owners: list[Creditor] = []
    for statement in statements:
        errors += check_statement(statement)
        owner, error, note = _check_owner(statement, creditor)
        if note:
            notes.append(note)
        if error is not None:
            errors.append(error)
        else:
            owners.append(owner)
    if errors:
        raise ImportRejected(path, errors, ngettext(
            "%(count)d probleem gevonden.", "%(count)d problemen gevonden.", len(errors)
        ) % {"count": len(errors)})

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    result = StoreResult(notes=notes)
    with transaction.atomic():
        for index, (statement, owner) in enumerate(zip(statements, owners, strict=True)):
            result.entries += len(statement.entries)
            bank_statement, _created = BankStatement.objects.get_or_create(
                creditor=owner,
                file_sha256=digest,
                index_in_file=index,
                defaults={
                    "format": file_format,
                    "file_name": str(path)[-300:],
                    "statement_id": statement.statement_id[:100],
                    "account": statement.account[:40],
                    "currency": statement.currency[:3],
                    "opening_balance": statement.opening_balance,
                    "opening_date": statement.opening_date,
                    "closing_balance": statement.closing_balance,
                    "closing_date": statement.closing_date,
                    "entry_count": len(statement.entries),
                    "is_notification": statement.is_notification,
                },
            )
            ids = external_ids(statement)
            existing = _existing_ids(owner, [external_id for entry_ids in ids for external_id in entry_ids])
            already_imported = set(existing)
            payments, transactions = _new_transaction_rows(owner, bank_statement, statement, ids, existing, result)

            booked = [entry.booking_date for entry in statement.entries if entry.booked]
            booking_period = (min(booked), max(booked)) if booked else None
            repeats = set_aside_duplicates(owner, bank_statement, payments, transactions, already_imported, booking_period)
            result.duplicates += repeats.count
            result.notes += repeats.notes

            dates = [entry.booking_date for entry in statement.entries]
            result.statements.append(StoredStatement(
                statement.statement_id, owner.slug, statement.account, statement.currency,
                min(dates, default=None), max(dates, default=None),
            ))
            result.currencies.update(str(payment["currency"]) for payment in payments)
            insert_rows(Payment, payments)
            payment_ids = _payment_ids(owner, [str(payment["external_id"]) for payment in payments])
            for row in transactions:
                row["payment_id"] = payment_ids.get(str(row["external_id"]))
            insert_rows(BankTransaction, transactions)
            result.payments.setdefault(owner.pk, []).extend(payment_ids.values())

    logger.info(
        "bank statement stored",
        extra={"file": path.name, "entries": result.entries, "duplicates": result.duplicates},
    )
    return result
