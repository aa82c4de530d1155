"""The compact (electronic) form of an IBAN, in which the project stores and compares IBANs."""

from __future__ import annotations


def compact_iban(value: str) -> str:
    """Return `value` without spaces and in upper case, as an IBAN is stored and compared.

    It does not validate, so it also compacts a domestic account number, or
    an IBAN with wrong check digits as test files have. Use
    `betaalreis.ledger.validators.normalize_iban`, which parses with schwifty,
    where the IBAN must be valid. Only spaces are removed, so a tab or line
    break inside an account stays. schwifty's `IBAN(...).compact` removes
    all whitespace (schwifty 2026.10.1).
    """
    return value.replace(" ", "").upper()
