"""PDF copies of an invoice and an account statement, drawn with ReportLab."""

from __future__ import annotations

import datetime as dt
import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from betaalreis.channels.pdf.fonts import letter_fonts
from betaalreis.channels.render.templating import MISSING_DATE
from betaalreis.ledger.models import Invoice, InvoiceStatus
from betaalreis.ledger.money import format_money
from betaalreis.portal.dates import format_medium_date

LABELS = {
    "nl": {
        "invoice": "Factuur", "statement": "Rekeningoverzicht", "number": "Factuurnummer",
        "issue_date": "Factuurdatum", "due_date": "Vervaldatum", "total": "Totaal", "open": "Openstaand",
        "status": "Status", "reference": "Betalingskenmerk", "description": "Omschrijving",
        "customer": "Klantnummer", "date": "Datum", "open_invoices": "Openstaande facturen",
        "paid_invoices": "Betaalde facturen", "total_due": "Totaal te betalen", "copy": "Kopie voor de debiteur",
        "iban": "Betaal op IBAN", "interest": "Rente", "costs": "Incassokosten",
        "credit_notes": "Creditnota's", "credit_note_number": "Creditnotanummer",
        "applied_to": "Verrekend met", "not_applied": "Nog niet verrekend",
        "credit": "Uw tegoed", "principal": "Hoofdsom",
        "credit_text": (
            "U heeft {amount} meer betaald dan u verschuldigd was. Dit tegoed verrekenen wij met uw "
            "volgende factuur, of wij betalen het op verzoek terug."
        ),
    },
    "en": {
        "invoice": "Invoice", "statement": "Account statement", "number": "Invoice number",
        "issue_date": "Invoice date", "due_date": "Due date", "total": "Total", "open": "Open",
        "status": "Status", "reference": "Payment reference", "description": "Description",
        "customer": "Customer number", "date": "Date", "open_invoices": "Open invoices",
        "paid_invoices": "Paid invoices", "total_due": "Total due", "copy": "Copy for the debtor",
        "iban": "Pay to IBAN", "interest": "Interest", "costs": "Collection costs",
        "credit_notes": "Credit notes", "credit_note_number": "Credit note number",
        "applied_to": "Applied to", "not_applied": "Not yet applied",
        "credit": "Your credit", "principal": "Principal",
        "credit_text": (
            "You paid {amount} more than you owed. We set this credit off against your next invoice, "
            "or pay it back on request."
        ),
    },
}
STATUS_EN = {
    "open": "Open", "paid": "Paid", "credited": "Credited", "disputed": "Disputed",
    "payment_plan": "In payment plan", "handed_over": "Handed over", "written_off": "Written off",
}


def _labels(language: str) -> dict[str, str]:
    return LABELS["en" if language == "en" else "nl"]


def _date(value: dt.date | None, language: str) -> str:
    # Babel formats None as today's date, so a missing invoice date is caught here.
    if value is None:
        return MISSING_DATE
    return format_medium_date(value, language)


def _status(invoice: Invoice, language: str) -> str:
    return STATUS_EN.get(invoice.status, invoice.status) if language == "en" else InvoiceStatus(invoice.status).label


def _styles() -> StyleSheet1:
    """Return ReportLab's sample styles drawn in the embedded letter fonts.

    The base-14 fonts of the samples draw letters such as "ł" and "ğ" as
    boxes. The letter fonts cover them, and leave out what they cannot draw.
    """
    fonts = letter_fonts()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        if hasattr(style, "fontName"):
            style.fontName = fonts.bold if "Bold" in style.fontName else fonts.regular
    return styles


def _table(rows: list[list[str]], widths: list[float]) -> Table:
    fonts = letter_fonts()
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), fonts.regular),
        ("FONTNAME", (0, 0), (-1, 0), fonts.bold),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
        ("ALIGN", (-2, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _plain_table(rows: list[list[str]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT")
    table.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), letter_fonts().regular)]))
    return table


def render_invoice_pdf(invoice: Invoice, language: str) -> bytes:
    """Return a one-page PDF with the invoice's data as the ledger stores it."""
    labels = _labels(language)
    creditor = invoice.creditor
    debtor = invoice.debtor
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=f"{labels['invoice']} {invoice.number}",
                                 author=creditor.display_name, leftMargin=20 * mm, rightMargin=20 * mm)

    rows = [
        [labels["number"], invoice.number],
        [labels["customer"], debtor.customer_number],
        [labels["issue_date"], _date(invoice.issue_date, language)],
        [labels["due_date"], _date(invoice.due_date, language)],
        [labels["description"], invoice.description or "-"],
        [labels["total"], format_money(invoice.total, invoice.currency, language)],
        [labels["open"], format_money(invoice.open_amount, invoice.currency, language)],
        [labels["status"], _status(invoice, language)],
        [labels["reference"], invoice.payment_reference or invoice.number],
        [labels["iban"], creditor.iban],
    ]
    story = [
        Paragraph(escape(creditor.legal_name), styles["Title"]),
        Paragraph(escape(f"{labels['invoice']} {invoice.number}"), styles["Heading2"]),
        Paragraph(escape(debtor.name), styles["Normal"]),
        Spacer(1, 6 * mm),
        _plain_table(rows, [50 * mm, 110 * mm]),
        Spacer(1, 8 * mm),
        Paragraph(labels["copy"], styles["Italic"]),
    ]
    document.build(story)
    return buffer.getvalue()


def render_statement_pdf(account, language: str, day: dt.date) -> bytes:
    """Return a PDF statement of one account: open invoices with amounts due, paid ones, then credit notes."""
    labels = _labels(language)
    debtor = account.debtor
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=labels["statement"],
                                 author=debtor.creditor.display_name, leftMargin=20 * mm, rightMargin=20 * mm)

    # The claim's principal: payments went to interest and costs first (BW 6:44).
    header = [labels["number"], labels["due_date"], labels["principal"], labels["interest"]]
    open_rows = [header] + [
        [
            line.invoice.number,
            _date(line.due_date, language),
            format_money(line.open_amount, line.invoice.currency, language),
            format_money(line.interest, line.invoice.currency, language),
        ]
        for line in account.open_lines
    ]
    if account.costs:
        open_rows.append(["", "", labels["costs"], format_money(account.costs, account.currency, language)])
    open_rows.append(["", "", labels["total_due"], format_money(account.total_due, account.currency, language)])
    paid_rows = [[labels["number"], labels["issue_date"], labels["status"], labels["total"]]] + [
        [inv.number, _date(inv.issue_date, language), _status(inv, language),
         format_money(inv.total, inv.currency, language)]
        for inv in account.paid
    ]
    widths = [45 * mm, 35 * mm, 45 * mm, 40 * mm]
    story = [
        Paragraph(escape(debtor.creditor.legal_name), styles["Title"]),
        Paragraph(escape(f"{labels['statement']} — {debtor.name} ({debtor.customer_number})"), styles["Heading2"]),
        Paragraph(f"{labels['date']}: {_date(day, language)}", styles["Normal"]),
        Spacer(1, 6 * mm),
    ]
    for currency, amount in sorted(account.credit.items()):
        story += [
            Paragraph(labels["credit"], styles["Heading3"]),
            Paragraph(escape(labels["credit_text"].format(amount=format_money(amount, currency, language))),
                      styles["Normal"]),
            Spacer(1, 6 * mm),
        ]
    story += [
        Paragraph(labels["open_invoices"], styles["Heading3"]),
        _table(open_rows, widths),
        Spacer(1, 8 * mm),
        Paragraph(labels["paid_invoices"], styles["Heading3"]),
        _table(paid_rows, widths),
    ]
    if account.credit_notes:
        credit_rows = [[labels["credit_note_number"], labels["applied_to"], labels["not_applied"], labels["total"]]] + [
            [
                line.credit_note.number,
                ", ".join(line.applied_to) or "-",
                format_money(line.left, line.credit_note.currency, language),
                format_money(line.credit_note.total, line.credit_note.currency, language),
            ]
            for line in account.credit_notes
        ]
        story += [Spacer(1, 8 * mm), Paragraph(labels["credit_notes"], styles["Heading3"]), _table(credit_rows, widths)]
    document.build(story)
    return buffer.getvalue()
