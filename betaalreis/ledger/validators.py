"""Field validators for bank and contact data."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from schwifty.exceptions import SchwiftyException
from stdnum.eu import vat
from stdnum.exceptions import ValidationError as StdnumError


# Reasons for schwifty's errors in the active language. An error that is
# not listed keeps schwifty's English text.
_SCHWIFTY_REASONS: dict[type[SchwiftyException], Promise] = {
    schwifty_errors.InvalidChecksumDigits: gettext_lazy("de controlecijfers kloppen niet"),
    schwifty_errors.InvalidLength: gettext_lazy("de lengte klopt niet"),
    schwifty_errors.InvalidCountryCode: gettext_lazy("onbekende landcode"),
    schwifty_errors.InvalidStructure: gettext_lazy("ongeldige tekens of opbouw"),
    schwifty_errors.InvalidBBANChecksum: gettext_lazy("het nationale controlecijfer klopt niet"),
    schwifty_errors.InvalidBankCode: gettext_lazy("onbekende bankcode"),
}


def _schwifty_reason(error: SchwiftyException) -> str:
    for error_class in type(error).__mro__:
        reason = _SCHWIFTY_REASONS.get(error_class)
        if reason is not None:
            return str(reason)
    return str(error)


def validate_iban(value: str) -> None:
    """Raise ValidationError (code invalid_iban) in the active language unless `value` is a valid IBAN."""
    try:
        IBAN(value)
    except SchwiftyException as exc:
        message = gettext("Ongeldige IBAN %(value)r: %(reason)s. Controleer de tekens.")
        raise ValidationError(
            message % {"value": value, "reason": _schwifty_reason(exc)}, code="invalid_iban"
        ) from exc


def is_valid_iban(value: str) -> bool:
    """Return whether `value` is an IBAN with a valid country, length and check digits."""
    try:
        IBAN(value)
    except SchwiftyException:
        return False
    return True


def validate_bic(value: str) -> None:
    """Raise ValidationError (code invalid_bic) in the active language unless `value` is empty or a valid BIC."""
    if not value:
        return
    try:
        BIC(value)
    except SchwiftyException as exc:
        message = gettext("Ongeldige BIC %(value)r: %(reason)s. Verbeter de BIC of laat hem weg.")
        raise ValidationError(
            message % {"value": value, "reason": _schwifty_reason(exc)}, code="invalid_bic"
        ) from exc


def bic_mismatch(iban: str, bic: str) -> str | None:
    """Return why `bic` cannot belong to the bank of `iban`, and the fix, or None when it can or is unknown.

    The text is in the active language. The bank and country part of a BIC (its first six characters) must equal
    those of the BIC that schwifty's bank registry lists for the IBAN's bank
    code. An IBAN whose bank the registry does not list is not checked.
    """
    try:
        parsed_iban = IBAN(iban)
        expected = parsed_iban.bic
        parsed_bic = BIC(bic)
    except SchwiftyException:
        return None
    if expected is None or str(expected)[:6] == str(parsed_bic)[:6]:
        return None
    return gettext(
        "BIC %(bic)s hoort niet bij de bank van IBAN %(iban)s, die BIC %(expected)s heeft; "
        "verbeter de BIC of laat hem weg"
    ) % {"bic": parsed_bic, "iban": parsed_iban.formatted, "expected": expected}


# The only form of a brand colour that the portal's style sheet and the
# letters use. They replace any other value with the default blue.
BRAND_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def validate_brand_colour(value: str) -> None:
    """Raise ValidationError (code invalid_colour) in the active language unless `value` is # and six hex digits."""
    if BRAND_COLOUR.fullmatch(value):
        return
    raise ValidationError(
        gettext(
            '"%(value)s" is geen geldige huisstijlkleur. Vul # in met zes hexadecimale cijfers (0-9, a-f), '
            "zoals #0b7a3e."
        ),
        code="invalid_colour",
        params={"value": value},
    )


def validate_e164(value: str) -> None:
    """Raise ValidationError (code invalid_phone) in the active language unless `value` is empty or valid E.164."""
    if not value:
        return
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise _invalid_phone(value) from exc
    if not phonenumbers.is_valid_number(parsed) or value != phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164
    ):
        raise _invalid_phone(value)


def _invalid_phone(value: str) -> ValidationError:
    message = gettext("Ongeldig telefoonnummer %(value)r: gebruik E.164-notatie, bijvoorbeeld +31612345678.")
    return ValidationError(message % {"value": value}, code="invalid_phone")


def normalize_iban(value: str) -> str:
    """Return the electronic form of an IBAN (no spaces, upper case), validated."""
    return IBAN(value).compact


def normalize_vat_id(value: str) -> str:
    """Return an EU VAT id in its compact form (NL004495445B01), checked by python-stdnum.

    Raises `ValueError` naming the value when it is no valid EU VAT id.
    """
    try:
        return vat.validate(value)
    except StdnumError as exc:
        raise ValueError(f"not a valid EU VAT id: {value!r}") from exc


def normalize_phone(value: str, region: str = "NL") -> str:
    """Return `value` as E.164, reading national numbers in `region`.

    Raises `ValueError` naming the value when it is not a valid number.
    """
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
