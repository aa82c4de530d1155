"""The PaymentMatch row that records who confirmed or ignored a payment from the review queue."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from betaalreis.banking.models import MatchCandidate, PaymentMatch
from betaalreis.ledger.models import Payment


def record_confirmation(
    payment: Payment, rule: str, reason: str, user: AbstractBaseUser | None, *, score: int = 100
) -> None:
    """Replace the payment's PaymentMatch with one decided by `user` and drop its review candidates."""
    PaymentMatch.objects.update_or_create(
        payment=payment,
        defaults={
            "creditor_id": payment.creditor_id,
            "rule": rule,
            "score": score,
            "reason": reason[:300],
            "confirmed_by": user if user is not None and user.pk else None,
            "confirmed_at": timezone.now(),
        },
    )
    MatchCandidate.objects.filter(payment=payment).delete()
