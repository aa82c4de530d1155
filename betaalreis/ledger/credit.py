"""A debtor's credit: money received that pays no invoice, and its refund.

The credit on a matched payment is its amount less its allocations and less
what was refunded of it. A refund is a payment row with a negative amount
that points at the payment it draws on (`Payment.reverses`), like a bank
reversal. A real reversal also sets the original to status reversed, so
the reversals of a payment that is still matched are refunds of its credit.
The daily run pays later invoices from what is left
(`betaalreis.banking.credit.apply_credit`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.models import (
    ZERO,
    Allocation,
    Debtor,
    Payment,
    PaymentSource,
    PaymentStatus,
    TimelineKind,
)
from betaalreis.ledger.money import CENT, format_money

logger = logging.getLogger(__name__)

# Statuses of payments whose unallocated rest is the debtor's credit.
CREDIT_STATUSES = (PaymentStatus.MATCHED, PaymentStatus.PARTLY_MATCHED)


def _sum_of(queryset: QuerySet) -> Coalesce:
    return Coalesce(
        Subquery(queryset.values("total")[:1]), Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def with_credit(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate `allocated`, `refunded` (zero or negative) and `credit` on each payment.

    Subqueries keep the two sums from multiplying each other, as two joins would.
    SQLite stores decimals as binary floating point, so its sums carry noise
    such as 2.7e-17 where a payment is fully allocated. The credit is rounded
    to cents in SQL, so `credit > 0` never picks up that noise.
    """
    allocated = (
        Allocation.objects.filter(payment=OuterRef("pk")).values("payment").annotate(total=Sum("amount"))
    )
    refunded = Payment.objects.filter(reverses=OuterRef("pk")).values("reverses").annotate(total=Sum("amount"))
    return payments.annotate(allocated=_sum_of(allocated), refunded=_sum_of(refunded)).annotate(
        credit=Round(
            F("amount") - F("allocated") + F("refunded"), 2, output_field=DecimalField(max_digits=14, decimal_places=2)
        )
    )


def credit_payments(debtor_ids: Sequence[int]) -> QuerySet[Payment]:
    """Return the debtors' payments that still carry credit, oldest first, annotated by `with_credit`."""
    payments = Payment.objects.filter(debtor_id__in=debtor_ids, status__in=CREDIT_STATUSES, amount__gt=0)
    return with_credit(payments).filter(credit__gt=0).order_by("booking_date", "pk")


def debtor_credit(debtor_ids: Sequence[int]) -> dict[int, dict[str, Decimal]]:
    """Return each debtor's credit per currency; debtors without credit are left out."""
    totals: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for payment in credit_payments(debtor_ids):
        by_currency = totals[payment.debtor_id]
        by_currency[payment.currency] = (by_currency.get(payment.currency, ZERO) + payment.credit).quantize(CENT)
    return dict(totals)


def mask_iban(iban: str) -> str:
    """Return an IBAN with only its country, check digits and last four characters, for records and logs."""
    if len(iban) <= 8:
        return iban
    return f"{iban[:4]}{'*' * (len(iban) - 8)}{iban[-4:]}"


@dataclass(frozen=True, slots=True)
class CreditRefund:
    """A recorded refund: the rows written and the credit left in that currency."""

    refunds: list[Payment]
    amount: Decimal
    currency: str
    credit_left: Decimal


@transaction.atomic
def do_refund_credit(
    debtor: Debtor,
    *,
    currency: str = "EUR",
    amount: Decimal | None = None,
    refunded_on: dt.date,
    source: str,
    note: str = "",
    iban: str = "",
) -> CreditRefund:
    """Record that `amount` of the debtor's credit (default all of it) was paid back to the debtor.

    Draws on the oldest payments with credit first and writes one refund
    row per payment drawn on, with a timeline event. The money itself is
    transferred outside Betaalreis, to `iban` when given, which the refund
    rows keep as the counterparty account. Raises InvalidInput when the
    debtor has no credit in `currency` or less than `amount`.
    """
    Debtor.objects.select_for_update().filter(pk=debtor.pk).first()
    payments = [payment for payment in credit_payments([debtor.pk]) if payment.currency == currency]
    available = sum((payment.credit for payment in payments), ZERO).quantize(CENT)
    wanted = available if amount is None else amount
    if available <= ZERO:
        raise InvalidInput(f"Debtor {debtor.customer_number} has no credit in {currency} to refund.",
                           code="no_credit")
    if wanted <= ZERO or wanted > available:
        raise InvalidInput(
            f"Refund {currency} {wanted} is not between 0.01 and the credit of {currency} {available} "
            f"of debtor {debtor.customer_number}.",
            code="refund_amount",
        )

    refunds: list[Payment] = []
    left = wanted
    for payment in payments:
        if left <= ZERO:
            break
        part = min(left, payment.credit)
        refunds.append(
            Payment.objects.create(
                creditor_id=debtor.creditor_id,
                debtor=debtor,
                source=PaymentSource.MANUAL,
                external_id=f"credit-refund:{payment.pk}:{payment.refunded - part}",
                booking_date=refunded_on,
                value_date=refunded_on,
                amount=-part,
                currency=currency,
                payer_name=debtor.name[:200],
                payer_iban=iban[:34],
                remittance_info=f"refund of credit on payment {payment.pk}" + (f": {note}" if note else ""),
                status=PaymentStatus.MATCHED,
                reverses=payment,
                match_reason="credit refund",
            )
        )
        left -= part

    summary = (
        f"Tegoed terugbetaald: {format_money(wanted, currency)} op {refunded_on:%d-%m-%Y}; "
        f"{format_money(available - wanted, currency)} tegoed over"
    )
    if note:
        summary += f" ({note})"
    timeline.record(
        debtor,
        TimelineKind.PAYMENT,
        summary[:500],
        source=source,
        creditor_id=debtor.creditor_id,
        data={"refund_ids": [refund.pk for refund in refunds], "amount": str(wanted),
              "credit_left": str(available - wanted), "currency": currency, "iban": mask_iban(iban)},
    )
    logger.info("credit refunded", extra={"debtor_id": debtor.pk, "refunds": len(refunds)})
    return CreditRefund(refunds, wanted, currency, available - wanted)
