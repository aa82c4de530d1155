"""Postal codes: the Dutch check and normal form that imports and forms share."""

from __future__ import annotations

from django.utils.translation import gettext
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.nl import postcode

# The length of `Debtor.postal_code` and `Creditor.postal_code`.
MAX_POSTAL_CODE_LENGTH = 16


class InvalidPostalCode(ValueError):
    """A postal code that cannot be stored. The message states the problem and the fix, in the active language."""


def normalize_postal_code(raw: str, country: str) -> str:
    """Return a Dutch postcode as `1234 AB`, and another country's code as written without outer spaces.

    An empty country counts as the Netherlands. Raises InvalidPostalCode for
    a Dutch code that is not four digits and two letters, and for another
    country's code longer than the database column.
    """
    if country not in ("", "NL"):
        if len(raw.strip()) > MAX_POSTAL_CODE_LENGTH:
            raise InvalidPostalCode(gettext(
                "is langer dan %(maximum)d tekens, dus geen postcode; verbeter de postcode"
            ) % {"maximum": MAX_POSTAL_CODE_LENGTH})
        return raw.strip()

    try:
        return postcode.validate(raw)
    except StdnumError as exc:
        raise InvalidPostalCode(gettext(
            "geen Nederlandse postcode; schrijf vier cijfers en twee letters, zoals 1234 AB"
        )) from exc
