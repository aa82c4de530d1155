"""The letterhead prints the whole creditor name, and phone numbers as readers of the message's language write them."""

from __future__ import annotations

import dataclasses

import pypdfium2 as pdfium
import pytest

from betaalreis.channels.render import render_message
from betaalreis.channels.render.context import format_phone

LONG_NAME = "Groothandel Van Dijk & Zn. B.V."


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    text = "\n".join(document[index].get_textpage().get_text_range() for index in range(len(document)))
    return " ".join(text.replace("\xa0", " ").split())


@pytest.mark.parametrize(("number", "language", "printed"), [
    ("+31201234567", "nl", "020 123 4567"),
    ("+31612345678", "nl", "06 12345678"),
    ("+31201234567", "en", "+31 20 123 4567"),
    ("+3222345678", "nl", "+32 2 234 56 78"),
    ("+3222345678", "en", "+32 2 234 56 78"),
    ("030 123 4567", "nl", "030 123 4567"),
    ("geen nummer", "nl", "geen nummer"),
])
def test_format_phone(number: str, language: str, printed: str) -> None:
    assert format_phone(number, language) == printed


def test_letterhead_keeps_long_name(make_context, creditor_info) -> None:
    assert len(LONG_NAME) == 31
    creditor = dataclasses.replace(creditor_info, name=LONG_NAME, legal_name=LONG_NAME, phone="+31201234567")

    message = render_message(make_context(creditor=creditor), "letter")

    text = pdf_text(message.attachments[0].content)
    assert text.count(LONG_NAME) >= 2
    assert "…" not in text
    assert "020 123 4567" in text
    assert "+31201234567" not in text


@pytest.mark.parametrize(("language", "printed"), [("nl", "020 123 4567"), ("en", "+31 20 123 4567")])
def test_email_phone_follows_language(make_context, creditor_info, language: str, printed: str) -> None:
    creditor = dataclasses.replace(creditor_info, phone="+31201234567")

    message = render_message(make_context(creditor=creditor, language=language), "email")

    assert printed in message.text
    assert printed in message.html
    assert "+31201234567" not in message.text
