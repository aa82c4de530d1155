"""The letter PDF: A4, print-ready, for a standard Dutch window envelope.

Page one carries the sender block and logo at the top and the recipient's
address inside the envelope window. Beside the window are the place and
date, the customer number and the payment reference. Below follow the
subject and the body, which has an invoice table with a total, payment
instructions in text and an EPC QR code. Longer letters flow onto further
pages.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.doctemplate import NextPageTemplate
from xml.sax.saxutils import escape

from betaalreis.channels.base import ChannelError
from betaalreis.ledger.timeline_text import UNPRINTABLE_LETTERS
from betaalreis.channels.pdf.fonts import LetterFonts, letter_fonts
from betaalreis.channels.qr import build_epc_payload, epc_qr_matrix
from betaalreis.channels.render.context import (
    ClaimBreakdown,
    DebtorInfo,
    MessageContext,
    address_lines,
    format_reference,
)
from betaalreis.channels.render.templating import format_amount, format_long_date, format_short_date

PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT = 20 * mm
RIGHT = 20 * mm
BOTTOM = 22 * mm
BODY_WIDTH = PAGE_WIDTH - LEFT - RIGHT

# Size of the QR symbol without its quiet zone. EPC069-12 requires at least 2 x 2 cm.
QR_SIZE = 27 * mm
QR_QUIET_MODULES = 4

# Column widths of the invoice table and of the claim parts table below it, so their amounts line up.
AMOUNT_TABLE_COLUMNS = [BODY_WIDTH - 105 * mm, 33 * mm, 33 * mm, 39 * mm]

LABELS = {
    "nl": {
        "return": "Afz.",
        "customer": "Klantnummer",
        "reference": "Betalingskenmerk",
        "subject": "Betreft",
        "greeting": "Beste {name},",
        "greeting_organisation": "Geachte heer/mevrouw,",
        "invoice": "Factuur",
        "issue_date": "Factuurdatum",
        "due_date": "Vervaldatum",
        "open": "Openstaand",
        "total": "Totaal",
        "principal": "Totaal facturen",
        "interest": "Wettelijke rente",
        "interest_commercial": "Wettelijke handelsrente",
        "costs": "Incassokosten",
        "to_pay": "Totaal te betalen",
        "principal_part": "Hoofdsom",
        "charged": "Berekend",
        "paid": "Betaald",
        "still_open": "Nog open",
        "pay_title": "Zo betaalt u",
        "amount": "Bedrag",
        "iban": "IBAN",
        "beneficiary": "Ten name van",
        "bic": "BIC",
        "portal": "Of betaal online via uw persoonlijke betaalpagina:",
        "qr_caption": "Scan deze code met uw bankapp. Bedrag en kenmerk staan er al in.",
        "regards": "Met vriendelijke groet,",
        "page": "Pagina {number}",
        "kvk": "KvK",
        "vat": "Btw",
    },
    "en": {
        "return": "From",
        "customer": "Customer number",
        "reference": "Payment reference",
        "subject": "Subject",
        "greeting": "Dear {name},",
        "greeting_organisation": "Dear Sir or Madam,",
        "invoice": "Invoice",
        "issue_date": "Invoice date",
        "due_date": "Due date",
        "open": "Outstanding",
        "total": "Total",
        "principal": "Total of invoices",
        "interest": "Statutory interest",
        "interest_commercial": "Statutory commercial interest",
        "costs": "Collection costs",
        "to_pay": "Total to pay",
        "principal_part": "Principal",
        "charged": "Charged",
        "paid": "Paid",
        "still_open": "Still open",
        "pay_title": "How to pay",
        "amount": "Amount",
        "iban": "IBAN",
        "beneficiary": "Account holder",
        "bic": "BIC",
        "portal": "Or pay online on your personal payment page:",
        "qr_caption": "Scan this code with your banking app; amount and reference are filled in.",
        "regards": "Kind regards,",
        "page": "Page {number}",
        "kvk": "Chamber of Commerce",
        "vat": "VAT",
    },
}


@dataclass(frozen=True, slots=True)
class LetterContent:
    """The rendered wording of a letter. `payment` replaces the payment box when set."""

    subject: str
    intro: list[str]
    closing: list[str]
    payment: list[str] | None
    text: str


@dataclass(frozen=True, slots=True)
class AddressWindow:
    """Position and size of the address window in millimetres from the page's top left, and its line limit."""

    left: float = 20
    top: float = 50
    width: float = 85
    height: float = 35
    max_lines: int = 6


def address_window() -> AddressWindow:
    configured: dict[str, Any] = getattr(settings, "BETAALREIS_LETTER_ADDRESS_WINDOW", {}) or {}
    return AddressWindow(**configured)


class QrCode(Flowable):
    """An EPC QR symbol drawn as vector squares, with a quiet zone and a caption."""

    def __init__(self, payload: str, caption: str, font: str) -> None:
        super().__init__()
        self.matrix = epc_qr_matrix(payload)
        self.caption = caption
        self.font = font
        self.modules = len(self.matrix)
        self.module = QR_SIZE / self.modules
        self.quiet = QR_QUIET_MODULES * self.module
        self.width = QR_SIZE + 2 * self.quiet
        self.caption_lines = _wrap(caption, font, 7, self.width)
        self.height = self.width + len(self.caption_lines) * 8.5

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        top = self.height
        origin_y = top - self.quiet - QR_SIZE
        canvas.setFillColor(colors.black)
        path = canvas.beginPath()
        for row_index, row in enumerate(self.matrix):
            y = origin_y + (self.modules - 1 - row_index) * self.module
            column = 0
            # Each run of dark modules becomes one rectangle, which keeps the path short.
            while column < self.modules:
                if row[column] & 1:
                    start = column
                    while column < self.modules and row[column] & 1:
                        column += 1
                    path.rect(self.quiet + start * self.module, y,
                              (column - start) * self.module, self.module)
                else:
                    column += 1
        canvas.drawPath(path, stroke=0, fill=1)

        canvas.setFont(self.font, 7)
        canvas.setFillColor(colors.HexColor("#444444"))
        for index, line in enumerate(self.caption_lines):
            canvas.drawCentredString(self.width / 2, origin_y - self.quiet + 2 - (index + 1) * 8.5, line)


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if stringWidth(candidate, font, size) <= width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten `text` with an ellipsis until it fits `width` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def _fit_letterhead_name(name: str, font: str, width: float) -> tuple[float, list[str]]:
    """Choose a font size and line breaks so the creditor's name fits the letterhead, never cutting it.

    A name too wide at 16 pt is tried smaller, down to 11 pt, and else
    wrapped at 12 pt. A single word wider than `width` overflows rather than
    losing letters, because a legal name must be printed whole.
    """
    for size in (16, 15, 14, 13, 12, 11):
        if stringWidth(name, font, size) <= width:
            return size, [name]
    return 12, _wrap(name, font, 12, width)


def _fit_address(address: list[str], font: str, width: float, max_lines: int) -> tuple[float, list[str]]:
    """Choose a font size and line breaks so the address fits the window.

    A line too wide at 10 pt is tried smaller, down to 8 pt, and else
    wrapped onto a second line when the line limit allows. With too many
    lines the attention line is dropped first. The caller cuts what still
    does not fit with an ellipsis.
    """
    lines = list(address)
    if len(lines) > max_lines and len(lines) > 1 and lines[1].startswith(("t.a.v. ", "Attn. ")):
        del lines[1]

    for size in (10, 9.5, 9, 8.5, 8):
        if all(stringWidth(line, font, size) <= width for line in lines):
            return size, lines[:max_lines]

    for size in (10, 9):
        wrapped = [part for line in lines for part in _wrap(line, font, size, width)]
        if len(wrapped) <= max_lines:
            return size, wrapped
    return 8, lines[:max_lines]


class _LetterDocument(BaseDocTemplate):
    def __init__(self, buffer: io.BytesIO, painter: _PagePainter, **kwargs: Any) -> None:
        super().__init__(buffer, pagesize=A4, leftMargin=LEFT, rightMargin=RIGHT,
                         topMargin=20 * mm, bottomMargin=BOTTOM, **kwargs)
        first_top = PAGE_HEIGHT - (painter.window.top + painter.window.height + 5) * mm
        first = Frame(LEFT, BOTTOM, BODY_WIDTH, first_top - BOTTOM, id="first",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        later = Frame(LEFT, BOTTOM, BODY_WIDTH, PAGE_HEIGHT - 25 * mm - BOTTOM, id="later",
                      leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        self.addPageTemplates([
            PageTemplate(id="first", frames=[first], onPage=painter.first_page),
            PageTemplate(id="later", frames=[later], onPage=painter.later_page),
        ])


class _PagePainter:
    """Painter of the fixed parts of a page: sender block, window address, reference lines and footer."""

    def __init__(self, context: MessageContext, fonts: LetterFonts, window: AddressWindow,
                 address: list[str]) -> None:
        self.context = context
        self.fonts = fonts
        self.window = window
        self.address = address
        self.labels = LABELS.get(context.language, LABELS["en"])

    def first_page(self, canvas: Canvas, document: BaseDocTemplate) -> None:
        self._sender(canvas)
        self._window(canvas)
        self._meta(canvas)
        self._footer(canvas, document)

    def later_page(self, canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.setFont(self.fonts.bold, 9)
        canvas.drawString(LEFT, PAGE_HEIGHT - 15 * mm, self.context.creditor.name)
        canvas.setFont(self.fonts.regular, 9)
        canvas.drawRightString(PAGE_WIDTH - RIGHT, PAGE_HEIGHT - 15 * mm,
                               f"{self.labels['customer']} {self.context.debtor.customer_number}")
        self._footer(canvas, document)

    def _sender(self, canvas: Canvas) -> None:
        creditor = self.context.creditor
        logo = creditor.logo_file
        top = PAGE_HEIGHT - 15 * mm
        if logo is not None:
            canvas.drawImage(str(logo), LEFT, top - 20 * mm, width=60 * mm, height=20 * mm,
                             preserveAspectRatio=True, anchor="nw", mask="auto")
        else:
            size, name_lines = _fit_letterhead_name(creditor.name, self.fonts.bold, 95 * mm)
            canvas.setFont(self.fonts.bold, size)
            canvas.setFillColor(colors.HexColor(_safe_colour(creditor.brand_color)))
            y = top - 7 * mm
            for line in name_lines:
                canvas.drawString(LEFT, y, line)
                y -= size * 0.4 * mm
            canvas.setFillColor(colors.black)

        lines = [
            creditor.street,
            f"{creditor.postal_code}  {creditor.city}".strip(),
            creditor.phone_for(self.context.language),
            creditor.email,
            creditor.website,
        ]
        x = PAGE_WIDTH - RIGHT
        canvas.setFont(self.fonts.bold, 9)
        canvas.drawRightString(x, top - 3 * mm, creditor.legal_name)
        canvas.setFont(self.fonts.regular, 8.5)
        y = top - 7.5 * mm
        for line in lines:
            if line:
                canvas.drawRightString(x, y, line)
                y -= 4 * mm

    def _window(self, canvas: Canvas) -> None:
        window = self.window
        creditor = self.context.creditor
        left = window.left * mm
        top = PAGE_HEIGHT - window.top * mm
        width = window.width * mm

        # A small return address on the first line of the window.
        return_line = f"{self.labels['return']} {creditor.legal_name}, {creditor.street}, " \
                      f"{creditor.postal_code} {creditor.city}"
        canvas.setFont(self.fonts.regular, 6.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(left, top - 3 * mm, _fit(return_line, self.fonts.regular, 6.5, width))
        canvas.setFillColor(colors.black)

        size, lines = _fit_address(self.address, self.fonts.regular, width, window.max_lines)
        leading = min(size * 1.25, (window.height * mm - 6 * mm) / max(len(lines), 1))
        y = top - 6 * mm - size
        canvas.setFont(self.fonts.regular, size)
        for line in lines:
            canvas.drawString(left, y, _fit(line, self.fonts.regular, size, width))
            y -= leading

    def _meta(self, canvas: Canvas) -> None:
        context = self.context
        labels = self.labels
        place = context.creditor.city
        dated = format_long_date(context.date, context.language)
        rows = [
            ("", f"{place}, {dated}" if place else dated),
            (labels["customer"], context.debtor.customer_number),
            (labels["reference"], format_reference(context.payment_reference)),
        ]
        # The reference lines go beside the window, on the side it leaves free.
        x_label = 125 * mm if self.window.left < 100 else LEFT
        x_value = x_label + 31 * mm
        right = x_label + 65 * mm
        y = PAGE_HEIGHT - self.window.top * mm - 3 * mm
        for label, value in rows:
            x = x_value if label else x_label
            canvas.setFont(self.fonts.regular, 8)
            canvas.setFillColor(colors.HexColor("#555555"))
            canvas.drawString(x_label, y, label)
            canvas.setFillColor(colors.black)
            canvas.setFont(self.fonts.regular, 9)
            canvas.drawString(x, y, _fit(value, self.fonts.regular, 9, right - x))
            y -= 5 * mm

    def _footer(self, canvas: Canvas, document: BaseDocTemplate) -> None:
        creditor = self.context.creditor
        labels = self.labels
        parts = [creditor.legal_name]
        if creditor.kvk_number:
            parts.append(f"{labels['kvk']} {creditor.kvk_number}")
        if creditor.vat_id:
            parts.append(f"{labels['vat']} {creditor.vat_id}")
        parts.append(f"IBAN {creditor.iban_display}")
        canvas.setFont(self.fonts.regular, 7)
        canvas.setFillColor(colors.HexColor("#555555"))
        canvas.drawString(LEFT, 12 * mm, _fit(" · ".join(parts), self.fonts.regular, 7, BODY_WIDTH - 20 * mm))
        canvas.drawRightString(PAGE_WIDTH - RIGHT, 12 * mm, labels["page"].format(number=document.page))
        canvas.setFillColor(colors.black)


def _safe_colour(value: str) -> str:
    if len(value) == 7 and value.startswith("#"):
        try:
            int(value[1:], 16)
            return value
        except ValueError:
            pass
    return "#1f4e79"


def _styles(fonts: LetterFonts) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=fonts.regular, fontSize=9.5, leading=12.8, spaceAfter=6)
    return {
        "body": body,
        "subject": ParagraphStyle("subject", parent=body, fontName=fonts.bold, fontSize=11, spaceAfter=12),
        "small": ParagraphStyle("small", parent=body, fontSize=8.5, leading=11, spaceAfter=0),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=11, spaceAfter=0),
        "cell_right": ParagraphStyle("cell_right", parent=body, fontSize=9, leading=11, spaceAfter=0,
                                     alignment=TA_RIGHT),
        "heading": ParagraphStyle("heading", parent=body, fontName=fonts.bold, fontSize=10, spaceAfter=4),
    }


def _invoice_table(context: MessageContext, fonts: LetterFonts, styles: dict[str, ParagraphStyle]) -> Table:
    labels = LABELS.get(context.language, LABELS["en"])
    language = context.language
    rows: list[list[Any]] = [[labels["invoice"], labels["issue_date"], labels["due_date"], labels["open"]]]
    for line in context.invoices:
        rows.append([
            Paragraph(escape(line.number), styles["cell"]),
            format_short_date(line.issue_date, language),
            format_short_date(line.due_date, language),
            format_amount(line.open_amount, line.currency, language),
        ])
    claim = context.claim
    if claim is None:
        rows.append([labels["total"], "", "", format_amount(context.total_due, context.currency, language)])
    elif claim.partly_paid:
        # `_claim_parts_table` follows with the interest, costs and payments.
        rows.append([labels["principal"], "", "", format_amount(context.total_due, context.currency, language)])
    else:
        rows.append([labels["principal"], "", "", format_amount(context.total_due, context.currency, language)])
        if claim.interest > 0:
            interest_label = labels["interest_commercial" if claim.commercial_interest else "interest"]
            rows.append([interest_label, "", "", format_amount(claim.interest, claim.currency, language)])
        if claim.costs_due:
            rows.append([labels["costs"], "", "", format_amount(claim.costs, claim.currency, language)])
        rows.append([labels["to_pay"], "", "", format_amount(context.amount_due, context.currency, language)])
    extra_rows = len(rows) - len(context.invoices) - 2

    table = Table(rows, colWidths=AMOUNT_TABLE_COLUMNS, repeatRows=1)
    table.setStyle(TableStyle([
        *_amount_table_style(fonts, first_amount_column=3),
        ("LINEBELOW", (0, 1), (-1, -2 - extra_rows), 0.25, colors.HexColor("#bbbbbb")),
    ]))
    return table


def _amount_table_style(fonts: LetterFonts, first_amount_column: int) -> list[tuple[Any, ...]]:
    """Return the style of a table with a header row, amounts on the right and a bold total row."""
    return [
        ("FONT", (0, 0), (-1, -1), fonts.regular, 9),
        ("FONT", (0, 0), (-1, 0), fonts.bold, 9),
        ("FONT", (0, -1), (-1, -1), fonts.bold, 9.5),
        ("ALIGN", (first_amount_column, 0), (3, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
        ("TOPPADDING", (0, 0), (-1, -1), 2.2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.2),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]


def _claim_parts_table(context: MessageContext, claim: ClaimBreakdown, fonts: LetterFonts) -> Table:
    """Build the table of a partly paid claim: per part what was charged, paid and is still open.

    Its columns line up with the invoice table above it, and its last row
    adds up to the total to pay.
    """
    labels = LABELS.get(context.language, LABELS["en"])

    def amount(value: Decimal) -> str:
        return format_amount(value, claim.currency, context.language)

    interest_label = labels["interest_commercial" if claim.commercial_interest else "interest"]
    rows: list[list[Any]] = [
        ["", labels["charged"], labels["paid"], labels["still_open"]],
        [labels["principal_part"], amount(claim.principal_charged), amount(claim.paid_to_principal),
         amount(claim.principal)],
    ]
    if claim.interest_charged > 0:
        rows.append([interest_label, amount(claim.interest_charged), amount(claim.paid_to_interest),
                     amount(claim.interest)])
    if claim.costs_charged > 0:
        rows.append([labels["costs"], amount(claim.costs_charged), amount(claim.paid_to_costs),
                     amount(claim.costs_outstanding)])
    rows.append([labels["to_pay"], amount(claim.charged), amount(claim.paid_applied),
                 format_amount(context.amount_due, context.currency, context.language)])

    table = Table(rows, colWidths=AMOUNT_TABLE_COLUMNS)
    table.setStyle(TableStyle(_amount_table_style(fonts, first_amount_column=1)))
    return table


def _payment_box(context: MessageContext, fonts: LetterFonts, styles: dict[str, ParagraphStyle]) -> Any:
    labels = LABELS.get(context.language, LABELS["en"])
    creditor = context.creditor
    rows = [
        (labels["amount"], format_amount(context.amount_due, context.currency, context.language)),
        (labels["iban"], creditor.iban_display),
        (labels["beneficiary"], creditor.legal_name),
        (labels["reference"], format_reference(context.payment_reference)),
    ]
    if creditor.bic:
        rows.insert(2, (labels["bic"], creditor.bic))

    details = Table(
        [[Paragraph(escape(label), styles["small"]), Paragraph(f"<b>{escape(value)}</b>", styles["cell"])]
         for label, value in rows],
        colWidths=[32 * mm, 64 * mm],
    )
    details.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    text = [
        Paragraph(escape(labels["pay_title"]), styles["heading"]),
        details,
        Spacer(1, 4 * mm),
        Paragraph(escape(labels["portal"]), styles["small"]),
        # The short link fits in larger type; the signed link needs small type to fit on one or two lines.
        Paragraph(f'<font size="{8 if context.short_url else 6.5}">{escape(context.short_url or context.portal_url)}</font>',
                  styles["small"]),
    ]

    cells: list[Any] = [text]
    widths = [BODY_WIDTH]
    if context.currency == "EUR" and context.amount_due > Decimal("0"):
        payload = build_epc_payload(
            name=creditor.legal_name,
            iban=creditor.iban,
            bic=creditor.bic,
            amount=context.amount_due,
            reference=context.payment_reference,
        )
        qr = QrCode(payload, labels["qr_caption"], fonts.regular)
        cells.append(qr)
        widths = [BODY_WIDTH - qr.width - 4 * mm, qr.width + 4 * mm]

    box = Table([cells], colWidths=widths)
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 0.6, colors.HexColor(_safe_colour(creditor.brand_color))),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (-1, 0), (-1, 0), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 4 * mm),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2 * mm),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5 * mm),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2 * mm),
    ]))
    return KeepTogether([box])


# The code of the ChannelError raised for a name or address that the letter font cannot print.
UNPRINTABLE_NAME = "letter_unprintable_name"


def unprintable_letters(lines: Iterable[str], fonts: LetterFonts | None = None) -> str:
    """Return the letters and digits of `lines` that the letter font cannot print readably, each once.

    NOTE: ReportLab's CID fonts (UnicodeCIDFont 'STSong-Light' and others)
    do not make Chinese, Japanese or Korean names printable. ReportLab 5.1
    does not embed them, so the name reads back from the PDF text, but a
    printer without those fonts leaves it blank. pypdfium2 5.15 rendered it
    blank on a Debian host without CJK fonts. A TrueType letter font with
    the script prints such names.
    """
    font = pdfmetrics.getFont((fonts or letter_fonts()).regular)
    # The name is often in the greeting and in the address, so each character is listed once.
    return "".join(dict.fromkeys("".join(font.unprintable_letters(line) for line in lines)))


def _check_printable(lines: list[str], fonts: LetterFonts) -> None:
    """Raise a permanent ChannelError when a name or address line would lose letters in print.

    A letter with a blank addressee or greeting must not reach the post.
    Failing it lets the next channel of the stage take over, and the error
    names the font setting that would print it.
    """
    missing = unprintable_letters(lines, fonts)
    if missing:
        # Dutch, because the message goes into the timeline, which timeline_text shows in English.
        raise ChannelError(
            UNPRINTABLE_LETTERS % {"letters": repr(missing[:20])},
            permanent=True,
            code=UNPRINTABLE_NAME,
        )


def _greeting(debtor: DebtorInfo, labels: dict[str, str]) -> str:
    if debtor.greets_organisation:
        return labels["greeting_organisation"]
    return labels["greeting"].format(name=debtor.greeting_name)


def render_letter_pdf(context: MessageContext, content: LetterContent) -> bytes:
    """Render one letter to PDF bytes.

    Raises InvalidInput (from the EPC QR builder) when the creditor's IBAN
    or name cannot go into a payment QR code, and a permanent ChannelError
    when the letter font cannot draw the debtor's name or address.
    """
    fonts = letter_fonts()
    styles = _styles(fonts)
    labels = LABELS.get(context.language, LABELS["en"])
    address = address_lines(context)
    _check_printable([context.debtor.greeting_name, *address], fonts)
    painter = _PagePainter(context, fonts, address_window(), address)

    story: list[Any] = [
        NextPageTemplate("later"),
        Paragraph(escape(f"{labels['subject']}: {content.subject}"), styles["subject"]),
        Paragraph(escape(_greeting(context.debtor, labels)), styles["body"]),
    ]
    story += [Paragraph(escape(paragraph), styles["body"]) for paragraph in content.intro]
    story += [Spacer(1, 1 * mm), _invoice_table(context, fonts, styles)]
    claim = context.claim
    if claim is not None and claim.partly_paid:
        payments = claim.payments_nl if context.language == "nl" else claim.payments_en
        story += [
            Spacer(1, 3 * mm),
            _claim_parts_table(context, claim, fonts),
            Spacer(1, 2 * mm),
            Paragraph(escape(payments), styles["small"]),
        ]
    if claim is not None and claim.costs_vat_statement(context.language):
        story += [Spacer(1, 2 * mm), Paragraph(escape(claim.costs_vat_statement(context.language)), styles["small"])]
    story.append(Spacer(1, 5 * mm))

    if content.payment is None:
        story += [_payment_box(context, fonts, styles), Spacer(1, 5 * mm)]
    else:
        story += [Paragraph(escape(paragraph), styles["body"]) for paragraph in content.payment]

    story += [Paragraph(escape(paragraph), styles["body"]) for paragraph in content.closing]
    story += [
        Spacer(1, 2 * mm),
        KeepTogether([
            Paragraph(escape(labels["regards"]), styles["body"]),
            Paragraph(escape(context.creditor.name), styles["body"]),
        ]),
    ]

    buffer = io.BytesIO()
    document = _LetterDocument(
        buffer, painter,
        title=content.subject,
        author=context.creditor.legal_name,
        subject=content.subject,
        creator="Betaalreis",
        invariant=True,
    )
    document.build(story)
    return buffer.getvalue()
