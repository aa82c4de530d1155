"""The match decision that records who confirmed or ignored a payment from the review queue."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DateTimeField, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from betaalreis.banking.models import MatchCandidate
from betaalreis.ledger.models import Payment


def record_confirmation(
    payment: Payment, rule: str, reason: str, user: AbstractBaseUser | None, *, score: int = 100
) -> None:
    """Store on the payment a match decision made by `user` and drop its review candidates."""
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(
        match_rule=rule,
        match_score=score,
        match_reason=reason,
        # A payment that matching decided keeps the time of that decision.
        match_decided_at=Coalesce("match_decided_at", Value(now, output_field=DateTimeField())),
        match_confirmed_by=user if user is not None and user.pk else None,
        match_confirmed_at=now,
    )
    MatchCandidate.objects.filter(payment=payment).delete()
