"""PDF copies of an invoice and an account statement, drawn with ReportLab."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from betaalreis.channels.pdf.fonts import letter_fonts
from betaalreis.channels.render.templating import MISSING_DATE
from betaalreis.ledger.models import ZERO, Invoice, InvoiceStatus
from betaalreis.ledger.money import format_money
from betaalreis.portal.dates import format_medium_date

if TYPE_CHECKING:
    from betaalreis.portal.services import Account

LABELS = {
    "nl": {
        "invoice": "Factuur", "statement": "Rekeningoverzicht", "number": "Factuurnummer",
        "issue_date": "Factuurdatum", "due_date": "Vervaldatum", "total": "Totaal", "open": "Openstaand",
        "status": "Status", "reference": "Betalingskenmerk", "description": "Omschrijving",
        "customer": "Klantnummer", "date": "Datum", "open_invoices": "Openstaande facturen",
        "paid_invoices": "Betaalde facturen", "copy": "Kopie voor de debiteur",
        "iban": "Betaal op IBAN", "interest": "Rente", "costs": "Incassokosten",
        "credit_notes": "Creditnota's", "credit_note_number": "Creditnotanummer",
        "applied_to": "Verrekend met", "not_applied": "Nog niet verrekend",
        "no_open_invoices": "Geen openstaande facturen.", "no_paid_invoices": "Geen betaalde facturen.",
        "credit": "Uw tegoed", "principal": "Hoofdsom",
        "credit_text": (
            "U heeft {amount} meer betaald dan u verschuldigd was. Dit tegoed verrekenen wij met uw "
            "volgende factuur, of wij betalen het op verzoek terug."
        ),
        "claim_total": "Totale vordering", "summary": "Wat u nu betaalt",
        "paid_to_charges": (
            "Van uw betalingen ging {interest} naar rente{costs}, omdat de wet "
            "(art. 6:44 BW) een betaling eerst daaraan toerekent. Daardoor is de hoofdsom hoger dan "
            "alleen factuur min betalingen."
        ),
        "paid_costs_part": " en {amount} naar incassokosten",
        "pay_now": "Nu te betalen",
        "pay_now_text": (
            "Dit is wat u nu aan ons betaalt, net als het totaal in het betaalportaal: de facturen die niet in "
            "een betalingsregeling zitten, niet uit handen zijn gegeven, niet betwist zijn en waarvoor geen "
            "betaling loopt."
        ),
        "in_plan": "In uw betalingsregeling: u betaalt dit met de termijnen",
        "handed_over": "Uit handen gegeven: u betaalt dit aan het incassobureau",
        "disputed": "Betwist: niet in het bedrag nu te betalen",
        "in_progress": "Betaling loopt al",
        "status_note": {
            "payment_plan": "in betalingsregeling", "handed_over": "uit handen gegeven", "disputed": "betwist",
        },
    },
    "en": {
        "invoice": "Invoice", "statement": "Account statement", "number": "Invoice number",
        "issue_date": "Invoice date", "due_date": "Due date", "total": "Total", "open": "Open",
        "status": "Status", "reference": "Payment reference", "description": "Description",
        "customer": "Customer number", "date": "Date", "open_invoices": "Open invoices",
        "paid_invoices": "Paid invoices", "copy": "Copy for the debtor",
        "iban": "Pay to IBAN", "interest": "Interest", "costs": "Collection costs",
        "credit_notes": "Credit notes", "credit_note_number": "Credit note number",
        "applied_to": "Applied to", "not_applied": "Not yet applied",
        "no_open_invoices": "No open invoices.", "no_paid_invoices": "No paid invoices.",
        "credit": "Your credit", "principal": "Principal",
        "credit_text": (
            "You paid {amount} more than you owed. We set this credit off against your next invoice, "
            "or pay it back on request."
        ),
        "claim_total": "Total claim", "summary": "What you pay now",
        "paid_to_charges": (
            "Of your payments, {interest} went to interest{costs}, because the law "
            "(art. 6:44 Dutch Civil Code) applies a payment to those first. So the principal is higher than "
            "the invoices less the payments."
        ),
        "paid_costs_part": " and {amount} to collection costs",
        "pay_now": "To pay now",
        "pay_now_text": (
            "This is what you pay us now, the same as the total in the payment portal: the invoices that are "
            "not in a payment plan, not handed over, not disputed and without a payment in progress."
        ),
        "in_plan": "In your payment plan: you pay this with the instalments",
        "handed_over": "Handed over: you pay this to the collection agency",
        "disputed": "Disputed: not in the amount to pay now",
        "in_progress": "Payment already in progress",
        "status_note": {
            "payment_plan": "in payment plan", "handed_over": "handed over", "disputed": "disputed",
        },
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


def render_statement_pdf(account: Account, language: str, day: dt.date) -> bytes:
    """Return a PDF statement of one account: open invoices with amounts due, paid ones, then credit notes.

    Under the open invoices it states what the debtor can pay now, by the
    rule of the portal's total (`Account.online_total`), apart from the
    amounts in a payment plan, handed over or disputed.
    """
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
            _numbered(line.invoice, labels),
            _date(line.due_date, language),
            format_money(line.open_amount, line.invoice.currency, language),
            format_money(line.interest, line.invoice.currency, language),
        ]
        for line in account.open_lines
    ]
    if account.costs:
        open_rows.append(["", "", labels["costs"], format_money(account.costs, account.currency, language)])
    open_rows.append(["", "", labels["claim_total"], format_money(account.total_due, account.currency, language)])
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
    # A table of headers without invoice rows reads as if rows went missing.
    if account.open_lines or account.costs:
        open_block: Flowable = _table(open_rows, widths)
    else:
        open_block = Paragraph(labels["no_open_invoices"], styles["Normal"])
    story += [Paragraph(labels["open_invoices"], styles["Heading3"]), open_block]
    if account.interest_paid or account.costs_paid:
        paid_to_charges = labels["paid_to_charges"].format(
            interest=format_money(account.interest_paid, account.currency, language),
            costs=labels["paid_costs_part"].format(
                amount=format_money(account.costs_paid, account.currency, language)
            ) if account.costs_paid else "",
        )
        story += [Spacer(1, 2 * mm), Paragraph(escape(paid_to_charges), styles["Normal"])]
    story.append(Spacer(1, 6 * mm))
    if account.open_lines:
        pay_now_rows = _pay_now_rows(account, labels, language)
        story += [Paragraph(labels["summary"], styles["Heading3"]), _plain_table(pay_now_rows, [120 * mm, 45 * mm])]
        if len(pay_now_rows) > 1:
            story.append(Paragraph(escape(labels["pay_now_text"]), styles["Normal"]))
        story.append(Spacer(1, 8 * mm))
    story += [
        Paragraph(labels["paid_invoices"], styles["Heading3"]),
        _table(paid_rows, widths) if account.paid else Paragraph(labels["no_paid_invoices"], styles["Normal"]),
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


def _numbered(invoice: Invoice, labels: dict) -> str:
    """Return the invoice number, followed by its status when that keeps it out of the amount to pay now."""
    note = labels["status_note"].get(invoice.status)
    return f"{invoice.number} ({note})" if note else invoice.number


def _pay_now_rows(account: Account, labels: dict, language: str) -> list[list[str]]:
    """Return the rows that split the claim: what can be paid now and, when any, the parts paid another way.

    The rows add up to the claim total. Each invoice's line carries its
    share of the collection costs, so the costs of a handed-over invoice
    count with the handed-over part, because the collection agency collects
    them, and those of a payment in progress with that payment.
    """
    currency = account.currency
    online = account.online_total
    rows = [[labels["pay_now"], format_money(online.total, currency, language)]]
    parts = [
        (labels["in_plan"], sum((line.amount_due for line in account.plan_lines), ZERO)),
        (labels["handed_over"], sum((line.amount_due for line in account.handed_over_lines), ZERO)),
        (labels["disputed"], sum((line.amount_due for line in account.disputed_lines), ZERO)),
        (labels["in_progress"], sum((line.amount_due for line in account.open_lines if line.in_progress), ZERO)),
    ]
    rows += [[label, format_money(amount, currency, language)] for label, amount in parts if amount > ZERO]
    return rows
