"""Checks on the input of `betaalreis.legal.claims.compute_claim`.

Each check raises InvalidInput that names the value and what to do, so a
caller gets a message it can act on, not a bare decimal or date error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.numbers import is_currency

from betaalreis.errors import InvalidInput
from betaalreis.ledger.money import CENT

ZERO = Decimal("0.00")

if TYPE_CHECKING:
    from betaalreis.legal.claims import ClaimItem, ClaimPayment

# Largest principal or payment accepted: one trillion in the claim's currency.
# Larger amounts are input errors, and they would overflow the 28 digits of
# the default Decimal context when rounded.
MAXIMUM_AMOUNT = Decimal("1000000000000.00")

# Last day a claim may run to. No real claim runs this far, and the limit
# keeps the day arithmetic of the computation inside the range of `date`.
LAST_CLAIM_DATE = dt.date(2199, 12, 31)

# The BIK scale and its EUR 40 minimum are set in euro. Converting them into
# another currency is not supported, so claims in other currencies are rejected.
CLAIM_CURRENCY = "EUR"


def validate_claim_input(
    items: Sequence[ClaimItem],
    payments: Sequence[ClaimPayment],
    on: dt.date,
    term_end: dt.date | None,
    currency: str,
) -> None:
    """Raise InvalidInput for the first invalid value of a claim."""
    validate_currency(currency)
    validate_date("claim date", on)
    if term_end is not None:
        validate_date("14-day term end", term_end)

    if not items:
        raise InvalidInput("A claim needs at least one invoice; none was given.")

    numbers = [item.invoice_number for item in items]
    repeated = sorted({number for number in numbers if numbers.count(number) > 1})
    if repeated:
        raise InvalidInput(f"Invoice numbers {repeated} appear more than once in the claim.")

    for item in items:
        validate_amount(
            f"Invoice {item.invoice_number}: principal",
            item.principal,
            "leave paid invoices and credit notes out",
        )
        validate_date(f"Invoice {item.invoice_number}: due date", item.due_date)
        if not ZERO <= item.unnamed_principal <= item.principal:
            raise InvalidInput(
                f"Invoice {item.invoice_number}: unnamed principal {item.unnamed_principal} is outside "
                f"0 to its principal {item.principal}; pass the part of the principal raised after the letter."
            )
        if item.default_date is not None:
            validate_date(f"Invoice {item.invoice_number}: default date", item.default_date)
        for part in item.later_parts:
            validate_amount(f"Invoice {item.invoice_number}: later part", part.amount, "leave empty parts out")
            validate_date(f"Invoice {item.invoice_number}: due date of a later part", part.due_date)
            if part.due_date < item.due_date:
                raise InvalidInput(
                    f"Invoice {item.invoice_number}: later part due {part.due_date} is before the invoice's "
                    f"due date {item.due_date}. Pass it as part of the principal instead."
                )
        later = sum((part.amount for part in item.later_parts), ZERO)
        if later > item.principal:
            raise InvalidInput(
                f"Invoice {item.invoice_number}: later parts of {later} exceed its principal {item.principal}. "
                "Pass only the parts that are still part of the principal."
            )

    for payment in payments:
        validate_date("Payment date", payment.paid_on)
        validate_amount(
            f"Payment of {payment.paid_on}: amount",
            payment.amount,
            "subtract reversed payments before the claim",
        )
        if payment.paid_on > on:
            raise InvalidInput(
                f"Payment of {payment.paid_on} is after the claim date {on}. "
                "Leave later payments out or compute the claim on a later day."
            )
        if payment.invoice_number is not None and payment.invoice_number not in numbers:
            raise InvalidInput(
                f"Payment of {payment.paid_on} names invoice {payment.invoice_number!r}, "
                "which is not in the claim."
            )


def validate_amount(label: str, amount: object, hint: str) -> None:
    """Raise InvalidInput unless `amount` is a positive Decimal in whole cents up to the maximum."""
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"{label} {amount!r} is invalid. Give a positive Decimal; {hint}.")

    if amount > MAXIMUM_AMOUNT:
        raise InvalidInput(
            f"{label} {amount} is above the maximum of {MAXIMUM_AMOUNT}. "
            "Check the amount for a typing error."
        )

    if amount != amount.quantize(CENT):
        raise InvalidInput(
            f"{label} {amount} has more than two decimals. "
            "Give the amount in whole cents, as on the invoice."
        )


def validate_date(label: str, day: object) -> None:
    """Raise InvalidInput unless `day` is a date (not a datetime) up to LAST_CLAIM_DATE."""
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise InvalidInput(f"{label} {day!r} is invalid. Give a datetime.date without a time.")

    if day > LAST_CLAIM_DATE:
        raise InvalidInput(
            f"{label} {day} is invalid: claims run to {LAST_CLAIM_DATE} at the latest. "
            "Check the date for a typing error."
        )


def validate_currency(currency: str) -> None:
    """Raise InvalidInput unless `currency` is EUR, naming why other ISO 4217 codes are rejected."""
    if not isinstance(currency, str) or not is_currency(currency):
        raise InvalidInput(
            f"Invalid currency code {currency!r}: give an ISO 4217 code such as EUR."
        )

    if currency != CLAIM_CURRENCY:
        raise InvalidInput(
            f"Claims in {currency} are not supported: the statutory collection costs "
            "(BIK scale, EUR 40 minimum) are set in euro and are not converted. "
            "Compute the claim in EUR or handle this debtor by hand.",
            code="currency_not_supported",
        )
