"""Rendering WhatsApp messages: template values, the payment button and the record text."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from betaalreis.channels.backends.whatsapp.api import TEMPLATE_VALUE_NAMES
from betaalreis.channels.render import render_message
from betaalreis.channels.render.message import portal_link_suffix
from betaalreis.errors import InvalidInput

TOKEN = "eyJkIjo0Mn0:1vXyZa:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def plain(text: str) -> str:
    """Return `text` with no-break spaces as plain spaces; babel puts one after "€" in Dutch."""
    return text.replace("\xa0", " ")


def test_dutch_template_values(make_context) -> None:
    message = render_message(make_context(), "whatsapp")

    values = message.metadata["template_values"]
    assert values["debtor_name"] == "Zoë de Vries-Ëlberg"
    assert values["invoice_numbers"] == "2026-0042, 2026-0057"
    assert plain(values["total"]) == "€ 1.659,56"
    assert values["due_date"] == "01-11-2026"
    assert values["creditor_name"] == "Bakkerij Zoet"


def test_english_template_values(make_context) -> None:
    message = render_message(make_context(language="en"), "whatsapp")

    values = message.metadata["template_values"]
    assert values["total"] == "€1,659.56"
    assert values["due_date"] == "1 Nov 2026"
    assert message.language == "en"


def test_every_template_value_name_filled(make_context) -> None:
    message = render_message(make_context(), "whatsapp")

    values = message.metadata["template_values"]
    for name in TEMPLATE_VALUE_NAMES:
        assert values.get(name), f"template value {name!r} is missing or empty"


def test_total_is_claim_total(make_context, claim) -> None:
    message = render_message(make_context(claim=claim), "whatsapp")

    assert plain(message.metadata["template_values"]["total"]) == "€ 1.671,86"
    assert message.metadata["amount_due"] == "1671.86"


def test_dutch_record_text(make_context) -> None:
    context = make_context()

    message = render_message(context, "whatsapp")

    assert message.text.startswith("Beste Zoë de Vries-Ëlberg,")
    assert "Er staan nog 2 facturen van Bakkerij Zoet open." in message.text
    assert "€ 1.659,56" in plain(message.text)
    assert context.portal_url in message.text
    assert "RF" in message.text
    assert "\n\n" in message.text


def test_english_record_text(make_context) -> None:
    context = make_context(language="en", invoices=make_context().invoices[:1])

    message = render_message(context, "whatsapp")

    assert message.text.startswith("Dear Zoë de Vries-Ëlberg,")
    assert "Invoice 2026-0042 from Bakkerij Zoet is still unpaid." in message.text
    assert context.portal_url in message.text
    assert "Beste" not in message.text


def test_message_addresses_mobile(make_context) -> None:
    message = render_message(make_context(), "whatsapp")

    assert message.channel == "whatsapp"
    assert message.recipient == "+31612345678"
    assert message.metadata["stage"] == "reminder"
    assert message.subject == ""
    assert message.attachments == ()


def test_button_suffix_is_portal_token(make_context) -> None:
    context = make_context()

    message = render_message(context, "whatsapp")

    suffix = message.metadata["payment_link_suffix"]
    assert suffix == f"{TOKEN}/"
    assert context.portal_url.endswith(f"/p/{suffix}")


def test_suffix_under_base_url_path(settings) -> None:
    settings.BETAALREIS_BASE_URL = "https://incasso.example/betaalreis"

    suffix = portal_link_suffix(f"https://incasso.example/betaalreis/p/{TOKEN}/")

    assert suffix == f"{TOKEN}/"


@pytest.mark.parametrize(
    "url",
    ["", "https://pay.example/checkout/123", "http://127.0.0.1:8000/portal/payments/abc/"],
)
def test_non_portal_link_rejected(make_context, url: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        render_message(make_context(portal_url=url), "whatsapp")

    assert raised.value.code == "invalid_portal_link"
    if url:
        assert url not in str(raised.value)


def test_missing_mobile_names_debtor(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, mobile="")

    with pytest.raises(InvalidInput) as raised:
        render_message(make_context(debtor=debtor), "whatsapp")

    assert raised.value.code == "missing_recipient"
    assert "K-1001" in str(raised.value)
    assert "mobile number" in str(raised.value)


def test_creditor_override_text(make_context, settings) -> None:
    folder = Path(settings.BETAALREIS_HOME) / "templates" / "bakkerij-zoet" / "messages" / "reminder"
    path = folder / "whatsapp.nl.txt.j2"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{{ creditor.name }}: nog {{ amount_due|money }} open.\n", encoding="utf-8")

    message = render_message(make_context(), "whatsapp")

    assert plain(message.text) == "Bakkerij Zoet: nog € 1.659,56 open."
