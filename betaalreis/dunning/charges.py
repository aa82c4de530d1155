"""Collection costs and interest beside an invoice's principal in the ledger.

The ledger's open amount is the principal left. Collection costs and
statutory interest come from the claim law (`betaalreis.legal.claims`), and
only for invoices that carry them (`charged_invoice_ids`). An invoice carries
them once it reached a dunning stage that states the claim (or a later stage
of the same policy), once a sent 14-day letter named it, or once it was
handed over. After a dunning restart only stages and letters since count. Every other invoice is claimed at its open amount, so a
friendly reminder and the portal request the same amount and neither
requests interest.

A payment pays the principal first, because the creditor's own books do the
same. Money beyond the principal of an invoice it closes pays that
invoice's costs and interest as the claim states them on the booking day
(`unpaid_charges`, `split_over_charges`). Only what is left after that is a
credit of the debtor. When the ledger closes a charged invoice (payment,
credit note, import, or a status set by hand such as a write-off) and some
of its costs or interest stay unpaid, the rest is waived: Betaalreis stops claiming it and writes the amounts on the
debtor's timeline (`waived_charges_events`).

The claim is computed only for charged invoices that close, so paying an
invoice without charges costs what it cost before this module.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q, Value

from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.letter_costs import LetterCosts, letter_costs
from betaalreis.dunning.models import Stage
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    AllocationPart,
    Creditor,
    Debtor,
    DebtorKind,
    Invoice,
    InvoiceStatus,
    TimelineEvent,
    TimelineKind,
)
from betaalreis.ledger.money import format_money
from betaalreis.legal.claims import ClaimBreakdown, compute_claim
from betaalreis.legal.cost_shares import invoice_costs
from betaalreis.legal.fourteen_day import FourteenDayTerm
from betaalreis.legal.ledger_claims import CLAIM_STATUSES, ClaimInput, claim_items_for_debtors
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import ClaimPart, LegalSettings
from betaalreis.legal.validation import CLAIM_CURRENCY

logger = logging.getLogger(__name__)

CHARGE_PARTS = (AllocationPart.COSTS, AllocationPart.INTEREST)


@dataclass(frozen=True, slots=True)
class InvoiceCharges:
    """The collection costs and interest of one invoice that the ledger has not booked as paid."""

    invoice_id: int
    debtor_id: int
    number: str
    currency: str
    # The costs of the debtor's whole claim go with the last charged invoice
    # that closes, and the other invoices carry none.
    costs: Decimal
    interest: Decimal
    # The order in which a payment pays costs and interest (the creditor's
    # allocation order, by default BW 6:44: costs before interest).
    order: tuple[str, ...] = CHARGE_PARTS

    @property
    def total(self) -> Decimal:
        return self.costs + self.interest

    def amount_of(self, part: str) -> Decimal:
        return self.costs if part == AllocationPart.COSTS else self.interest


@dataclass(frozen=True, slots=True)
class ChargePayment:
    """Money of one payment booked to the costs or interest of one invoice."""

    invoice_id: int
    part: str
    amount: Decimal


def claim_stage_codes(creditor_id: int) -> tuple[dict[str, set[str]], set[str]]:
    """Return the stage codes at which an invoice carries costs and interest, per debtor kind, and the 14-day letter codes.

    The first are the stages that state the claim and every later stage of
    the same policy, because a later stage never takes back what was
    claimed. One query.
    """
    stages = Stage.objects.filter(policy__creditor_id=creditor_id).values_list(
        "policy__debtor_kind", "code", "order", "states_claim", "is_fourteen_day_letter"
    )
    by_kind: dict[str, list[tuple[int, str, bool]]] = defaultdict(list)
    letter_codes: set[str] = set()
    for kind, code, order, states_claim, is_letter in stages:
        by_kind[kind].append((order, code, states_claim))
        if is_letter:
            letter_codes.add(code)

    codes: dict[str, set[str]] = {}
    for kind, rows in by_kind.items():
        first = min((order for order, _, states_claim in rows if states_claim), default=None)
        if first is not None:
            codes[kind] = {code for order, code, _ in rows if order >= first}
    return codes, letter_codes


def charged_invoice_ids(creditor_id: int, invoice_ids: Collection[int]) -> set[int]:
    """Return the invoices of `invoice_ids` that carry collection costs and interest.

    Two queries: the creditor's stages, and the invoices.
    """
    from betaalreis.dunning.reopening import counted_message_items
    from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

    if not invoice_ids:
        return set()

    codes, letter_codes = claim_stage_codes(creditor_id)
    charged_by = Q(status=InvoiceStatus.HANDED_OVER)
    if codes:
        charged_by |= Q(dunning_progress__stage__in=set().union(*codes.values()))
    if letter_codes:
        sent_letters = counted_message_items(CommunicationInvoice.objects.filter(
            communication__creditor_id=creditor_id,
            communication__stage__in=letter_codes,
            communication__status=CommunicationStatus.SENT,
        ))
        charged_by |= Q(Exists(sent_letters.filter(invoice_id=OuterRef("pk"))))

    rows = (
        Invoice.objects.filter(pk__in=values_subquery(list(invoice_ids), array_type="bigint"))
        .filter(charged_by)
        .annotate(letter_sent=Exists(sent_letters.filter(invoice_id=OuterRef("pk"))) if letter_codes else Value(False))
        .values_list("pk", "creditor_id", "status", "debtor__kind", "dunning_progress__stage", "letter_sent")
    )
    return {
        pk
        for pk, invoice_creditor_id, status, kind, stage, letter_sent in rows
        if invoice_creditor_id == creditor_id
        and (status == InvoiceStatus.HANDED_OVER or letter_sent or stage in codes.get(kind, ()))
    }


def charged_open_invoices(creditor_id: int, debtor_ids: Collection[int]) -> dict[int, dict[int, str]]:
    """Return, by debtor id, the open invoices of the claim that carry costs and interest, as id to number.

    These are the invoices of the claim that the portal shows and that a
    message splits the collection costs over (`betaalreis.legal.cost_shares`).
    Three queries.
    """
    rows = list(
        Invoice.objects.filter(
            creditor_id=creditor_id, debtor_id__in=sorted(debtor_ids), status__in=CLAIM_STATUSES, open_amount__gt=0
        ).values_list("pk", "debtor_id", "number")
    )
    charged = charged_invoice_ids(creditor_id, [pk for pk, _, _ in rows])
    result: dict[int, dict[int, str]] = {debtor_id: {} for debtor_id in debtor_ids}
    for pk, debtor_id, number in rows:
        if pk in charged:
            result[debtor_id][pk] = number
    return result


def fourteen_day_term_end(creditor: Creditor, settings: LegalSettings, invoice_ids: Collection[int]) -> dt.date | None:
    """Return the last day of the 14-day term that covers every invoice of `invoice_ids`, or None.

    The claim law charges a consumer's costs over all invoices the letter
    named, so a term counts only when each invoice was in a sent 14-day
    letter. With an invoice outside the letter no costs are charged, so the
    claim is never too high.
    """
    from betaalreis.dunning.legal_terms import sent_fourteen_day_terms

    if not invoice_ids:
        return None
    return _term_end(sent_fourteen_day_terms(creditor, settings, invoice_ids=invoice_ids), set(invoice_ids))


def claim_letters(
    creditor: Creditor, settings: LegalSettings, debtor: Debtor, numbers: Mapping[int, str]
) -> LetterCosts:
    """Return the 14-day letters behind the claim over the debtor's open invoices `numbers` (id to number).

    A consumer's claim gets its letters from `betaalreis.dunning.letter_costs`.
    A business owes costs without a letter, so its claim gets only the term
    end that `fourteen_day_term_end` returns. Four queries at most.
    """
    if debtor.kind != DebtorKind.CONSUMER:
        return LetterCosts(term_end=fourteen_day_term_end(creditor, settings, list(numbers)))
    return letter_costs(creditor, settings, {debtor.pk: (debtor.pk, list(numbers))}, numbers)[debtor.pk]


def unpaid_charges(
    creditor_id: int, closing: Mapping[int, dt.date], *, charged: set[int] | None = None
) -> dict[int, InvoiceCharges]:
    """Return the unbooked costs and interest of the charged invoices that are about to close.

    `closing` maps each invoice id, in the order its payment pays them, to
    the day it closes (a payment's booking day). Call it before the ledger
    writes the closing, while the invoices are still open. For each debtor
    and day the claim covers the debtor's charged open invoices, as the
    portal shows it. Invoices without charges are left out. `charged` is
    what `charged_invoice_ids` returns for `closing`, when the caller has it.
    About a dozen queries per call, however many invoices close.
    """
    from betaalreis.dunning.legal_terms import sent_fourteen_day_terms

    if charged is None:
        charged = charged_invoice_ids(creditor_id, list(closing))
    if not charged:
        return {}

    creditor = Creditor.objects.get(pk=creditor_id)
    settings = legal_settings_for(creditor)
    closing_rows = {
        pk: (debtor_id, number)
        for pk, debtor_id, number in Invoice.objects.filter(
            pk__in=values_subquery(list(charged), array_type="bigint")
        ).values_list("pk", "debtor_id", "number")
    }
    groups: dict[tuple[int, dt.date], list[int]] = defaultdict(list)
    for invoice_id, day in closing.items():
        if invoice_id in closing_rows:
            groups[(closing_rows[invoice_id][0], day)].append(invoice_id)

    debtor_ids = {debtor_id for debtor_id, _ in groups}
    kinds = dict(Debtor.objects.filter(creditor_id=creditor_id, pk__in=list(debtor_ids)).values_list("pk", "kind"))
    # The claim covers the euro invoices only, so the costs close with the
    # last of them and the debtor's invoices in other currencies do not count.
    open_by_debtor: dict[int, set[int]] = defaultdict(set)
    for pk, debtor_id in Invoice.objects.filter(
        creditor_id=creditor_id, debtor_id__in=list(debtor_ids), status__in=CLAIM_STATUSES, open_amount__gt=0,
        currency=CLAIM_CURRENCY,
    ).values_list("pk", "debtor_id"):
        open_by_debtor[debtor_id].add(pk)
    all_open = set().union(*open_by_debtor.values())
    charged_open = charged_invoice_ids(creditor_id, all_open) | (set(closing_rows) & all_open)
    charged_by_debtor = {debtor_id: open_by_debtor[debtor_id] & charged_open for debtor_id in debtor_ids}
    numbers = dict(
        Invoice.objects.filter(pk__in=values_subquery(sorted(charged_open), array_type="bigint"))
        .values_list("pk", "number")
    )
    letters = letter_costs(
        creditor, settings,
        {debtor_id: (debtor_id, ids) for debtor_id, ids in charged_by_debtor.items() if kinds[debtor_id] == DebtorKind.CONSUMER},
        numbers,
    )
    terms = sent_fourteen_day_terms(creditor, settings, invoice_ids=charged_open)

    inputs: dict[dt.date, dict[int, ClaimInput]] = {}
    for day in {day for _, day in groups}:
        inputs[day] = claim_items_for_debtors(
            creditor_id, [debtor_id for debtor_id, group_day in groups if group_day == day], day,
            invoice_ids=charged_open,
        )

    charges: dict[int, InvoiceCharges] = {}
    for (debtor_id, day), invoice_ids in groups.items():
        debtor_charged = charged_by_debtor[debtor_id]
        claim_input = inputs[day].get(debtor_id)
        debtor_letters = letters.get(debtor_id)
        term_end = debtor_letters.term_end if debtor_letters is not None else _term_end(terms, debtor_charged)
        claim = _claim_or_none(
            creditor_id, debtor_id, kinds[debtor_id], claim_input, day, settings, term_end, debtor_letters
        )
        if claim is None:
            continue
        closing_numbers = {invoice_id: closing_rows[invoice_id][1] for invoice_id in invoice_ids}
        charges.update(_invoice_charges(
            claim, claim_input, debtor_id, closing_numbers, settings,
            debtor_letters.costs_paid_before if debtor_letters is not None else ZERO,
        ))
    return charges


def _term_end(terms: Mapping[int, FourteenDayTerm], invoice_ids: set[int]) -> dt.date | None:
    """Return the last day of the 14-day term when a sent letter named every invoice of `invoice_ids`."""
    if not invoice_ids or not invoice_ids <= set(terms):
        return None
    return max(terms[invoice_id].term_end for invoice_id in invoice_ids)


def _claim_or_none(
    creditor_id: int,
    debtor_id: int,
    debtor_kind: str,
    claim_input: ClaimInput | None,
    on: dt.date,
    settings: LegalSettings,
    term_end: dt.date | None,
    letters: LetterCosts | None = None,
) -> ClaimBreakdown | None:
    if claim_input is None or not claim_input.items:
        return None
    try:
        return compute_claim(
            debtor_kind=debtor_kind,
            items=claim_input.items,
            on=on,
            payments=claim_input.payments,
            fourteen_day_term_end=term_end,
            settings=settings,
            currency=claim_input.currency,
            letter_terms=letters.letter_terms if letters is not None else (),
            costs_paid_before=letters.costs_paid_before if letters is not None else ZERO,
        )
    except InvalidInput as exc:
        # No claim (a day the claim law cannot compute), so the payment pays
        # principal only and nothing is waived.
        logger.warning(
            "charges not computed",
            extra={"creditor_id": creditor_id, "debtor_id": debtor_id, "error": str(exc)},
        )
        return None


def _invoice_charges(
    claim: ClaimBreakdown,
    claim_input: ClaimInput,
    debtor_id: int,
    numbers: dict[int, str],
    settings: LegalSettings,
    costs_paid_before: Decimal = ZERO,
) -> dict[int, InvoiceCharges]:
    """Return the charges of the closing invoices `numbers` (id to number) from the debtor's claim.

    `costs_paid_before` are the costs booked on invoices of the same 14-day
    letters that closed earlier (see `betaalreis.dunning.letter_costs`).
    """
    interest_by_number = {item.invoice_number: item.interest for item in claim.items}

    # Each invoice closes with its share of the costs fixed for the whole
    # claim. The ledger books payments to principal first, so the shares
    # count the costs the ledger booked, not those the claim applied.
    costs_paid = sum(
        (amount for (_, part), amount in claim_input.charges_paid.items() if part == AllocationPart.COSTS),
        costs_paid_before,
    )
    shares = invoice_costs(claim, costs_paid=costs_paid)
    order = tuple(str(part) for part in settings.allocation_order if part is not ClaimPart.PRINCIPAL)

    charges: dict[int, InvoiceCharges] = {}
    for invoice_id, number in numbers.items():
        if number not in interest_by_number:
            continue
        interest_paid = claim_input.charges_paid.get((number, AllocationPart.INTEREST), ZERO)
        interest = max(interest_by_number[number] - interest_paid, ZERO)
        costs = shares[number].outstanding
        charges[invoice_id] = InvoiceCharges(invoice_id, debtor_id, number, claim.currency, costs, interest, order)
    return charges


def split_over_charges(
    amount: Decimal, charges: Sequence[InvoiceCharges]
) -> tuple[list[ChargePayment], Decimal]:
    """Split `amount` over the costs and interest of `charges`, in order, and return the bookings and what is left."""
    bookings: list[ChargePayment] = []
    remaining = amount

    for invoice_charges in charges:
        for part in invoice_charges.order:
            if remaining <= ZERO:
                return bookings, remaining
            applied = min(remaining, invoice_charges.amount_of(part))
            if applied > ZERO:
                bookings.append(ChargePayment(invoice_charges.invoice_id, part, applied))
                remaining -= applied

    return bookings, remaining


def charge_payment_summary(booking: ChargePayment, number: str, currency: str) -> str:
    """Return the timeline line of money booked to an invoice's costs or interest."""
    label = "incassokosten" if booking.part == AllocationPart.COSTS else "rente"
    return f"Betaling {format_money(booking.amount, currency)} op {label} van factuur {number}"


def waived_charges_events(
    charges: Mapping[int, InvoiceCharges],
    paid: Mapping[tuple[int, str], Decimal],
    *,
    closed_by: str,
    source: str,
    creditor_id: int,
    at: dt.datetime | None = None,
) -> list[TimelineEvent]:
    """Return unsaved timeline events for the costs and interest left unpaid when invoices close.

    `paid` is what the closing booked per (invoice id, part). `closed_by`
    names the cause for the record: "payment", "credit_note", "import", or
    for a status set by hand "write_off" or "status".
    """
    at = at or timeline.event_time()
    events: list[TimelineEvent] = []

    for invoice_id, invoice_charges in charges.items():
        costs = invoice_charges.costs - paid.get((invoice_id, AllocationPart.COSTS), ZERO)
        interest = invoice_charges.interest - paid.get((invoice_id, AllocationPart.INTEREST), ZERO)
        if costs <= ZERO and interest <= ZERO:
            continue

        currency = invoice_charges.currency
        amounts = []
        if costs > ZERO:
            amounts.append(f"incassokosten {format_money(costs, currency)}")
        if interest > ZERO:
            amounts.append(f"rente {format_money(interest, currency)}")
        summary = (
            f"Factuur {invoice_charges.number} gesloten met onbetaalde "
            + " en ".join(amounts)
            + ": niet meer gevorderd (kwijtgescholden)"
        )
        events.append(TimelineEvent(
            creditor_id=creditor_id,
            debtor_id=invoice_charges.debtor_id,
            invoice_id=invoice_id,
            kind=TimelineKind.INVOICE_CHANGED,
            source=source[:300],
            summary=summary[:500],
            data={
                "reason": "charges_waived",
                "closed_by": closed_by,
                "costs": str(max(costs, ZERO)),
                "interest": str(max(interest, ZERO)),
            },
            at=at,
        ))
    return events
