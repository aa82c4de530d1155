"""A short explanation of a claim in Dutch or English, for letters, messages and the portal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.dates import format_date

from betaalreis.ledger.money import format_money

if TYPE_CHECKING:
    from betaalreis.legal.claims import ClaimBreakdown

_TEXTS = {
    "nl": {
        "principal": "Hoofdsom: {amount}.",
        "statutory": "Wettelijke rente (art. 6:119 BW) vanaf {start} tot en met {end}: {amount}.",
        "commercial": (
            "Wettelijke handelsrente (art. 6:119a BW) vanaf {start} tot en met {end}: {amount}."
        ),
        "paid": "Ontvangen betalingen: {amount}, toegerekend in deze volgorde: {order}.",
        "costs_scale": "Buitengerechtelijke incassokosten volgens de wettelijke staffel: {amount}.",
        "costs_fixed": "Vaste vergoeding voor incassokosten (art. 6:96 lid 4 BW): {amount}.",
        "vat": "Btw over de incassokosten ({percent}%): {amount}.",
        "term_running": (
            "Betaalt u niet binnen de termijn van de veertiendagenbrief, "
            "dan komen er incassokosten van {amount} bij."
        ),
        "no_letter": "Er zijn nog geen incassokosten verschuldigd.",
        "total": "Totaal openstaand: {amount}.",
        "credit": "U heeft {amount} meer betaald dan u verschuldigd was. Dat bedrag is uw tegoed.",
        "parts": {"costs": "kosten", "interest": "rente", "principal": "hoofdsom"},
        "interest_limited": (
            "Factuur {invoices} is al sinds {default} niet betaald. Wij rekenen rente pas vanaf "
            "{start}, omdat onze rentetabel op die dag begint."
        ),
        "before_bik": (
            "Factuur {invoices} is al sinds {default} niet betaald, dus van vóór 1 juli 2012. Over zo'n "
            "factuur rekenen wij geen incassokosten, omdat het Besluit vergoeding voor "
            "buitengerechtelijke incassokosten er niet voor geldt (art. 3)."
        ),
    },
    "en": {
        "principal": "Principal: {amount}.",
        "statutory": (
            "Statutory interest (art. 6:119 Dutch Civil Code) from {start} "
            "up to and including {end}: {amount}."
        ),
        "commercial": (
            "Commercial statutory interest (art. 6:119a Dutch Civil Code) from {start} "
            "up to and including {end}: {amount}."
        ),
        "paid": "Payments received: {amount}, applied in this order: {order}.",
        "costs_scale": "Extrajudicial collection costs per the statutory scale: {amount}.",
        "costs_fixed": (
            "Fixed compensation for collection costs (art. 6:96(4) Dutch Civil Code): {amount}."
        ),
        "vat": "VAT on the collection costs ({percent}%): {amount}.",
        "term_running": (
            "If you do not pay within the term of the fourteen-day letter, "
            "collection costs of {amount} will be added."
        ),
        "no_letter": "No collection costs are owed yet.",
        "total": "Total outstanding: {amount}.",
        "credit": "You paid {amount} more than you owed, which is your credit.",
        "parts": {"costs": "costs", "interest": "interest", "principal": "principal"},
        "interest_limited": (
            "Invoice {invoices} has been unpaid since {default}. We charge interest only from "
            "{start}, because our interest rate table starts on that day."
        ),
        "before_bik": (
            "Invoice {invoices} has been unpaid since {default}, before 1 July 2012. We charge no "
            "collection costs on it, because the Dutch decree on extrajudicial collection costs "
            "(BIK) does not apply to it (art. 3)."
        ),
    },
}


def explain_claim(breakdown: ClaimBreakdown, language: str) -> str:
    """Return a few plain sentences on how the claim's total is made up."""
    from betaalreis.legal.claims import CostsStatus

    texts = _TEXTS["nl" if language == "nl" else "en"]
    locale = "nl_NL" if language == "nl" else "en_GB"

    def money(amount: Decimal) -> str:
        return format_money(amount, breakdown.currency, language)

    lines = [texts["principal"].format(amount=money(breakdown.principal))]

    if breakdown.interest_periods:
        start = min(period.start for period in breakdown.interest_periods)
        end = max(period.end for period in breakdown.interest_periods)
        lines.append(
            texts[str(breakdown.interest_kind)].format(
                start=_date(start, locale),
                end=_date(end, locale),
                amount=money(breakdown.interest),
            )
        )

    if breakdown.payments:
        lines.append(payments_sentence(breakdown, language))

    costs = breakdown.costs
    if costs.status is CostsStatus.DUE:
        key = "costs_fixed" if costs.is_fixed_minimum else "costs_scale"
        lines.append(texts[key].format(amount=money(costs.costs)))
        if costs.vat:
            percent = _percent(costs.vat_percent)
            lines.append(texts["vat"].format(percent=percent, amount=money(costs.vat)))
    elif costs.status is CostsStatus.TERM_RUNNING:
        lines.append(texts["term_running"].format(amount=money(costs.if_unpaid)))
    elif costs.status is CostsStatus.NO_LETTER:
        lines.append(texts["no_letter"])

    lines.extend(claim_notices(breakdown, language))
    lines.append(texts["total"].format(amount=money(breakdown.total_outstanding)))
    if breakdown.unapplied_payments > 0:
        lines.append(texts["credit"].format(amount=money(breakdown.unapplied_payments)))
    return " ".join(lines)


def payments_sentence(breakdown: ClaimBreakdown, language: str) -> str:
    """Return the sentence on the payments received and the order they were applied in; empty without payments."""
    if not breakdown.payments:
        return ""

    texts = _TEXTS["nl" if language == "nl" else "en"]
    order = ", ".join(texts["parts"][str(part)] for part in breakdown.allocation_order)
    paid = sum((payment.amount for payment in breakdown.payments), Decimal(0))
    return texts["paid"].format(amount=format_money(paid, breakdown.currency, language), order=order)


def claim_notices(breakdown: ClaimBreakdown, language: str) -> tuple[str, ...]:
    """Return one sentence per limit of the computation on an invoice.

    An invoice gets one when its interest starts later than its default,
    because the rate table starts later, and one when it bears no collection
    costs, because it was in default before the BIK took effect.
    """
    texts = _TEXTS["nl" if language == "nl" else "en"]
    locale = "nl_NL" if language == "nl" else "en_GB"
    notices = []
    for item in breakdown.items:
        if item.default_before_rate_table is not None:
            notices.append(
                texts["interest_limited"].format(
                    invoices=item.invoice_number,
                    default=_date(item.default_before_rate_table, locale),
                    start=_date(item.interest_from, locale),
                )
            )
        if item.default_before_bik is not None:
            notices.append(
                texts["before_bik"].format(
                    invoices=item.invoice_number, default=_date(item.default_before_bik, locale)
                )
            )
    return tuple(notices)


def _date(value: dt.date, locale: str) -> str:
    """Format a date as 02-10-2025 in Dutch and 2 Oct 2025 in English.

    English names the month, because a reader in the US takes 02/10/2025 for 10 February.
    """
    return format_date(value, "dd-MM-yyyy" if locale == "nl_NL" else "d MMM y", locale=locale)


def _percent(value: Decimal | None) -> str:
    return format(value.normalize(), "f") if value is not None else ""
