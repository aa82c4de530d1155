"""Build claims from the ledger: the database side of `betaalreis.legal.claims`.

The principal of an invoice is its total less credit notes applied to it,
because credited amounts were never owed. Payments come from the ledger's
allocations, dated by the payment's booking date and naming the invoice.
The claim law then applies them to costs, interest and principal, so its
unpaid principal can differ from the ledger's open amount. The ledger books
a payment to the principal first and only money beyond it to costs and
interest (`Allocation.part`), but the claim's total is the same either way.
After a dunning restart the reopened amount takes the place of the total,
with its own due date. An amount raised after the latest 14-day letter is
marked as not named by it, and every raise of an open invoice is a later
part of its principal with its own due date (see `betaalreis.dunning.reopening`).

A claim has one currency, and it is computed in euro only, because the
statutory collection costs are set in euro (`CLAIM_CURRENCY`). So the claim
of a debtor with open invoices in several currencies covers its euro
invoices, and its messages about the other invoices state their open amounts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext

from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.models import PrincipalRaise
from betaalreis.dunning.reopening import unnamed_amounts
from betaalreis.ledger.models import (
    DUNNABLE_STATUSES,
    Allocation,
    AllocationPart,
    Creditor,
    Debtor,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
)
from betaalreis.legal.claims import ClaimBreakdown, ClaimItem, ClaimPayment, LaterPart, LetterTerm, compute_claim
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import LegalSettings
from betaalreis.legal.validation import CLAIM_CURRENCY

# Debtor ids per IN (...) query; SQLite allows at most 32766 parameters per statement.
ID_CHUNK = 10000

# Invoices whose claim is computed: the dunned ones, handed-over ones,
# because the collection agency collects the same claim with its interest
# and costs, and disputed ones. A dispute pauses dunning but not the
# statutory interest, and the costs that a sent letter made owed stay owed
# until the creditor grants the dispute by crediting or writing off the
# invoice. So a payment of a disputed invoice pays its costs and interest
# too, and no message names a disputed invoice.
CLAIM_STATUSES = (*DUNNABLE_STATUSES, InvoiceStatus.HANDED_OVER, InvoiceStatus.DISPUTED)


@dataclass(frozen=True, slots=True)
class ClaimInput:
    """The claim items of one debtor with their payments, ready for `compute_claim`."""

    items: list[ClaimItem]
    payments: list[ClaimPayment]
    currency: str
    # What the ledger booked to collection costs or interest, by (invoice number, part).
    charges_paid: dict[tuple[str, str], Decimal] = field(default_factory=dict)


def claim_items_for_debtor(
    debtor: Debtor,
    on: dt.date,
    *,
    invoice_ids: Collection[int] | None = None,
    currency: str = CLAIM_CURRENCY,
) -> ClaimInput:
    """Return the debtor's open invoices in `currency` as claim items, with their payments.

    With `invoice_ids`, only those of the open invoices count. Allocations
    booked after `on` are left out, and so are invoices in other currencies.
    """
    invoices = _open_invoices(debtor.creditor_id, [debtor.pk], on, invoice_ids=invoice_ids)
    return _claim_input(invoices.get(debtor.pk, []), currency)


def claim_items_for_debtors(
    creditor_id: int,
    debtor_ids: Iterable[int],
    on: dt.date,
    *,
    invoice_ids: Collection[int] | None = None,
    currency: str = CLAIM_CURRENCY,
) -> dict[int, ClaimInput]:
    """Return what `claim_items_for_debtor` returns for many debtors of one creditor, by debtor id.

    Loads invoices and allocations in two queries per chunk of debtors.
    """
    ids = sorted(set(debtor_ids))
    inputs: dict[int, ClaimInput] = {}

    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        invoices = _open_invoices(creditor_id, chunk, on, invoice_ids=invoice_ids)
        for debtor_id in chunk:
            inputs[debtor_id] = _claim_input(invoices.get(debtor_id, []), currency)

    return inputs


def claim_for_debtor(
    debtor: Debtor,
    on: dt.date,
    *,
    fourteen_day_term_end: dt.date | None = None,
    settings: LegalSettings | None = None,
    invoice_ids: Collection[int] | None = None,
    letter_terms: Sequence[LetterTerm] = (),
    costs_paid_before: Decimal = Decimal("0.00"),
) -> ClaimBreakdown | None:
    """Return the debtor's claim on `on`, or None when no euro invoice of the debtor is open.

    The claim covers the open invoices in euro (see the module docstring),
    and with `invoice_ids` only those of them.
    Without `settings`, the creditor's stored legal settings apply.
    `letter_terms` and `costs_paid_before` go to `compute_claim` (see
    `betaalreis.dunning.letter_costs`).
    """
    claim_input = claim_items_for_debtor(debtor, on, invoice_ids=invoice_ids)
    if not claim_input.items:
        return None

    return compute_claim(
        debtor_kind=debtor.kind,
        items=claim_input.items,
        on=on,
        payments=claim_input.payments,
        fourteen_day_term_end=fourteen_day_term_end,
        settings=settings or legal_settings_for(debtor.creditor),
        currency=claim_input.currency,
        letter_terms=letter_terms,
        costs_paid_before=costs_paid_before,
    )


def claims_for_debtors(
    creditor: Creditor,
    debtor_kinds: Mapping[int, str],
    on: dt.date,
    *,
    fourteen_day_term_ends: Mapping[int, dt.date] | None = None,
    settings: LegalSettings | None = None,
) -> dict[int, ClaimBreakdown]:
    """Return the claims of many debtors of one creditor, keyed by debtor id.

    `debtor_kinds` maps each debtor id to its kind (consumer or business).
    Loads invoices and allocations in two queries per chunk of debtors, for
    the daily run. Each claim covers the debtor's open invoices in euro, and
    debtors without such invoices are left out of the result.
    """
    settings = settings or legal_settings_for(creditor)
    term_ends = fourteen_day_term_ends or {}
    ids = sorted(debtor_kinds)
    claims: dict[int, ClaimBreakdown] = {}

    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start:start + ID_CHUNK]
        for debtor_id, invoices in _open_invoices(creditor.pk, chunk, on).items():
            claim_input = _claim_input(invoices, CLAIM_CURRENCY)
            if not claim_input.items:
                continue
            claims[debtor_id] = compute_claim(
                debtor_kind=debtor_kinds[debtor_id],
                items=claim_input.items,
                on=on,
                payments=claim_input.payments,
                fourteen_day_term_end=term_ends.get(debtor_id),
                settings=settings,
                currency=claim_input.currency,
            )

    return claims


@dataclass(slots=True)
class _OpenInvoice:
    pk: int
    number: str
    # The invoice's total, or the reopened amount after a dunning restart.
    total: Decimal
    due_date: dt.date
    currency: str
    open_amount: Decimal
    credited: Decimal = Decimal(0)
    # What was raised after the latest 14-day letter and no letter named yet.
    unnamed: Decimal = Decimal(0)
    # The raises of the open amount since the invoice or its restart, each with its own due date.
    raises: list[LaterPart] = field(default_factory=list)
    # Payments the ledger booked to the principal.
    paid_in_ledger: Decimal = Decimal(0)
    # Payments the ledger booked to collection costs or interest, by part.
    charges_paid: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    paid_per_day: dict[dt.date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    @property
    def paid_elsewhere(self) -> Decimal:
        """Return what was paid outside the ledger: the total less credits, principal payments and the open amount.

        An imported open amount below the total, with no payment in the
        ledger to explain it, was paid before the import (in the creditor's
        own books), so it is no part of the claim.
        """
        return max(self.total - self.credited - self.paid_in_ledger - self.open_amount, Decimal(0))


def _open_invoices(
    creditor_id: int, debtor_ids: list[int], on: dt.date, *, invoice_ids: Collection[int] | None = None
) -> dict[int, list[_OpenInvoice]]:
    """Load the open invoices of `debtor_ids` with credit notes and payments, in two queries.

    With `invoice_ids`, only those of the open invoices are loaded.
    """
    rows = Invoice.objects.filter(
        creditor_id=creditor_id,
        debtor_id__in=debtor_ids,
        kind=InvoiceKind.INVOICE,
        status__in=CLAIM_STATUSES,
        open_amount__gt=0,
    ).order_by("debtor_id", "due_date", "number")
    if invoice_ids is not None:
        rows = rows.filter(pk__in=values_subquery(list(invoice_ids), array_type="bigint"))

    by_id: dict[int, _OpenInvoice] = {}
    by_debtor: dict[int, list[_OpenInvoice]] = defaultdict(list)
    # An invoice whose dunning restarted is claimed as the amount that
    # reopened, due on the restart's due date, with only the allocations
    # made since (see `betaalreis.dunning.reopening`).
    restart_cut: dict[int, int] = {}
    raised: list[int] = []
    with_later_parts: list[int] = []
    for (
        pk, debtor_id, number, total, due_date, currency, open_amount,
        restart_principal, restart_due_date, restart_last_allocation, raise_id, has_later_parts,
    ) in rows.annotate(
        has_later_parts=Exists(PrincipalRaise.objects.filter(invoice_id=OuterRef("pk")))
    ).values_list(
        "pk", "debtor_id", "number", "total", "due_date", "currency", "open_amount",
        "dunning_restart__principal", "dunning_restart__due_date", "dunning_restart__last_allocation_id",
        "raise_after_letter__id", "has_later_parts",
    ):
        if restart_principal is not None:
            total, due_date = restart_principal, restart_due_date
            restart_cut[pk] = restart_last_allocation
        if raise_id is not None:
            raised.append(pk)
        if has_later_parts:
            with_later_parts.append(pk)
        invoice = _OpenInvoice(pk, number, total, due_date, currency, open_amount)
        by_id[pk] = invoice
        by_debtor[debtor_id].append(invoice)

    # Most claims have no raised invoice, so this query runs only for those that do.
    if raised:
        for invoice_id, amount in unnamed_amounts(creditor_id, raised).items():
            by_id[invoice_id].unnamed = amount
    if with_later_parts:
        parts = PrincipalRaise.objects.filter(creditor_id=creditor_id, invoice_id__in=with_later_parts)
        for invoice_id, amount, due_date in parts.order_by("due_date", "pk").values_list(
            "invoice_id", "amount", "due_date"
        ):
            by_id[invoice_id].raises.append(LaterPart(amount, due_date))

    allocations = Allocation.objects.filter(
        creditor_id=creditor_id, invoice__in=rows.values("pk")
    ).values_list("pk", "invoice_id", "payment_id", "amount", "part", "payment__booking_date")
    for allocation_id, invoice_id, payment_id, amount, part, booked_on in allocations:
        if allocation_id <= restart_cut.get(invoice_id, 0):
            continue
        invoice = by_id[invoice_id]
        if payment_id is None:
            invoice.credited += amount
            continue
        if part == AllocationPart.PRINCIPAL:
            invoice.paid_in_ledger += amount
        else:
            invoice.charges_paid[part] += amount
        if booked_on <= on:
            invoice.paid_per_day[booked_on] += amount

    return by_debtor


def _later_parts(raises: Sequence[LaterPart], principal: Decimal) -> tuple[LaterPart, ...]:
    """Return the raises that still fit in `principal`, latest first kept, in order of due date.

    A credit note or a lowered amount since a raise leaves less principal
    than the raises add up to. Keeping the latest raises leaves the most
    principal without interest, so the claim is never too high.
    """
    fitting: list[LaterPart] = []
    room = principal
    for part in sorted(raises, key=lambda part: part.due_date, reverse=True):
        if room <= 0:
            break
        amount = min(part.amount, room)
        fitting.append(LaterPart(amount, part.due_date))
        room -= amount
    return tuple(sorted(fitting, key=lambda part: part.due_date))


def _claim_input(invoices: Iterable[_OpenInvoice], currency: str) -> ClaimInput:
    """Return the claim items and payments of those `invoices` that are in `currency`."""
    items: list[ClaimItem] = []
    payments: list[ClaimPayment] = []
    charges_paid: dict[tuple[str, str], Decimal] = {}

    for invoice in invoices:
        if invoice.currency != currency:
            continue

        # NOTE: the date of a payment made outside the ledger is unknown, so
        # it counts as paid before the due date and bears no interest.
        principal = invoice.total - invoice.credited - invoice.paid_elsewhere
        if principal <= 0:
            continue

        items.append(ClaimItem(
            invoice.number, principal, invoice.due_date, unnamed_principal=min(invoice.unnamed, principal),
            later_parts=_later_parts(invoice.raises, principal),
        ))
        for part, amount in invoice.charges_paid.items():
            charges_paid[(invoice.number, part)] = amount
        payments.extend(
            ClaimPayment(paid_on=day, amount=amount, invoice_number=invoice.number)
            for day, amount in sorted(invoice.paid_per_day.items())
            if amount > 0
        )

    return ClaimInput(items, payments, currency, charges_paid)
