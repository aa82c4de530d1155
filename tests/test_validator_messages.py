"""The IBAN, BIC and phone number validators report errors in the active language, Dutch or English."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from betaalreis.ledger.validators import validate_bic, validate_e164, validate_iban


def validation_error(validator, value: str, language: str) -> ValidationError:
    with translation.override(language), pytest.raises(ValidationError) as raised:
        validator(value)
    return raised.value


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        (
            "NL91ABNA0417164301",
            "nl",
            "Ongeldige IBAN 'NL91ABNA0417164301': de controlecijfers kloppen niet. Controleer de tekens.",
        ),
        (
            "NL91ABNA0417164301",
            "en",
            "Invalid IBAN 'NL91ABNA0417164301': the check digits do not match. Check the characters.",
        ),
        ("NL91ABNA041716430", "nl", "Ongeldige IBAN 'NL91ABNA041716430': de lengte klopt niet. Controleer de tekens."),
        ("NL91ABNA041716430", "en", "Invalid IBAN 'NL91ABNA041716430': the length is wrong. Check the characters."),
        ("XX91ABNA0417164300", "nl", "Ongeldige IBAN 'XX91ABNA0417164300': onbekende landcode. Controleer de tekens."),
        ("XX91ABNA0417164300", "en", "Invalid IBAN 'XX91ABNA0417164300': unknown country code. Check the characters."),
        (
            "NL91ABNA04171643O0",
            "nl",
            "Ongeldige IBAN 'NL91ABNA04171643O0': ongeldige tekens of opbouw. Controleer de tekens.",
        ),
        (
            "NL91ABNA04171643O0",
            "en",
            "Invalid IBAN 'NL91ABNA04171643O0': invalid characters or structure. Check the characters.",
        ),
    ],
)
def test_invalid_iban_message(value: str, language: str, expected: str) -> None:
    error = validation_error(validate_iban, value, language)

    assert error.messages == [expected]
    assert error.code == "invalid_iban"


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        ("INGBNL2", "nl", "Ongeldige BIC 'INGBNL2': de lengte klopt niet. Verbeter de BIC of laat hem weg."),
        ("INGBNL2", "en", "Invalid BIC 'INGBNL2': the length is wrong. Correct the BIC or leave it out."),
        ("INGBXX2A", "nl", "Ongeldige BIC 'INGBXX2A': onbekende landcode. Verbeter de BIC of laat hem weg."),
        ("INGBXX2A", "en", "Invalid BIC 'INGBXX2A': unknown country code. Correct the BIC or leave it out."),
    ],
)
def test_invalid_bic_message(value: str, language: str, expected: str) -> None:
    error = validation_error(validate_bic, value, language)

    assert error.messages == [expected]
    assert error.code == "invalid_bic"


@pytest.mark.parametrize("value", ["0612345678", "+3161234", "+31 6 12345678", "telefoon"])
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Ongeldig telefoonnummer {value!r}: gebruik E.164-notatie, bijvoorbeeld +31612345678."),
        ("en", "Invalid phone number {value!r}: use E.164, for example +31612345678."),
    ],
)
def test_invalid_phone_message(value: str, language: str, expected: str) -> None:
    error = validation_error(validate_e164, value, language)

    assert error.messages == [expected.format(value=value)]
    assert error.code == "invalid_phone"


def test_valid_values_pass() -> None:
    validate_iban("NL91ABNA0417164300")
    validate_iban("NL91 ABNA 0417 1643 00")
    validate_bic("INGBNL2A")
    validate_bic("")
    validate_e164("+31612345678")
    validate_e164("")


def test_message_keeps_percent_in_value() -> None:
    error = validation_error(validate_e164, "+31%(x)s", "nl")

    assert error.messages == [
        "Ongeldig telefoonnummer '+31%(x)s': gebruik E.164-notatie, bijvoorbeeld +31612345678."
    ]
