"""Checking and normalising debtor data read from a file.

Each function returns the value in the form the ledger stores, or raises
`ValueProblem` with a message that states what is wrong and what to write.
The messages are our own, translated, and never a library's exception text.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from babel import Locale
from babel.numbers import list_currencies
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext
from schwifty import IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError

from betaalreis.imports.values import ValueProblem
from betaalreis.ledger.models import DebtorKind, Language
from betaalreis.ledger.postal_codes import InvalidPostalCode, normalize_postal_code
from betaalreis.ledger.validators import normalize_phone
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference

_KINDS = {
    "particulier": DebtorKind.CONSUMER, "consument": DebtorKind.CONSUMER,
    "consumer": DebtorKind.CONSUMER, "private": DebtorKind.CONSUMER, "person": DebtorKind.CONSUMER,
    "prive": DebtorKind.CONSUMER, "privé": DebtorKind.CONSUMER, "b2c": DebtorKind.CONSUMER,
    "p": DebtorKind.CONSUMER,
    "zakelijk": DebtorKind.BUSINESS, "bedrijf": DebtorKind.BUSINESS,
    "business": DebtorKind.BUSINESS, "company": DebtorKind.BUSINESS,
    "organisatie": DebtorKind.BUSINESS, "b2b": DebtorKind.BUSINESS,
    "z": DebtorKind.BUSINESS,
}
_LANGUAGES = {
    "nl": Language.DUTCH, "nld": Language.DUTCH, "dut": Language.DUTCH,
    "nederlands": Language.DUTCH, "dutch": Language.DUTCH, "nl nl": Language.DUTCH,
    "nl be": Language.DUTCH, "vlaams": Language.DUTCH,
    "en": Language.ENGLISH, "eng": Language.ENGLISH, "engels": Language.ENGLISH,
    "english": Language.ENGLISH, "en gb": Language.ENGLISH, "en us": Language.ENGLISH,
}
_MAX_PAYMENT_REFERENCE_LENGTH = 35
# Column lengths of the ledger: longer numbers would be cut and could collide.
MAX_NUMBER_LENGTH = 64


def check_number_length(raw: str) -> str:
    """Return an invoice or customer number, or raise when the ledger cannot store it whole."""
    if len(raw) > MAX_NUMBER_LENGTH:
        raise ValueProblem(gettext(
            "is langer dan %(maximum)d tekens; maak het nummer in de boekhouding korter"
        ) % {"maximum": MAX_NUMBER_LENGTH})
    return raw


# Maximum text length the ledger stores per field. A longer value is rejected, not
# cut, so a letter never prints half a name or street.
MAX_TEXT_LENGTHS = {
    "name": 200,
    "company_name": 200,
    "contact_person": 200,
    "street": 200,
    "city": 100,
    "description": 500,
}


def check_text_length(field_name: str, raw: str) -> str:
    """Return `raw`, or raise ValueProblem when it is longer than the ledger stores for `field_name`."""
    maximum = MAX_TEXT_LENGTHS[field_name]
    if len(raw) > maximum:
        raise ValueProblem(gettext(
            "is %(length)d tekens lang, maar er passen er %(maximum)d; kort de waarde in de bron in"
        ) % {"length": len(raw), "maximum": maximum})
    return raw


# Yes and no as exports write them, in Dutch and English. XLSX booleans read as "true" and "false".
_YES_NO = {
    "ja": True, "j": True, "yes": True, "y": True, "true": True, "waar": True, "1": True, "x": True,
    "nee": False, "n": False, "no": False, "false": False, "onwaar": False, "0": False,
}


def parse_yes_no(raw: str) -> bool:
    """Parse a yes/no cell such as "ja", "nee", "yes" or "1"."""
    value = _YES_NO.get(raw.strip().lower())
    if value is None:
        raise ValueProblem(gettext("ongeldige waarde; schrijf ja of nee"))
    return value


def parse_kind(raw: str) -> str:
    kind = _KINDS.get(raw.strip().lower())
    if kind is None:
        raise ValueProblem(gettext("onbekende soort debiteur; schrijf particulier of zakelijk"))
    return kind


# Legal forms of companies, by their letters without dots. Only companies
# have them, so a name ending in one is a business debtor.
_LEGAL_FORMS = {
    "bv": "B.V.", "nv": "N.V.", "vof": "V.O.F.", "cv": "C.V.", "bvba": "B.V.B.A.",
    "sa": "S.A.", "gmbh": "GmbH", "ltd": "Ltd",
}
# The last word of a name, with or without dots or spaces between its letters ("B.V.", "B. V.", "BV").
_LAST_WORD = re.compile(r"(?:^|[\s,])((?:[a-z]\.?\s?){2,4})$", re.IGNORECASE)


def legal_form(name: str) -> str:
    """Return the legal form a debtor's name ends in ("B.V.", "GmbH"), or "" when it has none."""
    match = _LAST_WORD.search(name.strip())
    if match is None:
        return ""
    letters = re.sub(r"[^a-z]", "", match.group(1).lower())
    return _LEGAL_FORMS.get(letters, "")


def parse_language(raw: str) -> str:
    key = re.sub(r"[^a-z]+", " ", raw.strip().lower()).strip()
    language = _LANGUAGES.get(key)
    if language is None:
        raise ValueProblem(gettext(
            "onbekende taal; Betaalreis schrijft debiteuren in het Nederlands of Engels, dus schrijf nl of en"
        ))
    return language


@functools.cache
def _country_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for locale in ("nl", "en"):
        for code, name in Locale(locale).territories.items():
            if len(code) == 2 and code.isalpha():
                names[name.lower()] = code
                names[code.lower()] = code
    names["holland"] = "NL"
    return names


def parse_country(raw: str) -> str:
    code = _country_names().get(raw.strip().lower())
    if code is None:
        raise ValueProblem(gettext("onbekend land; schrijf een ISO-landcode zoals NL of BE"))
    return code


def parse_currency(raw: str) -> str:
    code = raw.strip().upper()
    if code == "€":
        return "EUR"
    if code not in _currency_codes():
        raise ValueProblem(gettext("onbekende valuta; schrijf een ISO 4217-code zoals EUR"))
    return code


@functools.cache
def _currency_codes() -> frozenset[str]:
    return frozenset(list_currencies())


def parse_emails(raw: str) -> list[str]:
    """Split a cell with one or more addresses (`;` or `,` between them) and check each."""
    addresses = [part.strip() for part in re.split(r"[;,\s]+", raw) if part.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValueProblem(
                gettext("%(address)r is geen geldig e-mailadres; verbeter het adres") % {"address": address}
            ) from exc
    return addresses


def parse_phone(raw: str, country: str, *, mobile: bool) -> str:
    """Return the number as E.164; a national number is read in `country`."""
    try:
        number = _normalize_phone_cached(raw, country or "NL")
    except ValueError as exc:
        raise ValueProblem(
            gettext("geen geldig telefoonnummer; schrijf het als 06 12345678 of +31612345678")
        ) from exc

    if mobile and not is_mobile(number):
        raise ValueProblem(gettext(
            "geen mobiel nummer, dus een sms komt niet aan; zet het in de kolom telefoon"
        ))
    return number


# A debtor's number repeats on each of its invoices, and parsing a number
# costs about a tenth of a millisecond, so results are kept per process.
_normalize_phone_cached = functools.lru_cache(maxsize=100_000)(normalize_phone)


@functools.lru_cache(maxsize=100_000)
def is_mobile(e164: str) -> bool:
    kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def parse_postal_code(raw: str, country: str) -> str:
    """Return a Dutch postcode as `1234 AB`; other countries' codes are kept as written."""
    try:
        return normalize_postal_code(raw, country)
    except InvalidPostalCode as exc:
        raise ValueProblem(str(exc)) from exc


def parse_kvk_number(raw: str) -> str:
    digits = re.sub(r"[\s.]", "", raw)
    if not re.fullmatch(r"[0-9]{8}", digits):
        raise ValueProblem(gettext("een KvK-nummer heeft 8 cijfers; verbeter het nummer"))
    return digits


def parse_vat_id(raw: str) -> str:
    try:
        return vat.validate(raw)
    except StdnumError as exc:
        raise ValueProblem(gettext(
            "geen geldig btw-nummer uit de EU; schrijf de landcode en het nummer, zoals NL004495445B01"
        )) from exc


def parse_iban(raw: str) -> str:
    try:
        return IBAN(raw).compact
    except SchwiftyException as exc:
        raise ValueProblem(iban_problem(exc)) from exc


def iban_problem(exc: SchwiftyException) -> str:
    """Return our own text for why schwifty rejected an IBAN, in the active language."""
    if isinstance(exc, InvalidCountryCode):
        return gettext("geen geldig IBAN: het begint niet met een bekende landcode zoals NL; controleer het begin")
    if isinstance(exc, InvalidLength):
        return gettext(
            "geen geldig IBAN: het aantal tekens past niet bij het land; controleer of er een teken "
            "ontbreekt of te veel is"
        )
    if isinstance(exc, (InvalidChecksumDigits, InvalidBBANChecksum)):
        return gettext("geen geldig IBAN: de controlecijfers kloppen niet; controleer de cijfers")
    return gettext(
        "geen geldig IBAN: de opbouw klopt niet voor dit land; schrijf alleen letters en cijfers, "
        "zoals NL91ABNA0417164300"
    )


def parse_payment_reference(raw: str) -> str:
    """Check a betalingskenmerk or RF reference; keep other references as text.

    A value of only digits in a betalingskenmerk length (7, 9 to 14, 16) or
    starting with RF must carry a correct check digit, because a bank
    rejects a wrong one.
    """
    text = raw.strip()
    compact = text.replace(" ", "")
    if compact.isdigit() and len(compact) in (7, 9, 10, 11, 12, 13, 14, 16):
        if not is_valid_betalingskenmerk(compact):
            raise ValueProblem(gettext(
                "het controlecijfer van het betalingskenmerk klopt niet; neem het kenmerk over van de factuur"
            ))
        return compact
    if compact.upper().startswith("RF") and compact[2:4].isdigit():
        if not is_valid_rf_reference(compact):
            raise ValueProblem(gettext(
                "de controlecijfers van de RF-referentie kloppen niet; neem de referentie over van de factuur"
            ))
        return compact.upper()
    if len(text) > _MAX_PAYMENT_REFERENCE_LENGTH:
        raise ValueProblem(gettext(
            "is langer dan %(maximum)d tekens, het maximum van SEPA; maak het betalingskenmerk korter"
        ) % {"maximum": _MAX_PAYMENT_REFERENCE_LENGTH})
    return text
