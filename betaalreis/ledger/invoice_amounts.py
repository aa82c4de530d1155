"""Consistency rules for an invoice's total, open amount and status, checked on edits by hand.

An invoice has a total and an open amount of zero or more, and the open
amount is at most the total. A credit note has both amounts at zero or
below, and its open amount is at most as far from zero as its total. A paid
or credited invoice has nothing open. A written-off invoice keeps its open
amount, because the debtor still owes it in law.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from betaalreis.ledger.models import ZERO, InvoiceKind, InvoiceStatus
from betaalreis.ledger.money import format_report_money

# Statuses that mean nothing of the invoice is open any more.
SETTLED_STATUSES = (InvoiceStatus.PAID, InvoiceStatus.CREDITED)


@dataclass(frozen=True, slots=True)
class AmountProblem:
    """One broken rule: the form field it belongs to, a stable code and a message in the active language."""

    field: str
    code: str
    message: str


def amount_problems(
    kind: str, status: str, total: Decimal, open_amount: Decimal, currency: str
) -> list[AmountProblem]:
    """Return the rules that `total`, `open_amount` and `status` break together, or an empty list."""
    if kind == InvoiceKind.CREDIT_NOTE:
        problems = _credit_note_problems(total, open_amount, currency)
    else:
        problems = _invoice_problems(total, open_amount, currency)

    if status in SETTLED_STATUSES and open_amount != ZERO:
        problems.append(AmountProblem(
            "open_amount",
            "open_while_settled",
            _(
                "Openstaand is %(open)s, maar bij status %(status)s staat er niets meer open. "
                "Zet Openstaand op 0,00, of kies een andere status als er nog iets open staat."
            ) % {"open": format_report_money(open_amount, currency), "status": InvoiceStatus(status).label},
        ))
    return problems


def _invoice_problems(total: Decimal, open_amount: Decimal, currency: str) -> list[AmountProblem]:
    problems: list[AmountProblem] = []
    if total < ZERO:
        problems.append(AmountProblem(
            "total",
            "negative_total",
            _("Totaal %(total)s is negatief. Voer een bedrag van 0,00 of meer in, of kies soort Creditnota.")
            % {"total": format_report_money(total, currency)},
        ))
    if open_amount < ZERO:
        problems.append(AmountProblem(
            "open_amount",
            "negative_open_amount",
            _(
                "Openstaand %(open)s is negatief. Voer 0,00 of meer in. Wat de klant te veel betaalde, "
                "staat als tegoed op de betaling."
            ) % {"open": format_report_money(open_amount, currency)},
        ))
    elif total >= ZERO and open_amount > total:
        problems.append(AmountProblem(
            "open_amount",
            "open_above_total",
            _("Openstaand %(open)s is hoger dan het totaal %(total)s. Verlaag Openstaand of verhoog het totaal.")
            % {"open": format_report_money(open_amount, currency), "total": format_report_money(total, currency)},
        ))
    return problems


def _credit_note_problems(total: Decimal, open_amount: Decimal, currency: str) -> list[AmountProblem]:
    problems: list[AmountProblem] = []
    if total > ZERO:
        problems.append(AmountProblem(
            "total",
            "positive_credit_note_total",
            _("Totaal %(total)s van een creditnota is positief. Voer het bedrag negatief in, bijvoorbeeld -50,00.")
            % {"total": format_report_money(total, currency)},
        ))
    if open_amount > ZERO:
        problems.append(AmountProblem(
            "open_amount",
            "positive_credit_note_open_amount",
            _("Openstaand %(open)s van een creditnota is positief. Voer het bedrag negatief in, of 0,00 als het verrekend is.")
            % {"open": format_report_money(open_amount, currency)},
        ))
    elif total <= ZERO and open_amount < total:
        problems.append(AmountProblem(
            "open_amount",
            "open_above_total",
            _("Openstaand %(open)s is hoger dan het totaal %(total)s van de creditnota. Kies een bedrag tussen %(total)s en 0,00.")
            % {"open": format_report_money(open_amount, currency), "total": format_report_money(total, currency)},
        ))
    return problems
