"""Applying an `ImportBatch` to the ledger: set-based, atomic, idempotent.

Lookups and writes go in batches (`IN` queries of at most CHUNK ids,
bulk_create, bulk_update), so the number of queries grows with the number
of chunks, not with the number of rows. The exceptions go through `do_*`
actions once per credit note: applying a new (or newly linked) credit note
to the invoice it corrects, and undoing the allocations of a credit note
that the file contradicts (`imports.credit_reallocation`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import NoReturn, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from betaalreis.dunning.limitation_holds import limitation_note
from betaalreis.dunning.models import ReopenCause
from betaalreis.dunning.reopening import do_record_raises, do_restart_dunning, reopened_due_date
from betaalreis.imports.credit_reallocation import (
    Reallocation,
    open_after_file,
    undo_for_import,
    undo_for_missing_credit_notes,
)
from betaalreis.imports.date_order import due_before_issue_note
from betaalreis.imports.headers import field_label
from betaalreis.imports.leading_zeros import restore_leading_zeros
from betaalreis.imports.models import ImportedInvoice
from betaalreis.imports.records import DebtorData, ImportBatch, InvoiceData
from betaalreis.imports.registry import ImportRejected, ImportReport, RowError, file_field, more_items
from betaalreis.imports.values import format_amount
from betaalreis.ledger.actions import do_apply_credit_note
from betaalreis.ledger.models import (
    PAYABLE_STATUS_CONDITION,
    ZERO,
    Allocation,
    Creditor,
    Debtor,
    DebtorBankAccount,
    DebtorKind,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.match_keys import fill_derived_keys
from betaalreis.ledger.money import format_money
from betaalreis.ledger.timeline import record_many

logger = logging.getLogger(__name__)

# Ids per IN (...) query, below the 999 parameters Django 5.2 allows a SQLite statement.
CHUNK = 900
BATCH_SIZE = 1000

# Fields copied from the file to the invoice when the file changes them.
_PLAIN_INVOICE_FIELDS = ("issue_date", "due_date", "total", "payment_reference", "description")

# Statuses that become paid when the open amount reaches zero, and the one
# that becomes open again when the source raises the open amount above zero.
_SETTLES_AT_ZERO = (
    InvoiceStatus.OPEN,
    InvoiceStatus.DISPUTED,
    InvoiceStatus.PAYMENT_PLAN,
    InvoiceStatus.HANDED_OVER,
    InvoiceStatus.WRITTEN_OFF,
)

# Statuses an open-items import settles when the file leaves the invoice out,
# and statuses it only names in the notes, because a payment plan or a
# collection agency follows those invoices outside the books.
_SETTLED_WHEN_MISSING = (InvoiceStatus.OPEN, InvoiceStatus.DISPUTED)
_NAMED_WHEN_MISSING = (InvoiceStatus.PAYMENT_PLAN, InvoiceStatus.HANDED_OVER)
_MAX_NAMED_NOTES = 20
# The skip reason of rows whose status marks the invoice as cancelled.
_VOID_REASON = "void"

T = TypeVar("T")


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


@dataclass
class _Counts:
    debtors_new: int = 0
    debtors_updated: int = 0
    invoices_new: int = 0
    credit_notes_new: int = 0
    invoices_changed: int = 0
    invoices_unchanged: int = 0
    credit_notes_applied: int = 0
    credit_notes_changed: int = 0
    credit_notes_linked_later: int = 0
    credit_notes_reallocated: int = 0
    bank_accounts_new: int = 0
    invoices_settled: int = 0
    settled_by_currency: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    notes: list[str] = field(default_factory=list)
    new_open_by_currency: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))


def do_import(
    creditor: Creditor,
    batch: ImportBatch,
    *,
    path: Path,
    dry_run: bool = False,
    open_items: bool = False,
) -> ImportReport:
    """Apply `batch`, read from `path`, to the ledger of `creditor` in one transaction.

    Raises ImportRejected, with nothing saved, when the batch has errors or
    conflicts with the ledger (an invoice number that belongs to another
    debtor, an invoice that turns into a credit note). With `dry_run` every
    check runs and the report is complete, but the transaction is rolled back.

    Without `open_items`, ledger invoices that the file leaves out are not
    touched. With it, the file is the creditor's complete list of open items
    (an accounting package's "openstaande posten" export), so open and
    disputed invoices missing from it were settled in the books: they are
    marked paid outside Betaalreis, each with a timeline event. Invoices in a
    payment plan or handed over are left as they are and named in the notes.
    """
    source = f"import:{path.name}"
    try:
        with transaction.atomic():
            # One import per creditor at a time, so two files with the same
            # new debtor cannot both try to create it.
            Creditor.objects.select_for_update().filter(pk=creditor.pk).exists()
            if batch.errors:
                _reject_with_every_error(creditor, batch, path=path)
            restore_leading_zeros(creditor, batch, path=path)
            counts = _apply(creditor, batch, path=path, source=source)
            if open_items:
                _settle_missing_open_items(creditor, batch, counts, path=path, source=source)
            # Inside the transaction, so a dry run also names the new invoices.
            note = limitation_note(
                creditor.pk, [data.number for data in batch.invoices], timezone.localdate()
            )
            if note:
                counts.notes.append(note)
            date_note = due_before_issue_note(batch.invoices)
            if date_note:
                counts.notes.append(date_note)
            if dry_run:
                transaction.set_rollback(True)
    except IntegrityError as exc:
        logger.warning("import failed on a constraint", extra={"creditor_id": creditor.pk, "error": str(exc)})
        raise ImportRejected(
            path,
            [RowError(None, file_field(), path.name, gettext(
                "de database heeft de import geweigerd, waarschijnlijk omdat een andere import voor "
                "deze crediteur tegelijk liep; importeer het bestand opnieuw als die klaar is"
            ))],
        ) from exc

    report = _report(batch, counts, path=path)
    if dry_run:
        report.notes.insert(0, gettext(
            "Proefdraai: er is niets opgeslagen. De notities hieronder zeggen wat een import zonder "
            "--dry-run zou opslaan."
        ))
    logger.info(
        "import applied",
        extra={
            "creditor_id": creditor.pk,
            "invoices_new": counts.invoices_new + counts.credit_notes_new,
            "invoices_changed": counts.invoices_changed,
            "invoices_settled": counts.invoices_settled,
            "dry_run": dry_run,
        },
    )
    return report


def _reject_with_every_error(creditor: Creditor, batch: ImportBatch, *, path: Path) -> NoReturn:
    """Raise ImportRejected with the file's errors plus those the ledger checks find in its good rows.

    The leading-zero and ledger checks run on the rows that were read
    without an error, so one run reports every bad row. The ledger checks
    are left out when the leading-zero check fails, because the numbers
    they would look up are not settled then.
    """
    errors = list(batch.errors)
    try:
        restore_leading_zeros(creditor, batch, path=path)
    except ImportRejected as exc:
        errors += exc.errors
    else:
        debtors, _referenced, existing = _ledger_records(creditor, batch)
        errors += _check_new_debtors(batch, debtors)
        errors += _check_invoice_conflicts(batch, existing)

    errors.sort(key=lambda error: error.row or 0)
    found = ngettext("%(count)d probleem gevonden.", "%(count)d problemen gevonden.", len(errors))
    raise ImportRejected(path, errors, found % {"count": len(errors)})


def _ledger_records(
    creditor: Creditor, batch: ImportBatch
) -> tuple[dict[str, Debtor], set[str], dict[str, Invoice]]:
    """Return the stored debtors and invoices that the batch names, and the invoice numbers it names."""
    debtors = _existing_debtors(creditor, list(batch.debtors))
    referenced = {invoice.number for invoice in batch.invoices}
    referenced |= {invoice.corrects_number for invoice in batch.invoices if invoice.corrects_number}
    existing = _existing_invoices(creditor, sorted(referenced))
    return debtors, referenced, existing


def _apply(creditor: Creditor, batch: ImportBatch, *, path: Path, source: str) -> _Counts:
    counts = _Counts()
    errors: list[RowError] = []

    debtors, referenced, existing = _ledger_records(creditor, batch)
    states = _import_states([invoice.pk for invoice in existing.values()])

    errors += _check_new_debtors(batch, debtors)
    errors += _check_invoice_conflicts(batch, existing)
    if errors:
        conflicts = ngettext(
            "%(count)d conflict met de gegevens in Betaalreis.", "%(count)d conflicten met de gegevens in Betaalreis.",
            len(errors),
        )
        raise ImportRejected(path, errors, conflicts % {"count": len(errors)})

    debtor_events = _write_debtors(creditor, batch.debtors, debtors, counts, source=source)
    debtors.update(_existing_debtors(creditor, [number for number in batch.debtors if number not in debtors]))

    # Credit note allocations the file contradicts are undone first, so the
    # file's values below apply to the amounts as they were before them.
    reallocation = undo_for_import(
        batch.invoices, existing, _file_changes(batch.invoices, existing, states), source=source
    )
    _count_reallocation(reallocation, counts)
    if reallocation.credit_notes:
        existing = _existing_invoices(creditor, sorted(referenced))

    new_invoices = _create_invoices(creditor, batch.invoices, existing, debtors, counts, source)
    changed_events = _update_invoices(
        batch.invoices, existing, states, counts, source=source, unbooked_credit=reallocation.unbooked_credit
    )
    # An invoice that an undo opened again restarts its dunning only if the file left it open.
    do_restart_dunning(
        [invoice for invoice in existing.values() if invoice.pk in reallocation.restart_later],
        cause=ReopenCause.CREDIT_NOTE_UNDONE,
        source=source,
    )
    all_invoices = {**existing, **new_invoices}
    linked_later = _link_credit_notes(batch.invoices, new_invoices, existing, all_invoices, counts)
    _release_held_credit_notes(batch.invoices, existing)

    _save_import_states(creditor, batch.invoices, all_invoices, states, source=source)
    _save_bank_accounts(creditor, batch.debtors.values(), debtors, counts)

    events = debtor_events + changed_events + _import_events(new_invoices, source=source)
    record_many(events)

    _apply_credit_notes(batch.invoices, {**new_invoices, **linked_later}, all_invoices, counts, source=source)
    return counts


def _count_reallocation(reallocation: Reallocation, counts: _Counts) -> None:
    counts.credit_notes_reallocated += reallocation.credit_notes
    counts.notes += reallocation.notes


def _file_changes(
    invoices: list[InvoiceData], existing: dict[str, Invoice], states: dict[int, ImportedInvoice]
) -> dict[str, set[str]]:
    """Return, per invoice number, the source fields whose file value differs from the last import."""
    candidates, _ = _changed_in_source(invoices, existing, states)
    _load_state_values([state for _, _, state in candidates if state is not None])
    changes: dict[str, set[str]] = {}
    for data, invoice, state in candidates:
        baseline = _baseline(invoice, state)
        changes[data.number] = {
            name for name, value in data.source_values().items() if value != baseline.get(name, value)
        }
    return changes


def _release_held_credit_notes(invoices: list[InvoiceData], existing: dict[str, Invoice]) -> None:
    """Let the daily run apply held credit notes again, now that the file states their open amount."""
    held_ids = [
        existing[data.number].pk
        for data in invoices
        if data.is_credit_note and data.number in existing and existing[data.number].allocation_held
    ]
    for chunk in _chunks(held_ids):
        Invoice.objects.filter(pk__in=chunk).update(allocation_held=False)


def _settle_missing_open_items(
    creditor: Creditor, batch: ImportBatch, counts: _Counts, *, path: Path, source: str
) -> None:
    """Mark paid the open invoices of `creditor` that an open-items file leaves out.

    An invoice the file lists as cancelled (void) is written off instead.
    Raises ImportRejected when the file would settle invoices while it
    lists none that the ledger already had: that is an empty export or a
    file of another creditor, not a list of open items.
    """
    cancelled = {invoice.number for invoice in batch.skipped.get(_VOID_REASON, [])}
    listed = {invoice.number for invoice in batch.invoices}
    listed |= {
        invoice.number
        for reason, skipped in batch.skipped.items()
        if reason != _VOID_REASON
        for invoice in skipped
    }
    listed_open_amounts = {invoice.number: invoice.open_amount for invoice in batch.invoices}
    _count_reallocation(
        undo_for_missing_credit_notes(creditor, listed, listed_open_amounts, source=source), counts
    )

    missing_ids = [pk for pk, number in open_items_candidates(creditor).values_list("pk", "number") if number not in listed]
    missing: list[Invoice] = []
    for chunk in _chunks(missing_ids):
        missing += Invoice.objects.filter(pk__in=chunk)
    missing.sort(key=lambda invoice: invoice.number)
    left_alone = [invoice for invoice in missing if invoice.status in _NAMED_WHEN_MISSING]
    settled = [invoice for invoice in missing if invoice.status in _SETTLED_WHEN_MISSING]

    known_in_file = counts.invoices_changed + counts.invoices_unchanged
    if settled and known_in_file == 0:
        problem = ngettext(
            "--open-items zou de enige openstaande factuur van crediteur %(creditor)r als betaald "
            "markeren, omdat het bestand die niet noemt; controleer --creditor en of de export "
            "volledig is, of importeer het bestand zonder --open-items",
            "--open-items zou alle %(count)d openstaande facturen van crediteur %(creditor)r als "
            "betaald markeren, omdat het bestand er geen van noemt; controleer --creditor en of de "
            "export volledig is, of importeer het bestand zonder --open-items",
            len(settled),
        ) % {"count": len(settled), "creditor": creditor.slug}
        raise ImportRejected(path, [RowError(None, file_field(), "", problem)])

    for invoice in left_alone[:_MAX_NAMED_NOTES]:
        counts.notes.append(gettext(
            "Factuur %(number)s staat niet in de openstaande posten, maar heeft de status "
            "%(status)s; ongewijzigd gelaten. Controleer de factuur zelf."
        ) % {"number": invoice.number, "status": invoice.get_status_display()})
    if len(left_alone) > _MAX_NAMED_NOTES:
        more = len(left_alone) - _MAX_NAMED_NOTES
        counts.notes.append(ngettext(
            "… en nog %(count)d zo'n factuur.", "… en nog %(count)d van zulke facturen.", more,
        ) % {"count": more})

    now = timezone.now()
    events: list[TimelineEvent] = []
    for invoice in settled:
        old_open, old_status = invoice.open_amount, invoice.status
        was_open = format_money(old_open, invoice.currency)
        invoice.open_amount = ZERO
        invoice.updated_at = now
        if invoice.number in cancelled:
            invoice.status = InvoiceStatus.WRITTEN_OFF
            summary = f"Factuur {invoice.number} is in de boekhouding geannuleerd: afgeboekt (was {was_open} open)"
            reason = "cancelled_in_open_items"
        else:
            invoice.status = InvoiceStatus.CREDITED if invoice.is_credit_note else InvoiceStatus.PAID
            summary = (
                f"Factuur {invoice.number} staat niet meer in de openstaande posten: "
                f"voldaan buiten Betaalreis (was {was_open} open)"
            )
            reason = "missing_from_open_items"
        counts.settled_by_currency[invoice.currency] += old_open
        events.append(TimelineEvent(
            creditor_id=creditor.pk,
            debtor_id=invoice.debtor_id,
            invoice=invoice,
            kind=TimelineKind.INVOICE_CHANGED,
            source=source[:300],
            summary=summary[:500],
            data={
                "changes": {
                    "open_amount": {"old": str(old_open), "new": str(ZERO)},
                    "status": {"old": old_status, "new": invoice.status},
                },
                "reason": reason,
            },
            at=now,
        ))

    if settled:
        numbers = ", ".join(invoice.number for invoice in settled[:_MAX_NAMED_NOTES])
        if len(settled) > _MAX_NAMED_NOTES:
            numbers = more_items(numbers, len(settled) - _MAX_NAMED_NOTES)
        counts.notes.append(gettext(
            "Als betaald of afgeboekt gemarkeerd, omdat de openstaande posten ze weglaten of annuleren: "
            "%(numbers)s."
        ) % {"numbers": numbers})

    events += _waived_charges([invoice for invoice in settled if not invoice.is_credit_note], source=source)
    Invoice.objects.bulk_update(settled, ["open_amount", "status", "updated_at"], batch_size=BATCH_SIZE)
    _forget_import_states([invoice.pk for invoice in settled])
    record_many(events)
    counts.invoices_settled = len(settled)


def open_items_candidates(creditor: Creditor) -> QuerySet[Invoice]:
    """Return the creditor's invoices that an open-items import settles or names when the file leaves them out.

    These statuses are all payable, so the payable condition changes no
    result. It lets SQLite read the invoices by the partial status index,
    which SQLite 3.40 did only without the join that the model's ordering
    by creditor adds, so the query has no order.
    """
    return (
        Invoice.objects.filter(
            PAYABLE_STATUS_CONDITION, creditor=creditor, status__in=_SETTLED_WHEN_MISSING + _NAMED_WHEN_MISSING
        )
        .exclude(open_amount=ZERO)
        .order_by()
    )


def _waived_charges(closed: list[Invoice], *, source: str) -> list[TimelineEvent]:
    """Return timeline events for the costs and interest of charged invoices that this import closes.

    Call it before the closing is written, while the ledger still has the
    invoices open. The creditor's books closed the invoice, so Betaalreis
    stops claiming its costs and interest and records what it waives.
    """
    from betaalreis.dunning.charges import unpaid_charges, waived_charges_events

    if not closed:
        return []
    creditor_id = closed[0].creditor_id
    today = timezone.localdate()
    charges = unpaid_charges(creditor_id, {invoice.pk: today for invoice in closed})
    return waived_charges_events(charges, {}, closed_by="import", source=source, creditor_id=creditor_id)


def _forget_import_states(invoice_ids: list[int]) -> None:
    """Drop the last-import baseline, so a file that lists the invoice again reopens it.

    Without a baseline the next import compares with the ledger, whose open
    amount is now zero, and applies the file's open amount as a change.
    """
    for chunk in _chunks(invoice_ids):
        ImportedInvoice.objects.filter(invoice_id__in=chunk).delete()


def _existing_debtors(creditor: Creditor, numbers: list[str]) -> dict[str, Debtor]:
    found: dict[str, Debtor] = {}
    for chunk in _chunks(numbers):
        for debtor in Debtor.objects.filter(creditor=creditor, customer_number__in=chunk):
            found[debtor.customer_number] = debtor
    return found


def _existing_invoices(creditor: Creditor, numbers: list[str]) -> dict[str, Invoice]:
    found: dict[str, Invoice] = {}
    for chunk in _chunks(numbers):
        rows = Invoice.objects.filter(creditor=creditor, number__in=chunk).annotate(
            debtor_number=F("debtor__customer_number")
        )
        for invoice in rows:
            found[invoice.number] = invoice
    return found


def _import_states(invoice_ids: list[int]) -> dict[int, ImportedInvoice]:
    """Return the import state of each invoice without its values.

    Most invoices of a re-import are unchanged, so only their fingerprints
    are read here; `_load_state_values` reads the values of the others.
    """
    found: dict[int, ImportedInvoice] = {}
    for chunk in _chunks(invoice_ids):
        rows = ImportedInvoice.objects.filter(invoice_id__in=chunk).values_list("pk", "invoice_id", "fingerprint")
        for pk, invoice_id, fingerprint in rows:
            found[invoice_id] = ImportedInvoice(pk=pk, invoice_id=invoice_id, fingerprint=fingerprint, values={})
    return found


def _load_state_values(states: list[ImportedInvoice]) -> None:
    by_pk = {state.pk: state for state in states if not state.values}
    for chunk in _chunks(list(by_pk)):
        for pk, values in ImportedInvoice.objects.filter(pk__in=chunk).values_list("pk", "values"):
            by_pk[pk].values = values


def _check_new_debtors(batch: ImportBatch, existing: dict[str, Debtor]) -> list[RowError]:
    return [
        RowError(
            debtor.row, batch.field_name("name"), "",
            gettext("debiteur %(number)s is nieuw en heeft geen naam; vul de naam in het bestand in")
            % {"number": debtor.customer_number},
        )
        for debtor in batch.debtors.values()
        if debtor.customer_number not in existing and not debtor.name
    ]


def _check_invoice_conflicts(batch: ImportBatch, existing: dict[str, Invoice]) -> list[RowError]:
    errors: list[RowError] = []
    for data in batch.invoices:
        invoice = existing.get(data.number)
        if invoice is None:
            continue

        if invoice.debtor_number != data.customer_number:  # type: ignore[attr-defined]
            errors.append(RowError(
                data.row, batch.field_name("customer_number"), data.customer_number,
                gettext(
                    "factuur %(number)s hoort al bij debiteur %(debtor)s; een factuurnummer is uniek "
                    "per crediteur, dus verbeter het factuurnummer of de debiteur"
                ) % {"number": data.number, "debtor": invoice.debtor_number},  # type: ignore[attr-defined]
            ))
        if invoice.is_credit_note != data.is_credit_note:
            if invoice.is_credit_note:
                problem = gettext(
                    "%(number)s is opgeslagen als creditnota; een bestand kan een creditnota niet in een "
                    "factuur veranderen, dus geef de factuur een eigen nummer"
                )
            else:
                problem = gettext(
                    "%(number)s is opgeslagen als factuur; een bestand kan een factuur niet in een "
                    "creditnota veranderen, dus geef de creditnota een eigen nummer"
                )
            errors.append(RowError(
                data.row, batch.field_name("total"), str(data.total), problem % {"number": data.number},
            ))
        if invoice.currency != data.currency:
            errors.append(RowError(
                data.row, batch.field_name("currency"), data.currency,
                gettext(
                    "factuur %(number)s is opgeslagen in %(currency)s; Betaalreis rekent geen valuta "
                    "om, dus verbeter de valuta in het bestand"
                ) % {"number": data.number, "currency": invoice.currency},
            ))
    return errors


def _write_debtors(
    creditor: Creditor,
    debtors: dict[str, DebtorData],
    existing: dict[str, Debtor],
    counts: _Counts,
    *,
    source: str,
) -> list[TimelineEvent]:
    """Create new debtors and update the fields that changed; return timeline events."""
    new: list[Debtor] = []
    changed: list[Debtor] = []
    changed_fields: set[str] = set()
    events: list[TimelineEvent] = []

    inferred: Counter[str] = Counter()
    kept_consumers: list[str] = []
    # New debtors stored with the model's default kind, consumer, because
    # the file gives no kind and nothing in it points to a business.
    default_consumers = 0

    for number, data in debtors.items():
        values = data.given_values()
        debtor = existing.get(number)
        if debtor is None:
            values.setdefault("language", creditor.default_language)
            new_debtor = Debtor(creditor=creditor, customer_number=number, **values)
            _record_agreement_source(new_debtor, source)
            new.append(new_debtor)
            if data.legal_form:
                inferred[data.legal_form] += 1
            if not data.kind:
                default_consumers += 1
            continue

        # A kind guessed from the name never overrides the stored kind,
        # which a user may have set on purpose.
        if data.legal_form:
            del values["kind"]
            if debtor.kind == DebtorKind.CONSUMER:
                kept_consumers.append(number)
        differences = {name: value for name, value in values.items() if getattr(debtor, name) != value}
        if not differences:
            continue
        for name, value in differences.items():
            setattr(debtor, name, value)
        if "electronic_agreement" in differences:
            _record_agreement_source(debtor, source)
            changed_fields |= {"electronic_agreement_at", "electronic_agreement_source"}
        debtor.updated_at = timezone.now()
        changed.append(debtor)
        changed_fields |= set(differences)
        events.append(TimelineEvent(
            creditor=creditor,
            debtor=debtor,
            kind=TimelineKind.IMPORT,
            source=source,
            summary=f"Gegevens bijgewerkt uit import: {', '.join(sorted(differences))}"[:500],
            data={"changed_fields": sorted(differences)},
            at=timezone.now(),
        ))

    Debtor.objects.bulk_create(new, batch_size=BATCH_SIZE)
    if changed:
        derived = fill_derived_keys(changed, changed_fields)
        Debtor.objects.bulk_update(changed, sorted(changed_fields | {"updated_at", *derived}), batch_size=BATCH_SIZE)
    counts.debtors_new = len(new)
    counts.debtors_updated = len(changed)
    counts.notes += _legal_form_notes(inferred, kept_consumers, default_consumers)
    return events


def _legal_form_notes(inferred: Counter[str], kept_consumers: list[str], default_consumers: int) -> list[str]:
    notes: list[str] = []
    if default_consumers:
        notes.append(ngettext(
            "%(count)d nieuwe debiteur als consument opgeslagen, voor wie de veertiendagenbrief geldt: het "
            "bestand noemt geen soort (consument/zakelijk) en geen bedrijfsnaam, KvK-nummer, btw-nummer of "
            "rechtsvorm aan het eind van de naam (zoals B.V. of GmbH).",
            "%(count)d nieuwe debiteuren als consument opgeslagen, voor wie de veertiendagenbrief geldt: het "
            "bestand noemt geen soort (consument/zakelijk) en geen bedrijfsnaam, KvK-nummer, btw-nummer of "
            "rechtsvorm aan het eind van de naam (zoals B.V. of GmbH).",
            default_consumers,
        ) % {"count": default_consumers})
    if inferred:
        forms = ", ".join(f"{form}: {count}" for form, count in inferred.most_common())
        notes.append(ngettext(
            "%(count)d nieuwe debiteur als bedrijf opgeslagen omdat de naam eindigt op een rechtsvorm "
            "(%(forms)s): het bestand heeft geen kolom consument/zakelijk.",
            "%(count)d nieuwe debiteuren als bedrijf opgeslagen omdat hun naam eindigt op een rechtsvorm "
            "(%(forms)s): het bestand heeft geen kolom consument/zakelijk.",
            inferred.total(),
        ) % {"count": inferred.total(), "forms": forms})
    if kept_consumers:
        numbers = ", ".join(kept_consumers[:_MAX_NAMED_NOTES])
        if len(kept_consumers) > _MAX_NAMED_NOTES:
            numbers = more_items(numbers, len(kept_consumers) - _MAX_NAMED_NOTES)
        notes.append(gettext(
            "Als consument opgeslagen, hoewel de naam eindigt op een rechtsvorm zoals B.V.: debiteuren "
            "%(numbers)s. Zijn het bedrijven, verander dan hun soort in de backoffice."
        ) % {"numbers": numbers})
    return notes


def _status_for_new(data: InvoiceData) -> str:
    if data.open_amount != ZERO:
        return InvoiceStatus.OPEN
    return InvoiceStatus.CREDITED if data.is_credit_note else InvoiceStatus.PAID


def _create_invoices(
    creditor: Creditor,
    invoices: list[InvoiceData],
    existing: dict[str, Invoice],
    debtors: dict[str, Debtor],
    counts: _Counts,
    source: str,
) -> dict[str, Invoice]:
    """Create the invoices the ledger does not have yet and return them by number."""
    new = [
        Invoice(
            creditor=creditor,
            debtor=debtors[data.customer_number],
            number=data.number,
            kind=InvoiceKind.CREDIT_NOTE if data.is_credit_note else InvoiceKind.INVOICE,
            issue_date=data.issue_date,
            due_date=data.due_date,
            currency=data.currency,
            total=data.total,
            open_amount=data.open_amount,
            payment_reference=data.payment_reference,
            description=data.description[:500],
            status=_status_for_new(data),
            source=source[:300],
        )
        for data in invoices
        if data.number not in existing
    ]
    Invoice.objects.bulk_create(new, batch_size=BATCH_SIZE)

    for invoice in new:
        if invoice.is_credit_note:
            counts.credit_notes_new += 1
        else:
            counts.invoices_new += 1
        counts.new_open_by_currency[invoice.currency] += invoice.open_amount

    # Read the rows back for their ids: Django's bulk_create sets them on
    # SQLite only from SQLite 3.35 on.
    created = _existing_invoices(creditor, [invoice.number for invoice in new])
    return created


def _baseline(invoice: Invoice, state: ImportedInvoice | None) -> dict[str, str]:
    """Return the source values of the last import, or the ledger values if never imported."""
    if state is not None:
        return state.values
    return {
        "issue_date": invoice.issue_date.isoformat() if invoice.issue_date is not None else "",
        "due_date": invoice.due_date.isoformat(),
        "total": str(invoice.total),
        "open_amount": str(invoice.open_amount),
        "payment_reference": invoice.payment_reference,
        "description": invoice.description,
        "corrects_number": "",
    }


def _invoices_with_allocations(invoice_ids: list[int]) -> set[int]:
    """Return the invoices that received money and the credit notes that paid invoices."""
    found: set[int] = set()
    for chunk in _chunks(invoice_ids):
        found |= set(
            Allocation.objects.filter(invoice_id__in=chunk).values_list("invoice_id", flat=True)
        )
        found |= set(
            Allocation.objects.filter(credit_note_id__in=chunk).values_list("credit_note_id", flat=True)
        )
    return found


def _changed_in_source(
    invoices: list[InvoiceData], existing: dict[str, Invoice], states: dict[int, ImportedInvoice]
) -> tuple[list[tuple[InvoiceData, Invoice, ImportedInvoice | None]], int]:
    """Return the file rows of ledger invoices whose fingerprint changed, and how many did not change."""
    candidates: list[tuple[InvoiceData, Invoice, ImportedInvoice | None]] = []
    unchanged = 0
    for data in invoices:
        invoice = existing.get(data.number)
        if invoice is None:
            continue
        state = states.get(invoice.pk)
        if state is not None and state.fingerprint == data.fingerprint():
            unchanged += 1
            continue
        candidates.append((data, invoice, state))
    return candidates, unchanged


def _update_invoices(
    invoices: list[InvoiceData],
    existing: dict[str, Invoice],
    states: dict[int, ImportedInvoice],
    counts: _Counts,
    *,
    source: str,
    unbooked_credit: dict[int, Decimal] | None = None,
) -> list[TimelineEvent]:
    """Apply what changed in the source since its last import; return timeline events.

    `unbooked_credit` maps an invoice id to the credit note amounts applied to
    it that the books have not booked yet, which stay deducted from the
    file's open amount.
    """
    candidates, unchanged = _changed_in_source(invoices, existing, states)
    counts.invoices_unchanged += unchanged

    _load_state_values([state for _, _, state in candidates if state is not None])
    allocated = _invoices_with_allocations([invoice.pk for _, invoice, _ in candidates])
    changed: list[Invoice] = []
    events: list[TimelineEvent] = []
    now = timezone.now()
    closed: list[Invoice] = []
    reopened: list[Invoice] = []
    raised: list[tuple[Invoice, Decimal]] = []
    for data, invoice, state in candidates:
        baseline = _baseline(invoice, state)
        was_open = invoice.open_amount > ZERO
        credit = (unbooked_credit or {}).get(invoice.pk, ZERO)
        event = _apply_changes(data, invoice, baseline, invoice.pk in allocated, counts, source, credit)
        if event is None:
            counts.invoices_unchanged += 1
            continue
        # bulk_update does not run auto_now, so the time is set here.
        invoice.updated_at = now
        changed.append(invoice)
        events.append(event)
        if was_open and invoice.open_amount == ZERO:
            closed.append(invoice)
        changes = event.data["changes"]
        if changes.get("status", {}).get("new") == InvoiceStatus.OPEN:
            reopened.append(invoice)
        elif was_open and "open_amount" in changes:
            raised.append((invoice, invoice.open_amount - Decimal(changes["open_amount"]["old"])))

    events += _waived_charges(closed, source=source)
    fields = [*_PLAIN_INVOICE_FIELDS, "open_amount", "status", "updated_at"]
    Invoice.objects.bulk_update(changed, fields, batch_size=BATCH_SIZE)
    counts.invoices_changed = len(changed)
    # The file requests money of an invoice that was closed, which the debtor
    # had no reason to pay, so its dunning and claim start again.
    do_restart_dunning(reopened, cause=ReopenCause.IMPORT, source=source)
    for record in do_record_raises(raised, source=source):
        counts.notes.append(gettext(
            "Factuur %(number)s is na de veertiendagenbrief verhoogd (%(open)s open). De volgende aanmaning "
            "is een nieuwe veertiendagenbrief; tot de termijn daarvan verstrijkt, gelden incassokosten alleen "
            "over het bedrag dat de vorige brief noemde."
        ) % {"number": record.invoice.number, "open": format_amount(record.invoice.open_amount)})
    return events


def _apply_changes(
    data: InvoiceData,
    invoice: Invoice,
    baseline: dict[str, str],
    has_allocations: bool,
    counts: _Counts,
    source: str,
    unbooked_credit: Decimal = ZERO,
) -> TimelineEvent | None:
    """Change `invoice` in memory where the source changed; return its timeline event."""
    new_values = data.source_values()
    changes: dict[str, dict[str, str]] = {}
    old_total = invoice.total

    for name in _PLAIN_INVOICE_FIELDS:
        if new_values[name] == baseline.get(name):
            continue
        # A file without the invoice date keeps the stored one.
        if name == "issue_date" and data.issue_date is None:
            continue
        old = getattr(invoice, name)
        setattr(invoice, name, getattr(data, name))
        if str(old) != str(getattr(invoice, name)):
            changes[name] = {"old": str(old), "new": str(getattr(invoice, name))}

    # With allocations, a new total alone changes what is open: total less what was received.
    if new_values["open_amount"] != baseline.get("open_amount") or (has_allocations and "total" in changes):
        _change_open_amount(data, invoice, old_total, has_allocations, changes, counts, unbooked_credit)

    if not changes:
        return None

    details: list[str] = []
    if invoice.is_credit_note:
        _note_credit_note_change(invoice, changes, counts)
    if "total" in changes:
        was_total = format_money(Decimal(changes["total"]["old"]), invoice.currency)
        details.append(f"totaal {was_total} → {format_money(invoice.total, invoice.currency)}")
    if "open_amount" in changes:
        old_open = format_money(Decimal(changes["open_amount"]["old"]), invoice.currency)
        new_open = format_money(invoice.open_amount, invoice.currency)
        details.append(f"openstaand {old_open} → {new_open}")
    if changes.get("status", {}).get("new") == InvoiceStatus.OPEN:
        details.append("weer open")
    document = "Creditnota" if invoice.is_credit_note else "Factuur"
    summary = f"{document} {invoice.number} gewijzigd door import"
    if details:
        summary += ": " + ", ".join(details)
    return TimelineEvent(
        creditor_id=invoice.creditor_id,
        debtor_id=invoice.debtor_id,
        invoice=invoice,
        kind=TimelineKind.INVOICE_CHANGED,
        source=source[:300],
        summary=summary[:500],
        data={"changes": changes},
        at=timezone.now(),
    )


def _note_credit_note_change(invoice: Invoice, changes: dict[str, dict[str, str]], counts: _Counts) -> None:
    """Count a change to an existing credit note, and name its amounts in the import report.

    A credit note lowers what its debtor owes, so a file that changes its
    amounts changes the claim. The report names it, because a document with
    the same number from another source would otherwise change it unseen.
    """
    counts.credit_notes_changed += 1
    amounts = [
        f"{field_label(name)} {format_amount(Decimal(changes[name]['old']))} -> "
        f"{format_amount(Decimal(changes[name]['new']))}"
        for name in ("total", "open_amount")
        if name in changes
    ]
    if amounts:
        counts.notes.append(gettext(
            "Creditnota %(number)s is door dit bestand gewijzigd: %(amounts)s. Controleer of het "
            "bestand deze creditnota verbetert; een ander document heeft een eigen nummer nodig."
        ) % {"number": invoice.number, "amounts": ", ".join(amounts)})


def _change_open_amount(
    data: InvoiceData,
    invoice: Invoice,
    old_total: Decimal,
    has_allocations: bool,
    changes: dict[str, dict[str, str]],
    counts: _Counts,
    unbooked_credit: Decimal = ZERO,
) -> None:
    old_open, old_status = invoice.open_amount, invoice.status
    new_open = data.open_amount
    if has_allocations:
        new_open = _open_after_allocations(data, invoice, old_total, counts, unbooked_credit)

    invoice.open_amount = new_open
    if new_open == ZERO and invoice.status in _SETTLES_AT_ZERO:
        invoice.status = InvoiceStatus.CREDITED if invoice.is_credit_note else InvoiceStatus.PAID
    elif new_open != ZERO and invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
        invoice.status = InvoiceStatus.OPEN

    if new_open != old_open:
        changes["open_amount"] = {"old": str(old_open), "new": str(new_open)}
    if invoice.status != old_status:
        changes["status"] = {"old": old_status, "new": invoice.status}
        if invoice.status == InvoiceStatus.OPEN and not invoice.is_credit_note:
            # The restart in `_update_invoices` gives the amount this due date.
            due = reopened_due_date(invoice, timezone.localdate())
            counts.notes.append(gettext(
                "Factuur %(number)s staat weer open (%(open)s). De aanmaningen beginnen opnieuw: het bedrag "
                "vervalt op %(due)s. De volgende run verrekent eerst het tegoed van de debiteur en maant "
                "daarna aan wat overblijft."
            ) % {"number": invoice.number, "open": format_amount(new_open), "due": formats.date_format(due)})


def _document_word(invoice: Invoice) -> str:
    return gettext("Creditnota") if invoice.is_credit_note else gettext("Factuur")


def _open_after_allocations(
    data: InvoiceData, invoice: Invoice, old_total: Decimal, counts: _Counts, unbooked_credit: Decimal = ZERO
) -> Decimal:
    """Return what is open of an invoice with allocations, now that the file states new amounts.

    `open_after_file` computes it. That way a total raised after payment
    leaves the difference open, a payment the books have not booked yet
    does not reopen the invoice, and credit the books have not booked yet
    (`unbooked_credit`) stays deducted.
    """
    total = abs(data.total)
    received_by_books = total - abs(data.open_amount)
    received_here = abs(old_total) - abs(invoice.open_amount) - unbooked_credit
    left = open_after_file(data, old_total, invoice.open_amount, unbooked_credit)
    sign = -1 if data.is_credit_note else 1
    document = _document_word(invoice)

    if left < ZERO:
        # NOTE: the allocations stay as they are, so the excess does not become
        # credit of the debtor that the daily run could apply elsewhere.
        counts.notes.append(gettext(
            "%(document)s %(number)s: Betaalreis heeft %(received)s ontvangen of verrekend, %(excess)s "
            "meer dan het nieuwe totaal %(total)s uit het bestand. Het openstaand bedrag is 0,00; het "
            "verschil is geen tegoed geworden, dus beslis zelf of u het terugbetaalt of verrekent."
        ) % {
            "document": document, "number": invoice.number, "received": format_amount(received_here),
            "excess": format_amount(-left), "total": format_amount(total),
        })
        return ZERO
    if received_here > received_by_books:
        counts.notes.append(gettext(
            "%(document)s %(number)s: het bestand geeft totaal %(total)s met %(file_open)s open, maar "
            "Betaalreis heeft %(received)s ontvangen of verrekend, waarvan de boekhouding %(unbooked)s nog "
            "niet heeft geboekt. Openstaand is nu %(open)s: het totaal min wat ontvangen is."
        ) % {
            "document": document, "number": invoice.number, "total": format_amount(total),
            "file_open": format_amount(abs(data.open_amount)), "received": format_amount(received_here),
            "unbooked": format_amount(received_here - received_by_books), "open": format_amount(left),
        })
    if unbooked_credit > ZERO:
        counts.notes.append(gettext(
            "%(document)s %(number)s: het bestand geeft %(file_open)s open, maar de boekhouding heeft "
            "%(credit)s van creditnota's die Betaalreis ermee verrekende nog niet geboekt. Die verrekening "
            "blijft staan, dus openstaand is nu %(open)s."
        ) % {
            "document": document, "number": invoice.number, "file_open": format_amount(abs(data.open_amount)),
            "credit": format_amount(unbooked_credit), "open": format_amount(left),
        })
    return sign * left


def _corrected_invoice(data: InvoiceData, all_invoices: dict[str, Invoice]) -> Invoice | None:
    """Return the ledger invoice a credit note corrects; never itself or another credit note."""
    if not data.corrects_number or data.corrects_number == data.number:
        return None
    target = all_invoices.get(data.corrects_number)
    return target if target is not None and not target.is_credit_note else None


def _link_credit_notes(
    invoices: list[InvoiceData],
    new: dict[str, Invoice],
    existing: dict[str, Invoice],
    all_invoices: dict[str, Invoice],
    counts: _Counts,
) -> dict[str, Invoice]:
    """Point each new or unlinked credit note at the invoice it corrects, when the ledger has it.

    Returns the credit notes from earlier imports that this file links, so
    they are applied to their invoice like new ones.
    """
    linked: list[Invoice] = []
    linked_later: dict[str, Invoice] = {}
    for data in invoices:
        credit_note = new.get(data.number)
        if credit_note is None:
            credit_note = existing.get(data.number)
            if credit_note is None or credit_note.corrects_id is not None:
                continue
            is_new = False
        else:
            is_new = True
        if not credit_note.is_credit_note:
            continue
        if data.corrects_number == data.number:
            if not is_new:
                continue
            counts.notes.append(gettext(
                "Creditnota %(number)s verwijst naar een factuur met haar eigen nummer; Betaalreis "
                "houdt één document per nummer bij, dus is ze niet gekoppeld."
            ) % {"number": data.number})
            continue
        target = _corrected_invoice(data, all_invoices)
        if target is None:
            continue
        credit_note.corrects = target
        linked.append(credit_note)
        if not is_new:
            linked_later[data.number] = credit_note
            counts.notes.append(
                gettext("Creditnota %(number)s is nu gekoppeld aan factuur %(invoice)s.")
                % {"number": data.number, "invoice": target.number}
            )
    Invoice.objects.bulk_update(linked, ["corrects"], batch_size=BATCH_SIZE)
    counts.credit_notes_linked_later = len(linked_later)
    return linked_later


def _apply_credit_notes(
    invoices: list[InvoiceData],
    credit_notes: dict[str, Invoice],
    all_invoices: dict[str, Invoice],
    counts: _Counts,
    *,
    source: str,
) -> None:
    """Apply each credit note in `credit_notes` to the open invoice of the same debtor it corrects."""
    for data in invoices:
        credit_note = credit_notes.get(data.number)
        target = _corrected_invoice(data, all_invoices)
        if credit_note is None or target is None or not credit_note.is_credit_note:
            continue
        if target.debtor_id != credit_note.debtor_id:
            counts.notes.append(gettext(
                "Creditnota %(number)s hoort bij factuur %(invoice)s van een andere debiteur; ze is "
                "gekoppeld maar niet verrekend."
            ) % {"number": data.number, "invoice": target.number})
            continue
        if do_apply_credit_note(credit_note, target, source=source) is not None:
            counts.credit_notes_applied += 1


def _save_import_states(
    creditor: Creditor,
    invoices: list[InvoiceData],
    all_invoices: dict[str, Invoice],
    states: dict[int, ImportedInvoice],
    *,
    source: str,
) -> None:
    now = timezone.now()
    new: list[ImportedInvoice] = []
    changed: list[ImportedInvoice] = []
    for data in invoices:
        invoice = all_invoices[data.number]
        fingerprint = data.fingerprint()
        state = states.get(invoice.pk)
        if state is None:
            new.append(ImportedInvoice(
                creditor=creditor, invoice=invoice, fingerprint=fingerprint,
                values=data.source_values(), source=source[:300], imported_at=now,
            ))
        elif state.fingerprint != fingerprint:
            state.fingerprint = fingerprint
            state.values = data.source_values()
            state.source = source[:300]
            state.imported_at = now
            changed.append(state)

    ImportedInvoice.objects.bulk_create(new, batch_size=BATCH_SIZE)
    ImportedInvoice.objects.bulk_update(
        changed, ["fingerprint", "values", "source", "imported_at"], batch_size=BATCH_SIZE
    )


def _save_bank_accounts(
    creditor: Creditor, debtors: Iterable[DebtorData], stored: dict[str, Debtor], counts: _Counts
) -> None:
    accounts = [(stored[data.customer_number], iban) for data in debtors for iban in data.ibans]
    if not accounts:
        return

    known: set[tuple[int, str]] = set()
    debtor_ids = sorted({debtor.pk for debtor, _ in accounts})
    for chunk in _chunks(debtor_ids):
        known |= set(
            DebtorBankAccount.objects.filter(creditor=creditor, debtor_id__in=chunk).values_list(
                "debtor_id", "iban"
            )
        )
    new = [
        DebtorBankAccount(creditor=creditor, debtor=debtor, iban=iban, source="import")
        for debtor, iban in accounts
        if (debtor.pk, iban) not in known
    ]
    DebtorBankAccount.objects.bulk_create(new, batch_size=BATCH_SIZE, ignore_conflicts=True)
    counts.bank_accounts_new = len(new)


def _record_agreement_source(debtor: Debtor, source: str) -> None:
    """Date an agreement to electronic communication that the import gives, or clear the date when it withdraws one."""
    if debtor.electronic_agreement:
        debtor.electronic_agreement_at = timezone.now()
        debtor.electronic_agreement_source = source[:300]
    else:
        debtor.electronic_agreement_at = None
        debtor.electronic_agreement_source = ""


def _import_events(new: dict[str, Invoice], *, source: str) -> list[TimelineEvent]:
    """Return one timeline event per debtor that lists its new invoices."""
    by_debtor: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in new.values():
        by_debtor[invoice.debtor_id].append(invoice)

    events: list[TimelineEvent] = []
    now = timezone.now()
    for debtor_id, invoices in by_debtor.items():
        invoices.sort(key=lambda invoice: invoice.number)
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in invoices:
            totals[invoice.currency] += invoice.open_amount
        amounts = ", ".join(format_money(amount, currency) for currency, amount in totals.items())
        numbers = ", ".join(invoice.number for invoice in invoices[:20])
        if len(invoices) > 20:
            numbers += f" en {len(invoices) - 20} meer"
        # The timeline is written in Dutch whatever the report language, so no ngettext.
        invoice_noun = "factuur" if len(invoices) == 1 else "facturen"
        events.append(TimelineEvent(
            creditor_id=invoices[0].creditor_id,
            debtor_id=debtor_id,
            kind=TimelineKind.IMPORT,
            source=source[:300],
            summary=f"{len(invoices)} {invoice_noun} geïmporteerd ({numbers}), openstaand {amounts}"[:500],
            data={
                "invoices": [invoice.number for invoice in invoices],
                "open_amounts": {currency: str(amount) for currency, amount in totals.items()},
            },
            at=now,
        ))
    return events


def _report(batch: ImportBatch, counts: _Counts, *, path: Path) -> ImportReport:
    report = ImportReport(path=path, format=batch.format)
    report.counts = {
        "rows": batch.rows,
        "invoices new": counts.invoices_new,
        "credit notes new": counts.credit_notes_new,
        "invoices changed": counts.invoices_changed,
        "invoices unchanged": counts.invoices_unchanged,
        "credit notes applied": counts.credit_notes_applied,
        "debtors new": counts.debtors_new,
        "debtors updated": counts.debtors_updated,
        "bank accounts new": counts.bank_accounts_new,
    }
    if counts.credit_notes_changed:
        report.counts["credit notes changed"] = counts.credit_notes_changed
    if counts.credit_notes_linked_later:
        report.counts["credit notes linked to an earlier import"] = counts.credit_notes_linked_later
    if counts.credit_notes_reallocated:
        report.counts["credit notes re-allocated"] = counts.credit_notes_reallocated
    if counts.invoices_settled:
        report.counts["invoices settled (not in open items)"] = counts.invoices_settled
    for currency, amount in sorted(counts.settled_by_currency.items()):
        report.amounts[f"settled, not in open items ({currency})"] = str(amount)
    for reason, skipped in batch.skipped.items():
        report.counts[f"skipped: {reason}"] = len(skipped)
        skipped_totals: dict[str, Decimal] = defaultdict(Decimal)
        for invoice in skipped:
            skipped_totals[invoice.currency] += invoice.open_amount
        for currency, amount in sorted(skipped_totals.items()):
            report.amounts[f"skipped {reason} ({currency})"] = str(amount)

    file_totals: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in batch.invoices:
        file_totals[invoice.currency] += invoice.open_amount
    for currency, amount in sorted(file_totals.items()):
        report.amounts[f"open in file ({currency})"] = str(amount)
    for currency, amount in sorted(counts.new_open_by_currency.items()):
        report.amounts[f"open in new invoices ({currency})"] = str(amount)

    report.notes = [*batch.notes, *counts.notes]
    return report
