"""Debtors whose dunning waits for a decision on a payment in the review queue.

A payment the matcher could not place with enough certainty waits in review
with its candidate debtors. Any of them may be the payer, so none of them is
reminded until someone confirms or ignores the payment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Max
from django.utils import timezone

from betaalreis.banking.models import MatchCandidate
from betaalreis.ledger.models import Invoice, Payment, PaymentStatus, TimelineEvent, TimelineKind
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

# Key in a timeline event's data that names the payment the pause waits for.
REVIEW_PAYMENT_KEY = "review_payment_id"


@dataclass(frozen=True, slots=True)
class PaymentInReview:
    payment_id: int
    amount: Decimal
    currency: str


def payments_in_review_by_debtor(creditor_id: int) -> dict[int, list[PaymentInReview]]:
    """Return the incoming payments in review per debtor: candidates and linked debtors. Two queries."""
    by_debtor: dict[int, set[PaymentInReview]] = defaultdict(set)
    candidates = MatchCandidate.objects.filter(
        creditor_id=creditor_id, payment__status=PaymentStatus.REVIEW, payment__amount__gt=0
    ).values_list("debtor_id", "payment_id", "payment__amount", "payment__currency")
    linked = Payment.objects.filter(
        creditor_id=creditor_id, status=PaymentStatus.REVIEW, amount__gt=0, debtor__isnull=False
    ).values_list("debtor_id", "id", "amount", "currency")
    for rows in (candidates, linked):
        for debtor_id, payment_id, amount, currency in rows:
            by_debtor[debtor_id].add(PaymentInReview(payment_id, amount, currency))
    return {
        debtor_id: sorted(payments, key=lambda payment: payment.payment_id)
        for debtor_id, payments in by_debtor.items()
    }


def debtor_ids_with_payment_in_review(creditor_id: int) -> set[int]:
    """Return ids of the creditor's debtors that are a candidate for a payment in review."""
    return set(payments_in_review_by_debtor(creditor_id))


def note_review_pauses(creditor_id: int, at: dt.datetime, source: str) -> frozenset[int]:
    """Write a timeline line when a payment in review first pauses a debtor; return all such debtors.

    One line per debtor and payment, so a daily run does not repeat it.
    """
    by_debtor = payments_in_review_by_debtor(creditor_id)
    if not by_debtor:
        return frozenset()

    noted = set(
        TimelineEvent.objects.filter(
            creditor_id=creditor_id, kind=TimelineKind.PAYMENT, data__has_key=REVIEW_PAYMENT_KEY
        ).values_list("debtor_id", f"data__{REVIEW_PAYMENT_KEY}")
    )
    events = [
        TimelineEvent(
            creditor_id=creditor_id,
            debtor_id=debtor_id,
            kind=TimelineKind.PAYMENT,
            at=at,
            source=source,
            summary=(
                f"Aanmaningen gepauzeerd: betaling van {format_money(payment.amount, payment.currency)} "
                "wacht op beoordeling"
            ),
            data={REVIEW_PAYMENT_KEY: payment.payment_id},
        )
        for debtor_id, payments in sorted(by_debtor.items())
        for payment in payments
        if (debtor_id, payment.payment_id) not in noted
    ]
    TimelineEvent.objects.bulk_create(events, batch_size=2000)
    return frozenset(by_debtor)


def reopen_reviews_after_new_invoices(creditor_id: int, booked_by: dt.date | None = None) -> int:
    """Put back to new the incoming payments in review that were decided before the newest invoice.

    A payment often arrives before its invoice is imported. Once an invoice
    newer than the review decision exists, the next `match_payments` tries
    the payment again. It is then matched, or it goes back to review with
    fresh candidates and a new decision time. So it is not tried again
    until another invoice arrives. Payments a person confirmed are left alone,
    and so are payments booked after `booked_by` (by default today), because
    a run for an earlier day does not match them and they would leave the
    review queue until a later run.
    Returns how many payments were reopened.
    """
    newest_invoice = Invoice.objects.filter(creditor_id=creditor_id).aggregate(newest=Max("created_at"))["newest"]
    if newest_invoice is None:
        return 0

    reopened = Payment.objects.filter(
        creditor_id=creditor_id,
        status=PaymentStatus.REVIEW,
        amount__gt=0,
        match_decided_at__lt=newest_invoice,
        match_confirmed_by__isnull=True,
        booking_date__lte=booked_by or timezone.localdate(),
    ).update(status=PaymentStatus.NEW)
    if reopened:
        logger.info("review payments reopened", extra={"creditor_id": creditor_id, "payments": reopened})
    return reopened
