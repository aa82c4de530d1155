"""Reversals (storno, R-transactions) that matching could not link to the payment they undo.

Matching links a reversal by end-to-end id or payer IBAN (`matching._reverse`).
When neither finds exactly one original, the reversal goes to review.
`add_reversal_candidates` then lists the earlier payments it may undo, which
are matched payments of the opposite amount in the same currency. Those that
share the end-to-end id, the payer IBAN or the description come first. Confirming one
(`do_confirm_reversal`) undoes that payment with `ledger.actions.do_reverse_payment`,
so its invoices are open again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from betaalreis.banking.confirmation import record_confirmation
from betaalreis.banking.models import BankTransaction, MatchCandidate, MatchRule
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_reverse_payment
from betaalreis.ledger.models import Creditor, Payment, PaymentStatus, TimelineKind
from betaalreis.ledger.money import format_money

logger = logging.getLogger(__name__)

# At most this many earlier payments are listed per reversal, best first.
MAX_REVERSAL_CANDIDATES = 5
# End-to-end ids that banks write when the payer gave none; they link nothing.
EMPTY_END_TO_END_IDS = frozenset({"", "NOTPROVIDED", "NONREF"})
REVERSIBLE_STATUSES = (PaymentStatus.MATCHED, PaymentStatus.PARTLY_MATCHED)


def _end_to_end_id(payment: Payment) -> str:
    found = BankTransaction.objects.filter(payment=payment).values_list("end_to_end_id", flat=True).first() or ""
    return "" if found.upper() in EMPTY_END_TO_END_IDS else found


def reversal_candidates(reversal: Payment) -> list[tuple[Payment, int, str]]:
    """Return the earlier payments `reversal` may undo, with a score and a reason, best first."""
    originals = list(
        Payment.objects.filter(
            creditor_id=reversal.creditor_id,
            amount=-reversal.amount,
            currency=reversal.currency,
            status__in=REVERSIBLE_STATUSES,
            booking_date__lte=reversal.booking_date,
            debtor__isnull=False,
        )
        .select_related("debtor")
        .order_by("-booking_date", "-id")
    )
    end_to_end_id = _end_to_end_id(reversal)
    ids_of_originals = dict(
        BankTransaction.objects.filter(payment__in=originals).values_list("payment_id", "end_to_end_id")
    ) if end_to_end_id else {}

    scored: list[tuple[Payment, int, str]] = []
    for original in originals:
        score, why = 20, "zelfde bedrag"
        if end_to_end_id and ids_of_originals.get(original.pk) == end_to_end_id:
            score, why = 80, "zelfde end-to-end-id"
        elif reversal.payer_iban and original.payer_iban == reversal.payer_iban:
            score, why = 70, "zelfde IBAN betaler"
        elif reversal.remittance_info and original.remittance_info.strip() == reversal.remittance_info.strip():
            score, why = 50, "zelfde omschrijving"
        reason = (
            f"terugboeking van betaling {original.pk} van {original.booking_date.isoformat()} "
            f"({format_money(original.amount, original.currency)}, {original.payer_name or 'onbekende betaler'}): {why}"
        )
        scored.append((original, score, reason))
    scored.sort(key=lambda item: -item[1])
    return scored[:MAX_REVERSAL_CANDIDATES]


def add_reversal_candidates(creditor: Creditor, reversal_ids: Iterable[int]) -> None:
    """Write a review candidate per earlier payment that each reversal in review may undo."""
    for reversal in Payment.objects.filter(creditor=creditor, pk__in=list(reversal_ids), status=PaymentStatus.REVIEW):
        candidates = reversal_candidates(reversal)
        for original, score, reason in candidates:
            candidate = MatchCandidate.objects.create(
                creditor=creditor,
                payment=reversal,
                debtor_id=original.debtor_id,
                original_payment=original,
                rule=MatchRule.REVERSAL,
                score=score,
                reason=reason,
            )
            candidate.invoices.set(original.allocations.values_list("invoice_id", flat=True))
        if candidates:
            listed = "1 earlier payment" if len(candidates) == 1 else f"{len(candidates)} earlier payments"
            reason = f"{reversal.match_reason}; {listed} of this amount listed as candidates"
            Payment.objects.filter(pk=reversal.pk).update(match_reason=reason)


@transaction.atomic
def do_confirm_reversal(
    reversal: Payment,
    original: Payment,
    *,
    user: AbstractBaseUser | None,
    source: str = "review queue",
) -> None:
    """Link a reversal in review to the payment it undoes, reverse that payment and reopen its invoices.

    Raise InvalidInput when the reversal is not in review, or the original
    belongs to another creditor, has another amount or is not matched.
    """
    reversal = Payment.objects.select_for_update().get(pk=reversal.pk)
    original = Payment.objects.select_for_update().get(pk=original.pk)
    if reversal.status != PaymentStatus.REVIEW:
        raise InvalidInput(
            f"Betaling {reversal.pk} heeft status {reversal.get_status_display()}; alleen te beoordelen betalingen kunnen worden gekoppeld."
        )
    if original.creditor_id != reversal.creditor_id:
        raise InvalidInput(f"Betaling {original.pk} hoort bij een andere crediteur dan terugboeking {reversal.pk}.")
    if reversal.amount >= 0 or original.amount != -reversal.amount or original.currency != reversal.currency:
        raise InvalidInput(
            f"Terugboeking {reversal.pk} ({format_money(reversal.amount, reversal.currency)}) past niet bij "
            f"betaling {original.pk} ({format_money(original.amount, original.currency)})."
        )
    if original.status not in REVERSIBLE_STATUSES:
        raise InvalidInput(f"Betaling {original.pk} heeft status {original.get_status_display()} en kan niet worden teruggeboekt.")

    username = getattr(user, "get_username", lambda: "system")()
    reason = f"reversal of payment {original.pk}, confirmed by {username}"
    do_reverse_payment(original, reversal=reversal, source=source, reason=reason)
    Payment.objects.filter(pk=reversal.pk).update(match_reason=reason)
    record_confirmation(reversal, MatchRule.REVERSAL, reason, user)

    if original.debtor_id is not None:
        timeline.record(
            original.debtor_id,
            TimelineKind.PAYMENT,
            f"Terugboeking {format_money(reversal.amount, reversal.currency)} handmatig gekoppeld aan betaling "
            f"van {original.booking_date.isoformat()}",
            source=source,
            creditor_id=original.creditor_id,
            data={"payment_id": original.pk, "reversal_id": reversal.pk},
        )
    logger.info(
        "reversal confirmed",
        extra={"payment_id": original.pk, "reversal_id": reversal.pk, "creditor_id": reversal.creditor_id},
    )
