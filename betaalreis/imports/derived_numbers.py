"""Customer numbers for Moneybird exports that have none, derived from the contact.

Moneybird writes the customer's name under "Contact" and leaves the customer
number out of an invoice export unless the user adds the column. The ledger
keeps one debtor per customer number, so such a row gets a number derived
from what it has: Moneybird's contact id when the file has that column,
else the contact's name and address. Both give the same number on every
import of the same contact. A derived number starts with "MB-", so it never
equals a customer number that the accounting package assigned.
"""

from __future__ import annotations

import hashlib

PREFIX = "MB-"
# Hex digits of the SHA-256 digest kept in a number derived from name and
# address. 64 bits make it about 3 in a trillion that two of 10,000 different
# contacts get the same number (birthday bound).
DIGEST_LENGTH = 16


def derive_customer_number(contact_id: str, name: str, street: str, postal_code: str, city: str) -> str:
    """Return the customer number of a contact without one, or "" when neither a contact id nor a name is given.

    Case, repeated spaces and the space in a postal code do not change the
    number. A contact whose name or address changes in Moneybird gets a new
    number, and so becomes a new debtor.
    """
    contact_id = contact_id.strip()
    if contact_id:
        return PREFIX + contact_id
    if not name.strip():
        return ""

    parts = [_plain(name), _plain(street), postal_code.replace(" ", "").upper(), _plain(city)]
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return PREFIX + digest[:DIGEST_LENGTH].upper()


def _plain(text: str) -> str:
    return " ".join(text.casefold().split())
