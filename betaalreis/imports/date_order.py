"""Notes on invoice dates that an import accepts but a credit manager should check."""

from __future__ import annotations

from django.utils.translation import gettext, ngettext

from betaalreis.imports.records import InvoiceData
from betaalreis.imports.registry import more_items

_MAX_NAMED_INVOICES = 10


def due_before_issue_note(invoices: list[InvoiceData]) -> str | None:
    """Return a note naming the invoices whose due date lies before their invoice date, or None.

    Such rows are imported, because some accounting packages write them (an
    invoice booked after its term ran out). More often the two date columns
    are swapped or mistyped, and dunning, interest and the stages all count
    from the due date, so the report names each invoice and its row.
    """
    early = [
        invoice for invoice in invoices
        if not invoice.is_credit_note and invoice.issue_date is not None and invoice.due_date < invoice.issue_date
    ]
    if not early:
        return None

    named = []
    for invoice in early[:_MAX_NAMED_INVOICES]:
        if invoice.row is None:
            named.append(invoice.number)
        else:
            named.append(gettext("%(number)s (rij %(row)d)") % {"number": invoice.number, "row": invoice.row})
    invoice_list = ", ".join(named)
    if len(early) > _MAX_NAMED_INVOICES:
        invoice_list = more_items(invoice_list, len(early) - _MAX_NAMED_INVOICES)

    return ngettext(
        "%(count)d factuur heeft een vervaldatum vóór de factuurdatum: %(invoices)s. Aanmanen, rente en "
        "fasen rekenen vanaf die vervaldatum. Controleer of de kolommen factuurdatum en vervaldatum niet "
        "verwisseld zijn, en verbeter zo nodig het bestand.",
        "%(count)d facturen hebben een vervaldatum vóór de factuurdatum: %(invoices)s. Aanmanen, rente en "
        "fasen rekenen vanaf die vervaldatum. Controleer of de kolommen factuurdatum en vervaldatum niet "
        "verwisseld zijn, en verbeter zo nodig het bestand.",
        len(early),
    ) % {"count": len(early), "invoices": invoice_list}
