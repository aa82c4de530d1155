"""The 14-day letters behind a consumer's collection costs, read from the outbox and the ledger.

A consumer owes collection costs once the term of a 14-day letter passes
unpaid, over the summed principal of every invoice that letter named and
that was not paid within its term (art. 6:96 lid 6 and lid 7 BW). The
claim law (`betaalreis.legal.claims.compute_claim`) computes a claim over
the invoices still open, so this module adds what it cannot see:

- the invoices a letter named that were paid after its term and are closed
  now. Their principal unpaid at the end of the term stays in that letter's
  cost base (`LetterTerm.closed_principal`), and the costs already paid with
  them count as paid (`LetterCosts.costs_paid_before`). So the invoice of a
  letter that closes last carries the letter's costs, not costs over its
  own principal.
- the earlier letters of the open invoices. Each letter's term sets costs
  over its own base, and the consumer owes the highest of them, never
  their sum (`_ClaimRun._charge_costs`). A new letter that names invoices
  already charged with costs therefore raises the costs to the amount over
  the summed principal and adds no second EUR 40 minimum.
- the raises after a letter (`RaiseAfterLetter`). A letter sent before an
  invoice was raised named only the amount before the raise, so its term
  sets costs over that amount (`LetterTerm.unnamed_principal`), also after
  a later letter named the whole amount and while that letter's term runs.

The letters that count are linked to the claim's open invoices: those that
named one of them, and the letters that share an invoice with those. An
invoice counts only since its latest dunning restart
(`betaalreis.dunning.reopening.counted_message_items`).

- the invoices of the letters in a payment plan. They left the claim but
  are still owed, so they keep their place in the cost base like a paid
  invoice, and the plan takes their share of the costs
  (`betaalreis.legal.cost_shares`). Without them the invoices left would
  carry costs over their own principal, with a new EUR 40 minimum.

An invoice closed by a credit note, a write-off or any cause other than
payment adds nothing to a base. Neither does a paid invoice when the ledger
does not hold the payments of its whole principal, because then the day it
was paid is unknown and it may have been paid within the term.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar
from zoneinfo import ZoneInfo

from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.models import RaiseAfterLetter, Stage
from betaalreis.ledger.models import ZERO, Allocation, AllocationPart, Creditor, Invoice, InvoiceStatus
from betaalreis.legal.claims import ClaimItem, ClaimPayment, LetterTerm, compute_claim
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.policy import LegalSettings

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True, slots=True)
class LetterCosts:
    """The letter input of one consumer claim for `compute_claim`."""

    # The latest term of a letter that named each open invoice, when every
    # open invoice was named by a letter, else None.
    term_end: dt.date | None = None
    letter_terms: tuple[LetterTerm, ...] = ()
    # Costs the ledger booked on the closed invoices of the letters.
    costs_paid_before: Decimal = ZERO


@dataclass(slots=True)
class _Letter:
    term_end: dt.date
    invoice_ids: set[int] = field(default_factory=set)
    # The letter's communication id, to tell letters before a raise from those after it (ids grow over time).
    communication_id: int = 0


@dataclass(slots=True)
class _ClosedInvoice:
    number: str
    principal: Decimal
    due_date: dt.date
    # Every payment booked on the invoice, by booking date, whatever part it paid.
    payments: dict[dt.date, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    principal_paid: Decimal = ZERO
    costs_paid: Decimal = ZERO
    # True for an invoice in a payment plan: still open, so its payments need not cover the principal.
    in_plan: bool = False

    def unpaid_after(self, term_end: dt.date, settings: LegalSettings) -> Decimal:
        """Return the principal not paid by the end of the day `term_end`.

        The payments are applied as the claim of an open invoice applies
        them (interest before principal, BW 6:44), so the base is the same
        before and after the invoice closed.
        """
        if self.principal_paid < self.principal and not self.in_plan:
            # Part was paid outside the ledger on an unknown day.
            return ZERO
        claim = compute_claim(
            debtor_kind="consumer",
            items=[ClaimItem(self.number, self.principal, self.due_date)],
            on=term_end,
            payments=[ClaimPayment(day, amount) for day, amount in self.payments.items() if day <= term_end],
            settings=settings,
        )
        return claim.items[0].principal_outstanding


@dataclass(frozen=True, slots=True)
class PaidInvoice:
    """An invoice a letter named that the consumer paid in full on `paid_on`, given by hand to `betaalreis claim`."""

    number: str
    principal: Decimal
    paid_on: dt.date
    costs_paid: Decimal = ZERO

    def unpaid_after(self, term_end: dt.date, settings: LegalSettings) -> Decimal:
        """Return the principal, when the invoice was paid after the day `term_end`, else zero."""
        return self.principal if self.paid_on > term_end else ZERO


def letter_costs(
    creditor: Creditor,
    settings: LegalSettings,
    claims: Mapping[Key, tuple[int, Collection[int]]],
    numbers: Mapping[int, str],
) -> dict[Key, LetterCosts]:
    """Return the letter input of each claim in `claims`, by the same key.

    `claims` maps a key to (debtor id, ids of the open invoices the claim
    covers), and `numbers` maps each of those invoice ids to its number.
    Claims of business debtors, or with no letter, get an empty
    `LetterCosts`. Four queries at most, however many claims.
    """
    from betaalreis.dunning.reopening import counted_message_items
    from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

    result: dict[Key, LetterCosts] = {key: LetterCosts() for key in claims}
    debtor_ids = {debtor_id for debtor_id, _ in claims.values()}
    if not debtor_ids:
        return result

    letter_codes = Stage.objects.filter(policy__creditor=creditor, is_fourteen_day_letter=True).values("code")
    rows = counted_message_items(CommunicationInvoice.objects.filter(
        communication__creditor=creditor,
        communication__debtor_id__in=sorted(debtor_ids),
        communication__debtor__kind="consumer",
        communication__stage__in=letter_codes,
        communication__status=CommunicationStatus.SENT,
    )).order_by("communication__sent_at", "communication_id").values_list(
        "communication_id", "communication__debtor_id", "communication__channel", "communication__sent_at",
        "invoice_id", "invoice__status",
    )

    letters: dict[int, dict[int, _Letter]] = defaultdict(dict)
    letters_of_invoice: dict[int, list[int]] = defaultdict(list)
    statuses: dict[int, str] = {}
    term_cache: dict[tuple[dt.date, str], dt.date] = {}
    for communication_id, debtor_id, channel, sent_at, invoice_id, status in rows:
        letter = letters[debtor_id].get(communication_id)
        if letter is None:
            sent_on = sent_at.astimezone(AMSTERDAM).date()
            if (sent_on, channel) not in term_cache:
                term_cache[(sent_on, channel)] = fourteen_day_term(sent_on, channel, settings).term_end
            letter = letters[debtor_id][communication_id] = _Letter(term_cache[(sent_on, channel)], communication_id=communication_id)
        letter.invoice_ids.add(invoice_id)
        letters_of_invoice[invoice_id].append(communication_id)
        statuses[invoice_id] = status

    linked: dict[Key, tuple[list[_Letter], set[int]]] = {}
    for key, (debtor_id, open_ids) in claims.items():
        chosen, closed = _linked_letters(letters.get(debtor_id, {}), letters_of_invoice, set(open_ids))
        if chosen:
            linked[key] = (chosen, {invoice_id for invoice_id in closed if statuses[invoice_id] in _OUTSIDE_CLAIM})

    closed_invoices = _closed_invoices(creditor.pk, set().union(*(closed for _, closed in linked.values())))
    raises = _raises(creditor.pk, {invoice_id for key in linked for invoice_id in claims[key][1]})
    for key, (chosen, closed) in linked.items():
        _, open_ids = claims[key]
        result[key] = _claim_letters(
            chosen, letters_of_invoice, letters[claims[key][0]], set(open_ids), numbers,
            {invoice_id: closed_invoices[invoice_id] for invoice_id in closed if invoice_id in closed_invoices},
            settings,
            raises,
        )
    return result


def _raises(creditor_id: int, invoice_ids: set[int]) -> dict[int, tuple[Decimal, int]]:
    """Return, by invoice id, the amount raised after a letter and the last communication before the raise. One query."""
    if not invoice_ids:
        return {}
    rows = RaiseAfterLetter.objects.filter(
        creditor_id=creditor_id, invoice_id__in=values_subquery(sorted(invoice_ids), array_type="bigint")
    ).values_list("invoice_id", "unnamed_amount", "last_communication_id")
    return {invoice_id: (amount, last_id) for invoice_id, amount, last_id in rows}


def stated_letter_costs(
    letters: Sequence[tuple[dt.date, Collection[str]]],
    invoice_numbers: Collection[str],
    settings: LegalSettings,
    paid_invoices: Sequence[PaidInvoice] = (),
) -> LetterCosts:
    """Return the letter input of a consumer claim over the open invoices `invoice_numbers`, for letters given by hand.

    Each letter is the last day of its term and the numbers of the invoices
    it named. The terms follow the rules of `letter_costs`, which reads the
    letters from the outbox: every letter sets costs over the principal it
    named, and the consumer owes the highest of them. `betaalreis claim`
    uses it, so a claim computed by hand matches the one in the messages.
    A letter may also name `paid_invoices`. Such an invoice stays in the
    cost base of each letter whose term ended before the day it was paid.
    """
    ids = {number: index for index, number in enumerate(invoice_numbers)}
    open_ids = set(ids.values())
    closed = {len(ids) + position: invoice for position, invoice in enumerate(paid_invoices)}
    ids.update({invoice.number: invoice_id for invoice_id, invoice in closed.items()})
    by_id: dict[int, _Letter] = {}
    letters_of_invoice: dict[int, list[int]] = defaultdict(list)
    for letter_id, (term_end, named) in enumerate(sorted(letters, key=lambda letter: letter[0])):
        invoice_ids = {ids[number] for number in named}
        by_id[letter_id] = _Letter(term_end, invoice_ids)
        for invoice_id in sorted(invoice_ids):
            letters_of_invoice[invoice_id].append(letter_id)
    # A paid invoice that no letter named adds nothing to any cost base.
    named_closed = {invoice_id: invoice for invoice_id, invoice in closed.items() if invoice_id in letters_of_invoice}
    return _claim_letters(
        list(by_id.values()), letters_of_invoice, by_id, open_ids,
        {index: number for number, index in ids.items()}, named_closed, settings,
    )


def _linked_letters(
    letters: Mapping[int, _Letter], letters_of_invoice: Mapping[int, list[int]], open_ids: set[int]
) -> tuple[list[_Letter], set[int]]:
    """Return the letters linked to `open_ids` and the other invoices they named."""
    seen: set[int] = set()
    invoices = set(open_ids)
    pending = [letter_id for invoice_id in open_ids for letter_id in letters_of_invoice.get(invoice_id, ())]
    while pending:
        letter_id = pending.pop()
        if letter_id in seen or letter_id not in letters:
            continue
        seen.add(letter_id)
        for invoice_id in letters[letter_id].invoice_ids - invoices:
            invoices.add(invoice_id)
            pending.extend(letters_of_invoice[invoice_id])
    return [letters[letter_id] for letter_id in sorted(seen)], invoices - open_ids


def _claim_letters(
    chosen: list[_Letter],
    letters_of_invoice: Mapping[int, list[int]],
    letters: Mapping[int, _Letter],
    open_ids: set[int],
    numbers: Mapping[int, str],
    closed: Mapping[int, _ClosedInvoice | PaidInvoice],
    settings: LegalSettings,
    raises: Mapping[int, tuple[Decimal, int]] | None = None,
) -> LetterCosts:
    """Build the letter terms of one claim from its linked letters.

    `raises` maps an open invoice id to the amount raised after a letter and
    the id of the invoice's last message line before that raise.
    """
    raises = raises or {}
    # The latest letter per invoice, as `sent_fourteen_day_terms` returns it.
    latest_term = {
        invoice_id: letters[letter_ids[-1]].term_end
        for invoice_id, letter_ids in letters_of_invoice.items()
        if invoice_id in open_ids or invoice_id in closed
    }
    # An open invoice without a sent letter (its letter may be planned but
    # held) leaves the claim without one term that covers every invoice.
    term_end: dt.date | None = None
    if open_ids <= latest_term.keys():
        term_end = max((latest_term[invoice_id] for invoice_id in open_ids), default=None)

    terms: list[LetterTerm] = []
    for letter in chosen:
        if term_end is not None and letter.term_end >= term_end:
            continue
        terms.append(LetterTerm(
            letter.term_end,
            frozenset(numbers[invoice_id] for invoice_id in letter.invoice_ids & open_ids),
            sum(
                (closed[invoice_id].unpaid_after(letter.term_end, settings)
                 for invoice_id in letter.invoice_ids if invoice_id in closed),
                ZERO,
            ),
            {
                numbers[invoice_id]: raises[invoice_id][0]
                for invoice_id in letter.invoice_ids & open_ids
                if invoice_id in raises and letter.communication_id <= raises[invoice_id][1]
            },
        ))
    if term_end is not None:
        # The latest term covers every open invoice, as a claim without
        # letter terms does, and the closed ones at their own latest term.
        terms.append(LetterTerm(
            term_end,
            None,
            sum((invoice.unpaid_after(latest_term[invoice_id], settings) for invoice_id, invoice in closed.items()), ZERO),
        ))
    return LetterCosts(
        term_end=term_end,
        letter_terms=tuple(terms),
        costs_paid_before=sum((invoice.costs_paid for invoice in closed.values()), ZERO),
    )


# Statuses of a letter's invoices that are no claim items but stay in its cost base.
_OUTSIDE_CLAIM = (InvoiceStatus.PAID, InvoiceStatus.PAYMENT_PLAN)


def _closed_invoices(creditor_id: int, invoice_ids: set[int]) -> dict[int, _ClosedInvoice]:
    """Load the principal and the ledger's payments of paid invoices and those in a plan, since their latest restart. Two queries."""
    if not invoice_ids:
        return {}
    ids = values_subquery(sorted(invoice_ids), array_type="bigint")
    invoices: dict[int, _ClosedInvoice] = {}
    cuts: dict[int, int] = {}
    rows = Invoice.objects.filter(creditor_id=creditor_id, pk__in=ids).values_list(
        "pk", "number", "total", "due_date", "status",
        "dunning_restart__principal", "dunning_restart__due_date", "dunning_restart__last_allocation_id",
    )
    for pk, number, total, due_date, status, restart_principal, restart_due_date, restart_cut in rows:
        in_plan = status == InvoiceStatus.PAYMENT_PLAN
        if restart_principal is None:
            invoices[pk] = _ClosedInvoice(number, total, due_date, in_plan=in_plan)
        else:
            invoices[pk] = _ClosedInvoice(number, restart_principal, restart_due_date, in_plan=in_plan)
        cuts[pk] = restart_cut or 0

    allocations = Allocation.objects.filter(creditor_id=creditor_id, invoice_id__in=ids).values_list(
        "pk", "invoice_id", "payment_id", "amount", "part", "payment__booking_date"
    )
    for allocation_id, invoice_id, payment_id, amount, part, booked_on in allocations:
        if allocation_id <= cuts[invoice_id]:
            continue
        invoice = invoices[invoice_id]
        if payment_id is None:
            # A credit note: that part was never owed.
            invoice.principal -= amount
            continue
        invoice.payments[booked_on] += amount
        if part == AllocationPart.PRINCIPAL:
            invoice.principal_paid += amount
        elif part == AllocationPart.COSTS:
            invoice.costs_paid += amount
    return invoices
