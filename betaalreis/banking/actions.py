"""State changes made by a person on bank payments: confirming a match from the review queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from betaalreis.banking.confirmation import record_confirmation
from betaalreis.banking.models import MatchCandidate, MatchRule
from betaalreis.banking.reversals import do_confirm_reversal
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import (
    Allocation,
    Debtor,
    DebtorBankAccount,
    Invoice,
    Payment,
    PaymentStatus,
    TimelineKind,
)
from betaalreis.ledger.validators import normalize_iban

logger = logging.getLogger(__name__)


@transaction.atomic
def do_confirm_match(
    payment: Payment,
    debtor: Debtor,
    invoices: Sequence[Invoice] | None = None,
    *,
    user: AbstractBaseUser | None,
    source: str = "review queue",
) -> list[Allocation]:
    """Allocate a reviewed payment to a debtor's invoices and teach the matcher the payer IBAN.

    Without `invoices`, the debtor's open invoices are paid oldest due date
    first. The payer IBAN is linked to the debtor, so the next payment from
    that account matches by rule 3. Who confirmed is kept on the PaymentMatch.
    Raise InvalidInput when the payment is not in review or belongs elsewhere.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.REVIEW:
        raise InvalidInput(
            f"Payment {payment.pk} has status {payment.status!r}; only payments in review can be confirmed."
        )
    if debtor.creditor_id != payment.creditor_id:
        raise InvalidInput(f"Debtor {debtor.pk} belongs to another creditor than payment {payment.pk}.")
    if invoices and any(invoice.debtor_id != debtor.pk for invoice in invoices):
        raise InvalidInput(f"Every invoice must belong to debtor {debtor.customer_number}.")

    reason = f"confirmed by {getattr(user, 'get_username', lambda: 'system')()}"
    payment.debtor = debtor
    payment.match_reason = reason[:300]
    payment.save(update_fields=["debtor", "match_reason"])
    allocations = do_allocate_payment(payment, list(invoices) if invoices else None, source=source, reason=reason)
    if not allocations:
        # Nothing open to pay: the whole payment is a credit of this debtor.
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.MATCHED)

    linked = False
    if payment.payer_iban:
        iban = normalize_iban(payment.payer_iban)
        _, linked = DebtorBankAccount.objects.get_or_create(
            creditor_id=payment.creditor_id, debtor=debtor, iban=iban, defaults={"source": "manual match"}
        )

    record_confirmation(payment, MatchRule.MANUAL, reason, user)

    timeline.record(
        debtor,
        TimelineKind.PAYMENT,
        "Betaling handmatig gekoppeld" + (" en rekening onthouden" if linked else ""),
        source=source,
        data={"payment_id": payment.pk, "allocations": len(allocations), "iban_linked": linked},
    )
    logger.info(
        "payment match confirmed",
        extra={"payment_id": payment.pk, "debtor_id": debtor.pk, "creditor_id": payment.creditor_id},
    )
    return allocations


def do_confirm_candidate(candidate: MatchCandidate, *, user: AbstractBaseUser | None) -> list[Allocation]:
    """Confirm one candidate of the review queue: its debtor and, if it lists any, its invoices.

    A reversal's candidate names the earlier payment it undoes, and
    confirming it reverses that payment, which allocates nothing.
    """
    if candidate.original_payment_id is not None:
        do_confirm_reversal(candidate.payment, candidate.original_payment, user=user)
        return []
    invoices = list(candidate.invoices.all())
    return do_confirm_match(candidate.payment, candidate.debtor, invoices or None, user=user)
