"""Stored send errors shown as sentences, in Dutch and English."""

from __future__ import annotations

import pytest
from django.utils import translation

from betaalreis.outbox.failure_text import describe_send_error

CASES = [
    (
        "smtp_rejected: SMTP hand-over failed: {'exp210@klant3.example': (550, b'5.1.1 no such user')}",
        "de mailserver weigerde het adres exp210@klant3.example met antwoord 550 5.1.1 no such user",
        "the mail server refused the address exp210@klant3.example with reply 550 5.1.1 no such user",
    ),
    (
        "smtp_unavailable: SMTP hand-over failed: (451, b'4.3.0 Try again later')",
        "de mailserver antwoordde 451 4.3.0 Try again later",
        "the mail server replied 451 4.3.0 Try again later",
    ),
    (
        "smtp_rejected: SMTP hand-over failed: (553, b'5.7.1 Sender not allowed', 'betaalreis@localhost')",
        "de mailserver weigerde het afzenderadres betaalreis@localhost met antwoord 553 5.7.1 Sender not allowed",
        "the mail server refused the sender address betaalreis@localhost with reply 553 5.7.1 Sender not allowed",
    ),
    (
        "smtp_unavailable: SMTP hand-over failed: [Errno 111] Connection refused",
        "verbinden met de mailserver mislukte: de verbinding werd geweigerd (ECONNREFUSED)",
        "connecting to the mail server failed: the connection was refused (ECONNREFUSED)",
    ),
    (
        "smtp_550: The mail server rejected the address: 550 5.1.1 No such user",
        "de mailserver weigerde het adres met antwoord 550 5.1.1 No such user",
        "the mail server refused the address with reply 550 5.1.1 No such user",
    ),
    (
        "connect_failed: Could not connect to the mail server: [Errno 111] Connection refused",
        "verbinden met de mailserver mislukte: de verbinding werd geweigerd (ECONNREFUSED)",
        "connecting to the mail server failed: the connection was refused (ECONNREFUSED)",
    ),
    (
        "NotADirectoryError: [Errno 20] Not a directory: '/srv/betaalreis/outbox/email'",
        "fout bij het schrijven of lezen van /srv/betaalreis/outbox/email: een deel van het pad is geen map "
        "(ENOTDIR); NotADirectoryError, de traceback staat in het log ('communication render or send crashed')",
        "reading or writing /srv/betaalreis/outbox/email failed: part of the path is not a folder (ENOTDIR); "
        "NotADirectoryError, the log has the traceback ('communication render or send crashed')",
    ),
    (
        "KeyError: 'amount_due'",
        "onverwachte fout bij het opmaken of verzenden (KeyError: 'amount_due'); de traceback staat in het log "
        "('communication render or send crashed')",
        "unexpected error while rendering or sending (KeyError: 'amount_due'); the log has the traceback "
        "('communication render or send crashed')",
    ),
    (
        "invalid_input: Debtor 1014 has open invoices in ['EUR', 'USD']. A claim has one currency: "
        "settle or convert the other invoices first.",
        "de debiteur heeft open facturen in meer dan één valuta (EUR, USD), en een vordering heeft één valuta; "
        "verreken of converteer eerst de andere facturen",
        "the debtor has open invoices in more than one currency (EUR, USD), and a claim has one currency; "
        "settle or convert the other invoices first",
    ),
    (
        "invalid_input: Debiteur 1014 heeft openstaande facturen in ['EUR', 'USD']. Een vordering heeft één "
        "valuta: vereffen de andere facturen of reken ze eerst om.",
        "de debiteur heeft open facturen in meer dan één valuta (EUR, USD), en een vordering heeft één valuta; "
        "verreken of converteer eerst de andere facturen",
        "the debtor has open invoices in more than one currency (EUR, USD), and a claim has one currency; "
        "settle or convert the other invoices first",
    ),
    (
        "missing_recipient: Email has no recipient address.",
        "de debiteur heeft geen e-mailadres",
        "the debtor has no email address",
    ),
]


@pytest.mark.parametrize(("stored", "dutch", "english"), CASES)
def test_stored_error_as_sentence(stored: str, dutch: str, english: str):
    with translation.override("nl"):
        assert describe_send_error(stored) == dutch
    with translation.override("en"):
        assert describe_send_error(stored) == english


@pytest.mark.parametrize(("stored", "dutch", "english"), CASES)
def test_error_without_code_as_sentence(stored: str, dutch: str, english: str):
    # The run summary groups failures by the message without its lowercase error code.
    message = stored.partition(": ")[2] if stored[:1].islower() else stored

    with translation.override("en"):
        assert describe_send_error(message) == english


def test_unknown_error_shown_as_stored():
    with translation.override("nl"):
        assert describe_send_error("provider_unknown: Unknown sms provider 'x'.") == "Unknown sms provider 'x'."
