"""The salutation of letters and emails, and the Dutch wording of the handover message."""

from __future__ import annotations

import dataclasses

import pypdfium2 as pdfium
import pytest

from betaalreis.channels.render import render_message
from betaalreis.channels.tests.conftest import invoice

ORGANISATION = {"nl": "Geachte heer/mevrouw,", "en": "Dear Sir or Madam,"}


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "\n".join(document[index].get_textpage().get_text_range() for index in range(len(document)))


def rendered_texts(context) -> dict[str, str]:
    """Return the text a debtor reads in the email (plain and HTML), the letter record and the letter PDF."""
    email = render_message(context, "email")
    letter = render_message(context, "letter")
    return {
        "email text": email.text,
        "email html": email.html,
        "letter text": letter.text,
        "letter pdf": pdf_text(letter.attachments[0].content),
    }


@pytest.mark.parametrize("language", ["nl", "en"])
def test_business_without_contact_greeted_as_organisation(make_context, debtor_info, language: str) -> None:
    business = dataclasses.replace(debtor_info, name="Klaas B.V.", is_consumer=False, contact_person="")

    texts = rendered_texts(make_context(debtor=business, language=language))

    for source, text in texts.items():
        assert ORGANISATION[language] in text, source
        assert "Klaas B.V.," not in text, source


@pytest.mark.parametrize(("language", "greeting"), [("nl", "Beste Klaas Jansen,"), ("en", "Dear Klaas Jansen,")])
def test_business_contact_person_greeted_by_name(make_context, debtor_info, language: str, greeting: str) -> None:
    business = dataclasses.replace(debtor_info, name="Klaas B.V.", is_consumer=False, contact_person="Klaas Jansen")

    texts = rendered_texts(make_context(debtor=business, language=language))

    for source, text in texts.items():
        assert greeting in text, source
        assert ORGANISATION[language] not in text, source


@pytest.mark.parametrize(("language", "greeting"), [("nl", "Beste Zoë de Vries-Ëlberg,"), ("en", "Dear Zoë de Vries-Ëlberg,")])
def test_consumer_greeted_by_name(make_context, language: str, greeting: str) -> None:
    texts = rendered_texts(make_context(language=language))

    for source, text in texts.items():
        assert greeting in text, source
        assert ORGANISATION[language] not in text, source


@pytest.mark.parametrize(
    ("count", "reminded_before", "sentence"),
    [
        (1, True, "De factuur hieronder is ook na onze laatste aanmaning nog niet betaald."),
        (1, False, "De factuur hieronder is nog niet betaald."),
        (2, False, "De facturen hieronder zijn nog niet betaald."),
    ],
)
def test_handover_dutch_wording(make_context, count: int, reminded_before: bool, sentence: str) -> None:
    due = make_context().invoices[0].due_date
    invoices = tuple(invoice(f"2026-004{index}", "425.00", due) for index in range(count))
    context = make_context(stage_code="handover", invoices=invoices, reminded_before=reminded_before)

    for channel in ("email", "letter"):
        message = render_message(context, channel)

        assert sentence in message.text, channel
        assert "gekregen" not in message.text, channel
        assert message.subject == "Uw openstaande bedrag gaat naar een incassobureau", channel
