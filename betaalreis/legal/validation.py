"""Checks on the input of `betaalreis.legal.claims.compute_claim`.

Each check raises InvalidInput that names the value and what to do, so a
caller gets a message it can act on, not a bare decimal or date error. The
messages are Dutch, or English while English is the active language.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.numbers import is_currency
from django.utils.translation import gettext

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
    validate_date(gettext("datum van de vordering"), on)
    if term_end is not None:
        validate_date(gettext("einde van de termijn van 14 dagen"), term_end)

    if not items:
        raise InvalidInput(gettext("Een vordering heeft minstens één factuur nodig; er is er geen gegeven."))

    numbers = [item.invoice_number for item in items]
    repeated = sorted({number for number in numbers if numbers.count(number) > 1})
    if repeated:
        raise InvalidInput(gettext(
            "Factuurnummers %(numbers)s komen meer dan eens voor in de vordering."
        ) % {"numbers": repeated})

    for item in items:
        _validate_item(item)

    for payment in payments:
        _validate_payment(payment, on, numbers)


def _validate_item(item: ClaimItem) -> None:
    invoice = {"number": item.invoice_number}
    validate_amount(
        gettext("Factuur %(number)s: hoofdsom") % invoice,
        item.principal,
        gettext("laat betaalde facturen en creditnota's weg"),
    )
    validate_date(gettext("Factuur %(number)s: vervaldatum") % invoice, item.due_date)
    if not ZERO <= item.unnamed_principal <= item.principal:
        raise InvalidInput(gettext(
            "Factuur %(number)s: niet in de brief genoemde hoofdsom %(unnamed)s ligt buiten 0 tot haar "
            "hoofdsom %(principal)s; geef het deel van de hoofdsom dat na de brief is verhoogd."
        ) % {**invoice, "unnamed": item.unnamed_principal, "principal": item.principal})
    if item.default_date is not None:
        validate_date(gettext("Factuur %(number)s: verzuimdatum") % invoice, item.default_date)

    for part in item.later_parts:
        validate_amount(
            gettext("Factuur %(number)s: later deel") % invoice, part.amount, gettext("laat lege delen weg")
        )
        validate_date(gettext("Factuur %(number)s: vervaldatum van een later deel") % invoice, part.due_date)
        if part.due_date < item.due_date:
            raise InvalidInput(gettext(
                "Factuur %(number)s: later deel met vervaldatum %(part_due)s ligt voor de vervaldatum "
                "%(due)s van de factuur. Geef het in plaats daarvan mee als deel van de hoofdsom."
            ) % {**invoice, "part_due": part.due_date, "due": item.due_date})

    later = sum((part.amount for part in item.later_parts), ZERO)
    if later > item.principal:
        raise InvalidInput(gettext(
            "Factuur %(number)s: latere delen van %(later)s zijn meer dan haar hoofdsom %(principal)s. "
            "Geef alleen de delen die nog bij de hoofdsom horen."
        ) % {**invoice, "later": later, "principal": item.principal})


def _validate_payment(payment: ClaimPayment, on: dt.date, numbers: list[str]) -> None:
    validate_date(gettext("Betaaldatum"), payment.paid_on)
    validate_amount(
        gettext("Betaling van %(paid)s: bedrag") % {"paid": payment.paid_on},
        payment.amount,
        gettext("trek teruggeboekte betalingen eerst af"),
    )
    if payment.paid_on > on:
        raise InvalidInput(gettext(
            "Betaling van %(paid)s ligt na de datum van de vordering %(on)s. "
            "Laat latere betalingen weg of bereken de vordering op een latere dag."
        ) % {"paid": payment.paid_on, "on": on})
    if payment.invoice_number is not None and payment.invoice_number not in numbers:
        raise InvalidInput(gettext(
            "Betaling van %(paid)s noemt factuur %(number)r, die niet in de vordering staat."
        ) % {"paid": payment.paid_on, "number": payment.invoice_number})


def validate_amount(label: str, amount: object, hint: str) -> None:
    """Raise InvalidInput unless `amount` is a positive Decimal in whole cents up to the maximum.

    `label` names the amount and `hint` is the correction to suggest, both in the active language.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
        raise InvalidInput(gettext(
            "%(label)s %(amount)r is ongeldig. Geef een positieve Decimal; %(hint)s."
        ) % {"label": label, "amount": amount, "hint": hint})

    if amount > MAXIMUM_AMOUNT:
        raise InvalidInput(gettext(
            "%(label)s %(amount)s is meer dan het maximum van %(maximum)s. "
            "Controleer het bedrag op een tikfout."
        ) % {"label": label, "amount": amount, "maximum": MAXIMUM_AMOUNT})

    if amount != amount.quantize(CENT):
        raise InvalidInput(gettext(
            "%(label)s %(amount)s heeft meer dan twee decimalen. "
            "Geef het bedrag in hele centen, zoals op de factuur."
        ) % {"label": label, "amount": amount})


def validate_date(label: str, day: object) -> None:
    """Raise InvalidInput unless `day` is a date (not a datetime) up to LAST_CLAIM_DATE.

    `label` names the date in the active language.
    """
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise InvalidInput(gettext(
            "%(label)s %(day)r is ongeldig. Geef een datetime.date zonder tijd."
        ) % {"label": label, "day": day})

    if day > LAST_CLAIM_DATE:
        raise InvalidInput(gettext(
            "%(label)s %(day)s is ongeldig: een vordering loopt uiterlijk tot %(last)s. "
            "Controleer de datum op een tikfout."
        ) % {"label": label, "day": day, "last": LAST_CLAIM_DATE})


def validate_currency(currency: str) -> None:
    """Raise InvalidInput unless `currency` is EUR, naming why other ISO 4217 codes are rejected."""
    if not isinstance(currency, str) or not is_currency(currency):
        raise InvalidInput(gettext(
            "Ongeldige valutacode %(currency)r: geef een ISO 4217-code zoals EUR."
        ) % {"currency": currency})

    if currency != CLAIM_CURRENCY:
        raise InvalidInput(
            gettext(
                "Vorderingen in %(currency)s worden niet ondersteund: de wettelijke incassokosten "
                "(BIK-staffel, minimaal EUR 40) zijn in euro vastgesteld en worden niet omgerekend. "
                "Bereken de vordering in EUR of behandel deze debiteur met de hand."
            ) % {"currency": currency},
            code="currency_not_supported",
        )
