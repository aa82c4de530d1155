"""Column headers of invoice exports, in Dutch and English, and bank-export signs.

Headers are compared after `normalize_header`, so `Factuurnr.`, `factuur nr`
and `FACTUURNR` are the same header. The field names on the left are also
the keys of the `[columns]` table of a mapping file.
"""

from __future__ import annotations

import re
import unicodedata

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The name of each field in problem texts, for a file that has no column header for it.
FIELD_LABELS: dict[str, Promise] = {
    "invoice_number": _("factuurnummer"),
    "customer_number": _("debiteurnummer"),
    "name": _("naam"),
    "company_name": _("bedrijfsnaam"),
    "contact_person": _("contactpersoon"),
    "email": _("e-mailadres"),
    "mobile": _("mobiel nummer"),
    "phone": _("telefoonnummer"),
    "street": _("adres"),
    "postal_code": _("postcode"),
    "city": _("plaats"),
    "country": _("land"),
    "language": _("taal"),
    "kind": _("particulier of zakelijk"),
    "kvk_number": _("KvK-nummer"),
    "vat_id": _("btw-nummer"),
    "electronic_agreement": _("akkoord met elektronische communicatie"),
    "iban": _("IBAN"),
    "issue_date": _("factuurdatum"),
    "due_date": _("vervaldatum"),
    "total": _("totaalbedrag"),
    "open_amount": _("openstaand bedrag"),
    "currency": _("valuta"),
    "payment_reference": _("betalingskenmerk"),
    "description": _("omschrijving"),
    "status": _("status"),
    "corrects_number": _("gecrediteerde factuur"),
    "contact_id": _("contact-id (Moneybird)"),
}


def field_label(field_name: str) -> str:
    """Return the name of a field in the active language, such as "vervaldatum"."""
    return str(FIELD_LABELS[field_name])


_ALIASES: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "factuurnummer", "factuurnr", "factuur nr", "factuur nummer", "fact nr", "factnr",
        "invoice number", "invoice no", "invoice nr", "invoice #", "invoice", "document number",
        "boekstuknummer", "boekstuk nr",
    ),
    "customer_number": (
        "debiteurnummer", "debiteurnr", "debiteur nr", "deb nr", "debnr", "debiteur nummer",
        "klantnummer", "klantnr", "klant nr", "relatienummer", "relatienr", "relatie nr",
        "relatiecode", "relatie code", "debiteurcode", "debiteur code", "klantcode",
        "nummer debiteur", "nummer relatie", "customer number", "customer id", "customer no",
        "customer nr", "debtor number", "debtor id", "account code", "client number", "client id",
    ),
    "name": (
        "naam", "name", "debiteurnaam", "naam debiteur", "klantnaam", "naam klant",
        "relatienaam", "naam relatie", "customer name", "customer", "debtor name", "client name",
    ),
    "company_name": ("bedrijfsnaam", "company name", "company", "organisatie", "organisation"),
    "contact_person": (
        "contactpersoon", "contact persoon", "contact person", "t a v", "tav",
        "attn", "attention",
    ),
    "email": (
        "e mail", "email", "e mailadres", "emailadres", "e mail adres", "email address",
        "e mail address", "mail", "mailadres",
    ),
    "mobile": (
        "mobiel", "mobiel nummer", "mobielnummer", "mobiele telefoon", "mobile", "mobile phone",
        "mobile number", "gsm", "06 nummer", "cell phone",
    ),
    "phone": (
        "telefoon", "telefoonnummer", "telefoon nummer", "tel", "tel nr", "telnr", "phone",
        "telephone", "phone number", "billing phone",
    ),
    "street": (
        "adres", "straat", "straat en huisnummer", "straat huisnummer", "address", "street",
        "street address", "billing address", "postadres",
    ),
    "postal_code": ("postcode", "zip", "zip code", "zipcode", "postal code", "billing code"),
    "city": ("plaats", "woonplaats", "stad", "vestigingsplaats", "city", "town", "billing city"),
    "country": ("land", "landcode", "country", "country code", "billing country"),
    "language": ("taal", "language", "lang", "correspondentietaal"),
    "kind": (
        "soort", "soort debiteur", "type debiteur", "particulier zakelijk", "debtor type",
        "customer type",
    ),
    "kvk_number": ("kvk", "kvk nummer", "kvknummer", "kvk nr", "coc", "coc number",
                   "chamber of commerce number"),
    "vat_id": ("btw", "btw nummer", "btwnummer", "btw id", "btw nr", "vat", "vat number", "vat id",
               "vat no", "tax id"),
    "electronic_agreement": (
        "akkoord met elektronische communicatie", "akkoord elektronische communicatie",
        "akkoord digitale communicatie", "akkoord e mail", "akkoord email", "e mail akkoord",
        "email akkoord", "toestemming e mail", "toestemming email", "elektronische communicatie",
        "agreed to electronic communication", "electronic communication agreed",
        "electronic communication", "email consent", "e mail consent", "consent to email",
    ),
    "iban": ("iban", "iban nr", "iban nummer", "rekeningnummer debiteur", "bank account",
             "iban debiteur"),
    "issue_date": (
        "factuurdatum", "datum factuur", "boekstuk", "boekstukdatum", "boekstuk datum",
        "datum boekstuk", "invoice date", "document date", "date of invoice", "boekstuk date",
    ),
    "due_date": (
        "vervaldatum", "vervalt", "vervaldag", "verval datum", "uiterste betaaldatum",
        "due date", "due", "payment due date", "date due",
    ),
    "total": (
        "bedrag", "totaal", "totaalbedrag", "factuurbedrag", "bedrag incl btw", "totaal incl btw",
        "factuurbedrag incl btw", "totaalbedrag incl btw", "bedrag factuur",
        "total", "amount", "invoice amount", "invoice total", "total amount", "gross amount",
    ),
    "open_amount": (
        "openstaand", "openstaand bedrag", "openstaand saldo", "bedrag openstaand",
        "saldo openstaand", "saldo", "open saldo", "restant", "nog te betalen",
        "te betalen", "open amount", "open", "balance", "balance due", "amount due",
        "outstanding", "outstanding amount",
    ),
    "currency": ("valuta", "munt", "valutacode", "valuta code", "currency", "currency code"),
    "payment_reference": (
        "betalingskenmerk", "betaalkenmerk", "kenmerk", "payment reference", "payment id",
        "structured reference",
    ),
    "description": (
        "omschrijving", "omschrijving factuur", "factuuromschrijving", "description", "subject",
        "onderwerp",
    ),
    "status": ("status", "factuurstatus", "invoice status"),
    "corrects_number": (
        "originele factuur", "oorspronkelijke factuur", "gecrediteerde factuur",
        "credit voor factuur", "original invoice", "corrects invoice", "credited invoice",
    ),
    # Moneybird's own record id of a contact, used only when a row has no customer number.
    "contact_id": ("contact id", "contactid", "moneybird id"),
}

# "Factuur" is the invoice number in some exports and the invoice amount in
# others (next to a "Factuurnr." column). It is read as the total only when
# another column already gives the invoice number.
AMBIGUOUS_TOTAL_HEADERS = ("factuur",)

# Headers that are the customer number in some exports and the name in
# others: one package writes "Relatie" for the code next to a "Naam" column,
# another for the name next to a "Relatiecode" column. Such a header takes
# whichever of the two fields no other column gives.
NAME_OR_NUMBER_HEADERS = ("relatie", "debiteur", "klant")

# Moneybird writes the customer's name under "Contact". Next to a name or
# company name column, "Contact" is the contact person.
NAME_OR_CONTACT_HEADERS = ("contact",)

# A plain "Datum" or "Date" next to a due date column is the invoice date.
# It is read as such only when no other column is the invoice date: next to
# "Factuurdatum" it may be a booking or print date, so it stays unused and the
# report names it. NOTE: no package documentation at hand confirmed which
# exports write it; an e-Boekhouden export seen in use does.
DATE_OR_OTHER_HEADERS = ("datum", "date")

HEADER_ALIASES: dict[str, str] = {
    alias: field for field, aliases in _ALIASES.items() for alias in aliases
}

# Headers found only in bank account exports, never in an invoice list.
_BANK_HEADERS = {
    "af bij", "bij af", "af of bij", "debet credit", "tegenrekening", "tegenrekening iban",
    "mutatiesoort", "saldo na mutatie", "saldo na boeking", "rentedatum", "valutadatum",
    "transactiedatum", "boekdatum", "omschrijving 1", "naam tegenpartij", "operation number",
    "counterparty", "counter account", "balance after", "value date", "booking date",
    "transaction date",
}
# First cells of rows around the table in bank sheet exports.
_BANK_PREAMBLE = re.compile(
    r"^(bank code|account number|account name|balance at (end|start)|opening balance|"
    r"closing balance|beginsaldo|eindsaldo|rekeningnummer|rekeninghouder)\b"
)


def normalize_header(text: str) -> str:
    """Return a header in the form the alias tables use: lower case, no accents or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    plain = re.sub(r"[^0-9a-z#]+", " ", plain.lower())
    return plain.strip()


def bank_export_reason(rows: list[list[str]]) -> str | None:
    """Return why these first rows look like a bank account export, or None.

    The reason names the headers or preamble rows that gave it away, for the
    message that asks the user to import a camt.053 or MT940 file instead.
    """
    signs: list[str] = []
    for cells in rows:
        normalized = [normalize_header(cell) for cell in cells]
        signs += [cell for cell, key in zip(cells, normalized) if key in _BANK_HEADERS]
        if {"debit", "credit"} <= set(normalized) or {"debet", "credit"} <= set(normalized):
            signs.append(gettext("kolommen Debit/Credit"))
        if normalized and normalized[0] and _BANK_PREAMBLE.match(normalized[0]):
            signs.append(cells[0].strip())
    if not signs:
        return None

    unique = list(dict.fromkeys(signs))[:4]
    return ", ".join(repr(sign) for sign in unique)
