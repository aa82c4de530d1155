"""Bank statement importers for `betaalreis import`: camt.053/054, MT940 and ING CSV.

Each file is checked and stored in one transaction (see `store`), then its new
payments are matched (see `matching`). Matching runs after the import has
committed: if it fails, the payments stay new and the next run matches them.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from betaalreis.banking.camt import NAMESPACE_PATTERN, read_camt
from betaalreis.banking.ing_csv import looks_like_ing_csv, read_ing_csv
from betaalreis.banking.matching import MatchReport, match_payments
from betaalreis.banking.mt940_reader import read_mt940
from betaalreis.banking.report import amounts_per_currency, review_lines, statement_lines, waiting_lines
from betaalreis.banking.statements import (
    ParsedStatement,
    StatementFileError,
    invalid_iban_error,
    statement_name,
)
from betaalreis.banking.store import StoreResult, creditors_for_dutch_account, store_statements
from betaalreis.imports.registry import Importer, ImportRejected, ImportReport, RowError
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.models import Creditor

MT940_HEAD = re.compile(rb"(^|[\r\n{])(:20:|\{1:F01|:940:)")
XML_SUFFIXES = (".xml", ".053", ".054", ".camt")


def build_report(
    path: Path, file_format: str, stored: StoreResult, matched: list[MatchReport], *, matched_on: dt.date
) -> ImportReport:
    """Summarise one file: entries read, matched, partly matched, review and ignored, with amounts.

    `matched_on` is the day matching ran for. The notes name the payments
    booked after it, which matching left new for a later run.
    """
    def total(name: str) -> int:
        return sum(getattr(report, name) for report in matched)

    def amount(name: str) -> Decimal:
        return sum((getattr(report, name) for report in matched), Decimal("0.00"))

    report = ImportReport(path=path, format=file_format)
    report.header = statement_lines(stored.statements)
    report.counts = {
        "entries read": stored.entries,
        "transactions": stored.transactions,
        "already imported": stored.duplicates,
        "new payments": sum(len(ids) for ids in stored.payments.values()),
        "matched automatically": total("matched"),
        "matched partly": total("partly"),
        "reversed": total("reversed"),
        "sent to review": total("review"),
        "reversals sent to review": total("reversals_to_review"),
        "ignored": stored.ignored,
    }
    payment_ids = [pk for ids in stored.payments.values() for pk in ids]
    statement_currencies = sorted({statement.currency for statement in stored.statements if statement.currency})
    currencies = sorted(stored.currencies) or statement_currencies or ["EUR"]
    if len(currencies) == 1:
        (currency,) = currencies
        report.amounts = {
            f"matched automatically ({currency})": str(amount("matched_amount")),
            f"matched partly ({currency})": str(amount("partly_amount")),
            f"reversed ({currency})": str(amount("reversed_amount")),
            f"sent to review ({currency})": str(amount("review_amount")),
            f"reversals sent to review ({currency})": str(amount("reversals_to_review_amount")),
            f"credit left on payments ({currency})": str(amount("credit_amount")),
        }
    else:
        # The matching report adds up amounts of every currency, so each row is taken from the payments.
        for row, per_currency in amounts_per_currency(payment_ids).items():
            for currency, value in sorted(per_currency.items()):
                report.amounts[f"{row} ({currency})"] = str(value)
    ignored_currency = "/".join(statement_currencies) or currencies[0]
    report.amounts[f"ignored ({ignored_currency})"] = str(stored.ignored_amount)
    report.details = review_lines(payment_ids) if total("review") or total("reversals_to_review") else []
    report.notes = stored.notes + waiting_lines(payment_ids, matched_on)
    return report


def os_error_text(exc: OSError) -> str:
    """Return why a file cannot be read in the active language, or the system's English text for a rarer error."""
    if exc.errno == errno.ENOENT:
        return _("het bestand bestaat niet")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return _("geen leesrechten")
    if exc.errno == errno.EISDIR:
        return _("dit is een map, geen bestand")
    return exc.strerror or str(exc)


def statement_account_owners(statement: ParsedStatement) -> list[Creditor]:
    """Return the creditors whose IBAN is the statement's account, or ends in its domestic account number.

    The account is compared with the IBAN as written even when the reader did
    not take it for one, because a camt file may carry the IBAN under
    Acct/Id/Othr/Id instead of Acct/Id/IBAN.
    """
    owners = list(Creditor.objects.filter(iban__iexact=compact_iban(statement.account)))
    if owners or statement.account_is_iban:
        return owners
    return creditors_for_dutch_account(statement.account)


def reject_foreign_accounts(path: Path, statements: list[ParsedStatement], creditor: Creditor) -> None:
    """Raise ImportRejected when a statement's account is not the IBAN of `creditor`.

    A statement belongs to the creditor that owns its account. --creditor
    only chooses between creditors that own it (two banks can share a
    domestic account number), so a statement of someone else's account is
    rejected instead of being booked for the wrong creditor.
    """
    errors: list[RowError] = []
    for statement in statements:
        owners = statement_account_owners(statement)
        if creditor in owners:
            continue
        if not owners and (invalid_iban := invalid_iban_error(statement)) is not None:
            errors.append(invalid_iban)
            continue
        if owners:
            advice = _(
                "De rekening hoort bij crediteur %(owner)r: importeer het bestand zonder --creditor of met "
                "--creditor %(owner_slug)s."
            ) % {"owner": owners[0].slug, "owner_slug": owners[0].slug}
        else:
            advice = _(
                "Geen crediteur heeft deze rekening. Is het de rekening van %(creditor)s, stel haar dan in als IBAN "
                "van %(creditor)s met `betaalreis creditor load`. Voeg anders de crediteur toe die de rekening "
                "heeft en importeer het bestand zonder --creditor."
            ) % {"creditor": creditor.slug}
        errors.append(RowError(
            None, _("rekening"), statement.account,
            _("%(statement)s is van deze rekening, maar crediteur %(creditor)r heeft IBAN %(iban)s. %(advice)s") % {
                "statement": statement_name(statement),
                "creditor": creditor.slug,
                "iban": creditor.iban,
                "advice": advice,
            },
        ))
    if errors:
        raise ImportRejected(path, errors, ngettext(
            "%(count)d rekeningafschrift is van een rekening die niet de IBAN van crediteur %(creditor)r is.",
            "%(count)d rekeningafschriften zijn van een rekening die niet de IBAN van crediteur %(creditor)r is.",
            len(errors),
        ) % {"count": len(errors), "creditor": creditor.slug})


class _StatementImporter(Importer):
    # The statement's own account IBAN names the creditor. --creditor only
    # picks one of the creditors that own the account (see reject_foreign_accounts).
    needs_creditor: ClassVar[bool] = False

    def read(self, path: Path) -> list[ParsedStatement]:
        raise NotImplementedError

    def run(self, path: Path, creditor: Creditor | None, **options: object) -> ImportReport:
        """Import the file, match its new payments and return the report.

        With `dry_run=True` everything runs, matching included, inside a
        transaction that is rolled back, so the report previews the import.
        """
        try:
            statements = self.read(path)
        except StatementFileError as exc:
            raise ImportRejected(path, exc.errors, exc.summary) from exc
        except OSError as exc:
            raise ImportRejected(path, [], _(
                "het bestand kan niet worden gelezen: %(reason)s. Controleer het pad en de leesrechten."
            ) % {"reason": os_error_text(exc)}) from exc
        if creditor is not None:
            reject_foreign_accounts(path, statements, creditor)

        if not options.get("dry_run"):
            return self._import(path, statements, creditor)

        with transaction.atomic():
            report = self._import(path, statements, creditor)
            report.notes.append(_("proefdraai: er is niets opgeslagen"))
            transaction.set_rollback(True)
        return report

    def _import(self, path: Path, statements: list[ParsedStatement], creditor: Creditor | None) -> ImportReport:
        stored = store_statements(path, self.format, statements, creditor)

        today = timezone.localdate()
        matched: list[MatchReport] = []
        for creditor_id, payment_ids in stored.payments.items():
            if payment_ids:
                matched.append(match_payments(Creditor.objects.get(pk=creditor_id), payment_ids, booked_by=today))
        return build_report(path, self.format, stored, matched, matched_on=today)


class Camt05xImporter(_StatementImporter):
    """ISO 20022 camt.053 statements (.001.02 to .001.13) and camt.054 notifications."""

    format: ClassVar[str] = "camt.053/054"

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        if NAMESPACE_PATTERN.search(head) or b"BkToCstmrStmt" in head or b"BkToCstmrDbtCdtNtfctn" in head:
            return True
        # A file named .xml that is not XML at all (a CSV saved as .xml) is
        # claimed here so that it is rejected with an explanation.
        stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return path.suffix.lower() in XML_SUFFIXES and bool(stripped) and not stripped.startswith(b"<")

    def read(self, path: Path) -> list[ParsedStatement]:
        return read_camt(path)


class Mt940Importer(_StatementImporter):
    """SWIFT MT940 statements as ING, Rabobank, ABN AMRO, Triodos, bunq, Knab and ASN write them."""

    format: ClassVar[str] = "MT940"

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        return bool(MT940_HEAD.search(head)) and (b":25:" in head or b":60F:" in head)

    def read(self, path: Path) -> list[ParsedStatement]:
        return read_mt940(path)


class IngCsvImporter(_StatementImporter):
    """The ING Netherlands current-account CSV export, with or without balances."""

    format: ClassVar[str] = "ING CSV"

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        return looks_like_ing_csv(head)

    def read(self, path: Path) -> list[ParsedStatement]:
        return read_ing_csv(path)
