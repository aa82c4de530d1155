"""Name the invoices that a payment quotes but cannot pay, and make their debtor the candidate.

A payment that quotes an invoice that is already paid, credited or written
off finds no open invoice, so no rule matches it. Usually the debtor paid
twice or paid a credited invoice, and the reviewer must refund the money or
keep it as credit. `name_settled_invoices` looks up, with one query per
chunk, the settled invoices that such payments quote by number. When the
numbers point to one debtor, the review reason names the invoices and their
status, and that debtor becomes the candidate without invoices, so one
click keeps the money as the debtor's credit.

A payment that the rules matched to open invoices can still pay none of
them, because the invoices are in another currency or an earlier payment
of the same chunk paid them. `name_unpaid_invoices` makes the debtors of those
invoices the candidates. The rules already loaded the invoices, so this
needs no query. Either way the run pauses the dunning of the candidates
while the payment waits in review.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from betaalreis.banking.invoice_index import PaymentKeys
from betaalreis.banking.models import MatchRule
from betaalreis.banking.remittance import WEAK_NUMBER_DIGITS
from betaalreis.banking.invoice_index import OpenInvoice
from betaalreis.banking.rules import Decision
from betaalreis.ledger.models import Creditor, Invoice, InvoiceStatus

# Settled statuses as the stored English reason names them.
_STATUS_WORDS = {
    InvoiceStatus.PAID: "paid",
    InvoiceStatus.CREDITED: "credited",
    InvoiceStatus.WRITTEN_OFF: "written off",
}
# Keys looked up per query, well below SQLite's parameter limit.
_QUERY_KEYS = 900


def name_settled_invoices(
    creditor: Creditor,
    unmatched: Iterable[tuple[int, PaymentKeys]],
    reviews: dict[int, Decision],
    paid_in_chunk: Collection[int] = (),
) -> None:
    """Replace the review decision of each payment that quotes settled invoices of one debtor.

    `paid_in_chunk` are the ids of invoices that earlier payments of the same
    chunk pay in full. They still read as open in the database, because the
    chunk is allocated after this call, so they count as paid here.
    """
    # Long digit runs count as keys too, so "2027 0010" (a space for the
    # dash) names 2027-0010. The matcher's own lookups of them find only open invoices.
    quoted = [
        (payment_id, keys.number_keys | {run for run in keys.digit_runs if len(run) > WEAK_NUMBER_DIGITS})
        for payment_id, keys in unmatched
    ]
    quoted = [(payment_id, number_keys) for payment_id, number_keys in quoted if number_keys]
    keys_to_find = sorted({key for _, number_keys in quoted for key in number_keys})
    if not keys_to_find:
        return

    settled: dict[str, list[tuple[str, int, str]]] = {}
    for start in range(0, len(keys_to_find), _QUERY_KEYS):
        # The status is checked here and not in the query. With it in the
        # query and statistics from before the run, when nothing was paid,
        # PostgreSQL read every paid invoice of the creditor through the
        # (creditor, status, due_date) index instead of looking the numbers up.
        rows = Invoice.objects.filter(
            creditor=creditor,
            number_key__in=keys_to_find[start:start + _QUERY_KEYS],
        ).order_by().values_list("number_key", "id", "number", "debtor_id", "status")
        for key, pk, number, debtor_id, status in rows:
            if pk in paid_in_chunk:
                status = InvoiceStatus.PAID
            if status in _STATUS_WORDS:
                settled.setdefault(key, []).append((number, debtor_id, status))

    for payment_id, number_keys in quoted:
        found = sorted(invoice for key in number_keys for invoice in settled.get(key, []))
        debtors = {debtor_id for _, debtor_id, _ in found}
        if len(debtors) != 1:
            continue
        (debtor_id,) = debtors
        described = ", ".join(f"{number} ({_STATUS_WORDS[status]})" for number, _, status in found)
        reason = (
            f"invoice number {described} in the description, but no longer open; "
            "paid twice or paid late, so keep it as credit or refund it"
        )
        reviews[payment_id] = Decision(MatchRule.NONE, 0, reason, candidates=[_debtor_candidate(debtor_id, reason)])


def name_unpaid_invoices(decision: Decision, payment_currency: str) -> Decision:
    """Return the review decision for a matched payment that paid none of `decision.invoices`.

    The reason names the cause, which is another currency or invoices that
    are no longer open. Each debtor of the invoices becomes a candidate without
    invoices, because confirming the payment on them would fail again.
    """
    reason = decision.reason + _unpaid_reason(decision.invoices, payment_currency)
    debtor_ids = sorted({invoice.debtor_id for invoice in decision.invoices})
    return Decision(decision.rule, 0, reason, candidates=[_debtor_candidate(debtor_id, reason) for debtor_id in debtor_ids])


def _unpaid_reason(invoices: list[OpenInvoice], payment_currency: str) -> str:
    currencies = sorted({invoice.currency for invoice in invoices})
    if payment_currency not in currencies:
        return f", but the payment is in {payment_currency} and its invoices in {', '.join(currencies)}"
    return ", but its invoices are no longer open"


def _debtor_candidate(debtor_id: int, reason: str) -> tuple[int, list[OpenInvoice], str, int, str]:
    """Return a candidate that names the debtor but no invoices, so confirming keeps the money as credit."""
    return (debtor_id, [], MatchRule.INVOICE_NUMBER, 50, reason)
