"""The letter PDF, read back the way a printer and a banking app would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
import zxingcpp

from betaalreis.channels.base import ChannelError
from betaalreis.channels.base import ChannelError
from betaalreis.channels.qr import parse_epc_payload
from betaalreis.channels.render import render_message
from betaalreis.channels.tests.conftest import invoice

MM = 72 / 25.4
A4_HEIGHT = 297 * MM


def letter_pdf(context) -> bytes:
    message = render_message(context, "letter")
    assert len(message.attachments) == 1
    return message.attachments[0].content


def decode_qr_codes(pdf: bytes, page_index: int = 0) -> list[bytes]:
    document = pdfium.PdfDocument(pdf)
    image = document[page_index].render(scale=200 / 72).to_pil()
    return [result.bytes for result in zxingcpp.read_barcodes(image) if result.format == zxingcpp.BarcodeFormat.QRCode]


def text_in_box(pdf: bytes, left_mm: float, top_mm: float, width_mm: float, height_mm: float) -> str:
    page = pdfium.PdfDocument(pdf)[0]
    textpage = page.get_textpage()
    return textpage.get_text_bounded(
        left=left_mm * MM,
        bottom=A4_HEIGHT - (top_mm + height_mm) * MM,
        right=(left_mm + width_mm) * MM,
        top=A4_HEIGHT - top_mm * MM,
    )


def page_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "\n".join(document[index].get_textpage().get_text_range() for index in range(len(document)))


def test_qr_code_decodes_field_by_field(make_context) -> None:
    context = make_context()

    codes = decode_qr_codes(letter_pdf(context))

    assert len(codes) == 1
    lines = codes[0].decode("utf-8").split("\n")
    assert lines[0] == "BCD"
    assert lines[1] == "002"
    assert lines[2] == "1"
    assert lines[3] == "SCT"
    assert lines[4] == ""
    assert lines[5] == "Bakkerij Zoet B.V."
    assert lines[6] == "NL91ABNA0417164300"
    assert lines[7] == "EUR1659.56"
    assert lines[8] == ""
    assert lines[9] == context.payment_reference
    assert len(lines) == 10


def test_qr_code_with_betalingskenmerk_and_accents(make_context, creditor_info) -> None:
    creditor = dataclasses.replace(creditor_info, legal_name="Crème & Zoë Café B.V.", bic="ABNANL2A")
    single = (invoice("2026-0042", "425.00", dt.date(2026, 11, 1)),)
    context = make_context(creditor=creditor, invoices=single, total_due=Decimal("425.00"),
                           payment_reference="5000056789012345")

    parsed = parse_epc_payload(decode_qr_codes(letter_pdf(context))[0])

    assert parsed.name == "Crème & Zoë Café B.V."
    assert parsed.bic == "ABNANL2A"
    assert parsed.amount == Decimal("425.00")
    assert parsed.structured_reference == "5000056789012345"
    assert parsed.text == ""


def test_address_sits_in_window(make_context) -> None:
    pdf = letter_pdf(make_context())

    window = text_in_box(pdf, 20, 50, 85, 35)

    assert "Zoë de Vries-Ëlberg" in window
    assert "Kerkstraat 1 bis" in window
    assert "3511 AA" in window
    assert "Utrecht" in window.split("3511 AA")[1]
    assert "Afz. Bakkerij Zoet B.V." in window
    assert "Herinnering" not in window


def test_address_window_setting(make_context, settings) -> None:
    settings.BETAALREIS_LETTER_ADDRESS_WINDOW = {"left": 120, "top": 45, "width": 80, "height": 40}

    pdf = letter_pdf(make_context())

    assert "Kerkstraat 1 bis" in text_in_box(pdf, 120, 45, 80, 40)
    assert "Kerkstraat 1 bis" not in text_in_box(pdf, 20, 50, 85, 35)


def test_address_line_limit(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, contact_person="Mevrouw A. Jansen", country="BE")

    pdf = letter_pdf(make_context(debtor=debtor))
    window = text_in_box(pdf, 20, 50, 85, 35)

    assert "t.a.v. Mevrouw A. Jansen" in window
    assert "BELGIË" in window


def test_letter_contents(make_context) -> None:
    text = page_text(letter_pdf(make_context(stage_code="fourteen_day_letter")))

    assert "binnen veertien dagen na de dag waarop u deze brief heeft ontvangen" in " ".join(text.split())
    assert "Utrecht, 4 december 2026" in text
    assert "2026-0057" in text
    assert "€ 1.659,56" in text.replace("\xa0", " ")
    assert "NL91 ABNA 0417 1643 00" in text
    assert "Klantnummer" in text


def test_fonts_are_embedded(make_context) -> None:
    pdf = letter_pdf(make_context())

    assert b"/FontFile2" in pdf
    assert pdf.startswith(b"%PDF")


def test_cached_font_subsets_give_same_pdf(make_context, debtor_info) -> None:
    # The letter in between uses other characters, so it needs another font subset.
    other = dataclasses.replace(debtor_info, name="Łukasz Ğül Şahin")

    first = letter_pdf(make_context())
    between = letter_pdf(make_context(debtor=other))
    again = letter_pdf(make_context())

    assert again == first
    assert "Łukasz Ğül Şahin" in text_in_box(between, 20, 50, 85, 35)
    assert "Łukasz Ğül Şahin" not in page_text(again)


def test_page_is_a4(make_context) -> None:
    page = pdfium.PdfDocument(letter_pdf(make_context()))[0]

    width, height = page.get_size()

    assert round(width / MM) == 210
    assert round(height / MM) == 297


def test_many_invoices_flow_to_next_page(make_context) -> None:
    lines = tuple(invoice(f"2026-{number:04d}", "10.00", dt.date(2026, 10, 1)) for number in range(1, 61))
    context = make_context(invoices=lines, total_due=Decimal("600.00"))

    pdf = letter_pdf(context)
    document = pdfium.PdfDocument(pdf)
    text = page_text(pdf)

    assert len(document) >= 2
    assert "2026-0001" in text
    assert "2026-0060" in text
    assert sum(len(decode_qr_codes(pdf, index)) for index in range(len(document))) == 1


def test_no_qr_code_for_other_currency(make_context) -> None:
    usd = tuple(dataclasses.replace(line, currency="USD") for line in make_context().invoices)

    pdf = letter_pdf(make_context(invoices=usd, currency="USD"))

    assert decode_qr_codes(pdf) == []


SHORT_URL = "http://127.0.0.1:8000/b/YAH01Y4WZU7K/"


@pytest.mark.parametrize(
    ("language", "agency_text", "pay_agency"),
    [
        ("nl", "incassobureau", "niet meer aan ons, maar aan het incassobureau"),
        ("en", "collection agency", "to the collection agency, not us"),
    ],
)
def test_handover_letter_has_no_payment_block(make_context, language: str, agency_text: str, pay_agency: str) -> None:
    # The invoices are handed over already, so the portal and bank matching no longer take payment for them.
    context = make_context(stage_code="handover", language=language, short_url=SHORT_URL)

    pdf = letter_pdf(context)

    assert decode_qr_codes(pdf) == []
    text = " ".join(page_text(pdf).split())
    assert agency_text in text
    assert pay_agency in text
    # The IBAN and reference stay in the letterhead, but the payment box with its title is gone.
    assert "Zo betaalt u" not in text
    assert "How to pay" not in text
    assert SHORT_URL in text


@pytest.mark.parametrize("stage_code", ["reminder", "fourteen_day_letter", "final_notice", "handover"])
def test_letter_prints_short_link(make_context, stage_code: str) -> None:
    context = make_context(stage_code=stage_code, short_url=SHORT_URL)

    message = render_message(context, "letter")

    text = page_text(message.attachments[0].content)
    assert SHORT_URL in text
    assert "/p/" not in text
    assert SHORT_URL in message.text
    assert context.portal_url not in message.text


def test_letter_without_short_link_prints_portal_link(make_context) -> None:
    context = make_context()

    text = page_text(letter_pdf(context)).replace("\r", "").replace("\n", "")

    assert context.portal_url in text


@pytest.mark.parametrize("language", ["nl", "en"])
def test_letter_language(make_context, language: str) -> None:
    text = page_text(letter_pdf(make_context(language=language)))

    assert ("Betalingskenmerk" in text) == (language == "nl")
    assert ("Payment reference" in text) == (language == "en")


def test_long_name_wraps_in_window(make_context, debtor_info) -> None:
    name = "Van den Heuvel-Oosterbroek Installatietechniek en Zonen B.V."
    debtor = dataclasses.replace(debtor_info, name=name, contact_person="A. Jansen")

    window = text_in_box(letter_pdf(make_context(debtor=debtor)), 20, 50, 85, 35)

    assert " ".join(window.split()).startswith("Afz. Bakkerij Zoet B.V., Dorpsstraat 12, 1234 AB Utrecht " + name)
    assert "…" not in window
    assert "t.a.v. A. Jansen" in window


def test_line_limit_drops_attention_line(make_context, debtor_info, settings) -> None:
    settings.BETAALREIS_LETTER_ADDRESS_WINDOW = {"max_lines": 4}
    debtor = dataclasses.replace(debtor_info, contact_person="A. Jansen", country="DE")

    window = text_in_box(letter_pdf(make_context(debtor=debtor)), 20, 50, 85, 35)

    assert "A. Jansen" not in window
    assert "DUITSLAND" in window
    assert "Kerkstraat 1 bis" in window


def test_logo_is_drawn(make_context, creditor_info, betaalreis_home) -> None:
    from PIL import Image

    Image.new("RGB", (300, 100), (200, 30, 30)).save(betaalreis_home / "logo.png")
    creditor = dataclasses.replace(creditor_info, logo_path="logo.png")

    pdf = letter_pdf(make_context(creditor=creditor))
    image = pdfium.PdfDocument(pdf)[0].render(scale=100 / 72).to_pil().convert("RGB")

    # The logo's red fills the top left corner, where the name would stand without it.
    red = image.getpixel((int(30 * 100 / 25.4), int(20 * 100 / 25.4)))
    assert red[0] > 150
    assert red[1] < 80
    assert b"/Subtype /Image" in pdf


def test_emoji_left_out_of_letter(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, name="Bakkerij 🍞 De Vries")

    window = text_in_box(letter_pdf(make_context(debtor=debtor)), 20, 50, 85, 35)

    assert "Bakkerij De Vries" in window
    assert "🍞" not in window
    assert "\x00" not in window


@pytest.mark.parametrize("name", ["王小明", "محمد علي"])
def test_unprintable_name_fails_letter(make_context, debtor_info, name: str) -> None:
    debtor = dataclasses.replace(debtor_info, name=name, contact_person="")

    with pytest.raises(ChannelError) as failed:
        letter_pdf(make_context(debtor=debtor))

    assert failed.value.permanent
    assert failed.value.code == "letter_unprintable_name"
    assert "BETAALREIS_LETTER_FONT" in str(failed.value)


def test_unprintable_letters_listed_once(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, name="王小明", contact_person="")

    with pytest.raises(ChannelError) as failed:
        letter_pdf(make_context(debtor=debtor))

    assert "de tekens '王小明' uit de naam" in str(failed.value)
    assert str(failed.value).endswith("of schrijf de naam in Latijnse letters.")


def test_dropped_emoji_leaves_no_space_before_comma(make_context, debtor_info) -> None:
    debtor = dataclasses.replace(debtor_info, name="Klaas Klaassen 🍞", contact_person="")

    text = page_text(letter_pdf(make_context(debtor=debtor)))

    assert "Klaas Klaassen," in text


@pytest.mark.parametrize(("language", "dated"), [("nl", "factuurdatum"), ("en", "dated")])
def test_letter_without_invoice_date(make_context, language, dated) -> None:
    undated = dataclasses.replace(invoice("2026-0042", "425.00", dt.date(2026, 11, 1)), issue_date=None)
    context = make_context(invoices=(undated,), total_due=Decimal("425.00"), language=language)

    message = render_message(context, "letter")
    text = page_text(message.attachments[0].content)
    invoice_line = next(line for line in message.text.splitlines() if line.startswith("- "))
    table_row = next(line for line in text.splitlines() if line.startswith("2026-0042 "))

    assert dated not in invoice_line
    assert "01-11-2026" in invoice_line or "1 Nov 2026" in invoice_line
    assert table_row.count("2026-0042") == 1
    assert "—" in table_row
    assert table_row.count("01-11-2026") + table_row.count("1 Nov 2026") == 1
