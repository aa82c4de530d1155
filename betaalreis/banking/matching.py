"""Match a creditor's new bank payments to open invoices and record every decision.

`match_payments` works per chunk of payments. It fetches the open invoices
that the chunk's payments name (`invoice_index.InvoiceIndex.prefetch`) and decides
each payment in memory with the rules in `rules.py`, in order of certainty:
structured reference, invoice numbers, known payer IBAN, payer name. Then,
in one transaction per chunk:

- matched payments are allocated in bulk (`allocation.allocate_in_bulk`);
  a payment smaller than its invoices becomes partly matched, a larger one
  keeps the rest as credit;
- the payer IBAN of an allocated payment that quotes a structured
  reference or whole invoice numbers of one debtor is linked to that debtor
  (`iban_learning`), and reviewed payments of the chunk from that IBAN are
  decided again;
- reversals (storno, R-transactions) undo the payment they reverse through
  `ledger.actions.do_reverse_payment`;
- payments that no rule matches, or that several candidates of the same
  score match, go to the review queue (status review) with the candidates.

Every decided payment gets the rule, score, reason and time of the decision
on its own row (Payment.match_rule and the fields beside it), written with
the update of its status.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from betaalreis.banking.amount_candidates import propose_amount_candidates
from betaalreis.banking.allocation import (
    DECISION_COLUMNS,
    UNCONFIRMED_DECISION_COLUMNS,
    PlannedAllocation,
    allocate_in_bulk,
)
from betaalreis.banking.bulk import insert_values, money_from_db, raw_rows, update_values
from betaalreis.banking.credit import review_large_overpayment
from betaalreis.banking.handover_review import handed_over_invoice_ids, review_handed_over
from betaalreis.banking.gc_pause import cyclic_gc_paused
from betaalreis.banking.iban_learning import LearnedIban, compact_iban, link_ibans, plan_links
from betaalreis.banking.invoice_index import InvoiceIndex, PaymentKeys
from betaalreis.banking.models import BankTransaction, MatchCandidate, MatchRule
from betaalreis.banking.reversals import EMPTY_END_TO_END_IDS, add_reversal_candidates
from betaalreis.banking.rules import Decision, Matcher
from betaalreis.banking.settled_invoices import name_settled_invoices, name_unpaid_invoices
from betaalreis.dunning.bulk import insert_rows as insert_rows_with_ids
from betaalreis.dunning.bulk import values_subquery
from betaalreis.ledger.actions import do_reverse_payment
from betaalreis.ledger.models import Creditor, Payment, PaymentStatus

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
SOURCE = "bank matching"
# Decisions are written per chunk, each in one transaction, so a crash loses
# at most one chunk and the database commits once per chunk, not per payment.
CHUNK = 10000


@dataclass
class MatchReport:
    """Counts and amounts of one matching run, per outcome."""

    payments: int = 0
    matched: int = 0
    matched_amount: Decimal = ZERO
    partly: int = 0
    partly_amount: Decimal = ZERO
    # Incoming payments sent to review; reversals sent to review are counted apart,
    # so their negative amounts do not lower the review total.
    review: int = 0
    review_amount: Decimal = ZERO
    reversals_to_review: int = 0
    reversals_to_review_amount: Decimal = ZERO
    reversed: int = 0
    reversed_amount: Decimal = ZERO
    credit_amount: Decimal = ZERO
    # Payer IBANs linked to a debtor because a payment named the debtor for certain.
    ibans_linked: int = 0
    by_rule: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class PendingPayment:
    """The fields of a new payment that matching reads, without a model instance."""

    id: int
    amount: Decimal
    currency: str
    payer_name: str
    payer_iban: str
    structured_reference: str
    remittance_info: str
    # Whether a person's confirmation of an earlier decision is on the row, which a new decision clears.
    confirmed: bool = False


def _pending(
    creditor: Creditor, payments: Iterable[Payment | int] | None, booked_by: dt.date
) -> list[PendingPayment]:
    queryset = Payment.objects.filter(creditor=creditor, status=PaymentStatus.NEW, booking_date__lte=booked_by)
    wanted: set[int] | None = None
    if payments is not None:
        wanted = {item if isinstance(item, int) else item.pk for item in payments}
        if not wanted:
            return []
    rows = queryset.order_by("booking_date", "id").values_list(
        "id", "amount", "currency", "payer_name", "payer_iban", "structured_reference", "remittance_info",
        "match_confirmed_by_id", "match_confirmed_at",
    )
    # Filtering in Python keeps the query small when the import hands over
    # 100,000 ids, which would exceed SQLite's limit on query parameters.
    return [
        PendingPayment(
            pk, money_from_db(amount), currency, payer_name, payer_iban, structured_reference, remittance_info,
            confirmed_by_id is not None or confirmed_at is not None,
        )
        for pk, amount, currency, payer_name, payer_iban, structured_reference, remittance_info, confirmed_by_id, confirmed_at
        in raw_rows(rows)
        if wanted is None or pk in wanted
    ]


def _decision_values(decision: Decision, decided_at: object) -> tuple:
    """Return the values of DECISION_COLUMNS for a decision of matching, which no person has confirmed."""
    return (decision.reason, decision.rule, decision.score, decided_at, None, None)


def _queue_for_review(creditor: Creditor, reviews: dict[int, Decision], payments: dict[int, PendingPayment], report: MatchReport) -> None:
    if not reviews:
        return

    ids = list(reviews)
    decided_at = connection.ops.adapt_datetimefield_value(timezone.now())
    review = PaymentStatus.REVIEW.value
    # The confirmation columns are cleared only where they are set (see UNCONFIRMED_DECISION_COLUMNS).
    unconfirmed_rows: list[tuple] = []
    confirmed_rows: list[tuple] = []
    for payment_id, decision in reviews.items():
        values = _decision_values(decision, decided_at)
        if payments[payment_id].confirmed:
            confirmed_rows.append((review, *values, payment_id))
        else:
            unconfirmed_rows.append((review, *values[:len(UNCONFIRMED_DECISION_COLUMNS)], payment_id))
    update_values(Payment._meta.db_table, ("status", *UNCONFIRMED_DECISION_COLUMNS), unconfirmed_rows)
    update_values(Payment._meta.db_table, ("status", *DECISION_COLUMNS), confirmed_rows)
    for payment_id in ids:
        amount = payments[payment_id].amount
        if amount < 0:
            report.reversals_to_review += 1
            report.reversals_to_review_amount += amount
        else:
            report.review += 1
            report.review_amount += amount

    MatchCandidate.objects.filter(payment_id__in=values_subquery(ids, array_type="bigint")).delete()
    candidate_rows: list[dict[str, object]] = []
    invoice_lists: list[list[int]] = []
    for payment_id, decision in reviews.items():
        for debtor_id, invoices, rule, score, reason in decision.candidates:
            candidate_rows.append({
                "creditor_id": creditor.pk, "payment_id": payment_id, "debtor_id": debtor_id,
                "rule": rule, "score": score, "reason": reason,
            })
            invoice_lists.append([invoice.id for invoice in invoices])
    candidate_ids = insert_rows_with_ids(MatchCandidate, candidate_rows)
    insert_values(
        MatchCandidate.invoices.through._meta.db_table,
        ("matchcandidate_id", "invoice_id"),
        [
            (candidate_id, invoice_id)
            for candidate_id, invoice_ids in zip(candidate_ids, invoice_lists, strict=True)
            for invoice_id in invoice_ids
        ],
    )


def _reverse(creditor: Creditor, pending: PendingPayment, index: InvoiceIndex, report: MatchReport) -> Decision | None:
    """Undo the payment that a reversal (negative amount) reverses, or return a review decision."""
    payment = Payment.objects.get(pk=pending.id)
    original, why_not = _find_original(creditor, payment)
    if original is None:
        return Decision(MatchRule.REVERSAL, 0, why_not)

    reason = f"reversal of payment {original.pk}"
    for invoice in do_reverse_payment(original, reversal=payment, source=SOURCE, reason=reason):
        index.settle(invoice.pk, invoice.open_amount)
    decision = _decision_values(Decision(MatchRule.REVERSAL, 100, reason), timezone.now())
    Payment.objects.filter(pk=payment.pk).update(**dict(zip(DECISION_COLUMNS, decision, strict=True)))
    report.reversed += 1
    report.reversed_amount += payment.amount
    return None


def _find_original(creditor: Creditor, reversal: Payment) -> tuple[Payment | None, str]:
    """Find the one earlier payment that `reversal` undoes; return it, or None and the review reason.

    The original is the only payment of the opposite amount with the
    reversal's end-to-end id. Failing that, it is the only one from the payer
    IBAN, or, when the IBAN paid this amount several times, the only one of
    those under the same payer name. Anything less certain goes to review,
    because undoing the wrong payment reopens another debtor's invoice.
    """
    originals = (
        Payment.objects.filter(creditor=creditor, amount=-reversal.amount, currency=reversal.currency, amount__gt=0)
        .exclude(status=PaymentStatus.REVERSED)
        .order_by("-booking_date", "-id")
    )

    transactions = BankTransaction.objects.filter(payment=reversal)
    end_to_end_id = transactions.values_list("end_to_end_id", flat=True).first() or ""
    if end_to_end_id.upper() not in EMPTY_END_TO_END_IDS:
        same_id = list(originals.filter(bank_transaction__end_to_end_id=end_to_end_id)[:2])
        if len(same_id) == 1:
            return same_id[0], ""
        if same_id:
            return None, f"reversal: several earlier payments have its end-to-end id {end_to_end_id}"

    same_payer = list(originals.filter(payer_iban=reversal.payer_iban)) if reversal.payer_iban else []
    if len(same_payer) == 1:
        return same_payer[0], ""
    if not same_payer:
        return None, "reversal: no earlier payment of this amount has its end-to-end id or payer IBAN"

    name = _comparable_name(reversal.payer_name)
    same_name = [original for original in same_payer if name and _comparable_name(original.payer_name) == name]
    if len(same_name) == 1:
        return same_name[0], ""
    return None, f"reversal: {len(same_payer)} earlier payments of this amount from payer IBAN {reversal.payer_iban}"


def _comparable_name(name: str) -> str:
    return " ".join(name.casefold().split())


def _allocate(
    creditor: Creditor,
    decided: dict[int, Decision],
    payments: dict[int, PendingPayment],
    index: InvoiceIndex,
    report: MatchReport,
) -> tuple[dict[int, Decision], list[int]]:
    """Allocate the decided payments; return the ones that found nothing open to pay, for review, and the allocated ids."""
    plans = [
        PlannedAllocation(
            payment_id, [invoice.id for invoice in decision.invoices], decision.reason, decision.rule, decision.score
        )
        for payment_id, decision in decided.items()
    ]
    outcomes = allocate_in_bulk(creditor.pk, plans, source=SOURCE, mark_partly=True)

    leftovers: dict[int, Decision] = {}
    allocated: list[int] = []
    for payment_id, decision in decided.items():
        outcome = outcomes.get(payment_id)
        if outcome is None:
            # No longer new: another run or a person handled it meanwhile.
            continue
        if not outcome.lines:
            leftovers[payment_id] = name_unpaid_invoices(decision, payments[payment_id].currency)
            continue
        allocated.append(payment_id)

        for invoice_id, _, open_amount in outcome.lines:
            index.settle(invoice_id, open_amount)
        amount = payments[payment_id].amount
        if any(open_amount > 0 for _, _, open_amount in outcome.lines):
            report.partly += 1
            report.partly_amount += amount
        else:
            report.matched += 1
            report.matched_amount += amount
            report.credit_amount += outcome.remaining
        report.by_rule[decision.rule] = report.by_rule.get(decision.rule, 0) + 1
    return leftovers, allocated


def match_payments(
    creditor: Creditor, payments: Iterable[Payment | int] | None = None, *, booked_by: dt.date | None = None
) -> MatchReport:
    """Match the creditor's new payments (or those of `payments` still new) and return a report.

    Only payments booked on or before `booked_by` (by default today in
    Amsterdam) are matched, so a run for a past day (`run --date`) never
    applies money that arrived after that day. Later ones stay new until a
    run for their booking day or after. With nothing new this costs one
    query and loads no invoices, so the daily run can call it first thing.
    """
    with cyclic_gc_paused():
        return _match(creditor, payments, booked_by or timezone.localdate())


def _match(creditor: Creditor, payments: Iterable[Payment | int] | None, booked_by: dt.date) -> MatchReport:
    pending = _pending(creditor, payments, booked_by)
    report = MatchReport(payments=len(pending))
    if not pending:
        return report

    index = InvoiceIndex(creditor)
    matcher = Matcher(index)
    handed_over = handed_over_invoice_ids(creditor)
    for start in range(0, len(pending), CHUNK):
        chunk = {payment.id: payment for payment in pending[start:start + CHUNK]}
        with transaction.atomic():
            decided: dict[int, Decision] = {}
            reviews: dict[int, Decision] = {}
            reversals = [payment for payment in chunk.values() if payment.amount < 0]
            incoming = [payment for payment in chunk.values() if payment.amount >= 0]
            unmatched: list[tuple[int, PaymentKeys]] = []
            review_keys: dict[int, PaymentKeys] = {}
            for payment, keys in zip(incoming, index.prefetch(incoming), strict=True):
                decision = review_large_overpayment(payment.amount, payment.currency, matcher.decide(payment, keys))
                if handed_over:
                    decision = review_handed_over(decision, handed_over)
                if decision.invoices:
                    decided[payment.id] = decision
                    # Later payments in this chunk must not count these invoices as open.
                    _reserve(index, payment, decision)
                else:
                    reviews[payment.id] = decision
                    review_keys[payment.id] = keys
                    if decision.rule == MatchRule.NONE and not decision.candidates:
                        unmatched.append((payment.id, keys))
            if unmatched:
                paid_in_chunk = {
                    invoice.id for decision in decided.values() for invoice in decision.invoices if invoice.open_amount <= 0
                }
                name_settled_invoices(creditor, unmatched, reviews, paid_in_chunk)

            leftovers, allocated = _allocate(creditor, decided, chunk, index, report)
            reviews.update(leftovers)
            learned = plan_links(index, ((payment_id, chunk[payment_id].payer_iban, decided[payment_id]) for payment_id in allocated))
            if learned:
                link_ibans(creditor, index, learned, source=SOURCE)
                report.ibans_linked += len(learned)
                reviews.update(_redecide_from_learned(
                    creditor, matcher, learned, reviews, review_keys, chunk, index, report, handed_over
                ))
            # Reversals come after the allocations, so a payment and its
            # reversal in one file end with the invoices open again.
            for payment in reversals:
                review = _reverse(creditor, payment, index, report)
                if review is not None:
                    reviews[payment.id] = review
            propose_amount_candidates(creditor, reviews, chunk)
            _queue_for_review(creditor, reviews, chunk, report)
            add_reversal_candidates(creditor, [payment.id for payment in reversals if payment.id in reviews])

    logger.info(
        "payments matched",
        extra={
            "creditor_id": creditor.pk,
            "payments": report.payments,
            "matched": report.matched,
            "partly": report.partly,
            "review": report.review,
        },
    )
    return report


def _redecide_from_learned(
    creditor: Creditor,
    matcher: Matcher,
    learned: list[LearnedIban],
    reviews: dict[int, Decision],
    review_keys: dict[int, PaymentKeys],
    chunk: dict[int, PendingPayment],
    index: InvoiceIndex,
    report: MatchReport,
    handed_over: frozenset[int],
) -> dict[int, Decision]:
    """Decide again the reviewed payments of this chunk from a just linked IBAN; return their new review decisions.

    Another payment from the same account may quote a garbled number. With
    the link, the payer IBAN rule pays it when the amount fits, or makes the
    debtor its candidate. The new decision replaces the review only when it
    pays invoices or lists candidates where the old one had none. Payments
    that it pays are allocated here and removed from `reviews`.
    """
    ibans = {link.iban for link in learned}
    decided: dict[int, Decision] = {}
    changed: dict[int, Decision] = {}
    for payment_id, old in reviews.items():
        payment = chunk.get(payment_id)
        keys = review_keys.get(payment_id)
        if payment is None or keys is None or not payment.payer_iban or compact_iban(payment.payer_iban) not in ibans:
            continue
        decision = review_large_overpayment(payment.amount, payment.currency, matcher.decide(payment, keys))
        decision = review_handed_over(decision, handed_over)
        if decision.invoices:
            decided[payment_id] = decision
            _reserve(index, payment, decision)
        elif decision.candidates and not old.candidates:
            changed[payment_id] = decision
    if not decided:
        return changed

    for payment_id in decided:
        del reviews[payment_id]
    leftovers, _ = _allocate(creditor, decided, chunk, index, report)
    changed.update(leftovers)
    return changed


def _reserve(index: InvoiceIndex, payment: PendingPayment, decision: Decision) -> None:
    """Lower the index's open amounts as the allocation will, before it is written."""
    remaining = payment.amount
    for invoice in decision.invoices:
        if remaining <= 0:
            break
        if invoice.currency != payment.currency or invoice.open_amount <= 0:
            continue
        applied = min(remaining, invoice.open_amount)
        index.settle(invoice.id, invoice.open_amount - applied)
        remaining -= applied
