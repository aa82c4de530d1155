"""The legal paragraph of a 14-day letter, as data and sentences for the letter templates.

BW 6:96 lid 6 requires the letter to state the principal, the collection
costs that will be charged if payment does not follow, and a term of 14
days that starts the day after receipt. A term worded from the letter's date
("14 dagen na dagtekening") does not start on the day after receipt, so such
a letter does not meet the rule and no costs are owed at all.
The sentences name no end date, because the presumed day of receipt may
differ from the real one; `FourteenDayTerm.term_end` is for our own records.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.money import format_money
from betaalreis.legal.claims import ClaimBreakdown, CostsStatus, DebtorKind
from betaalreis.legal.fourteen_day import FourteenDayTerm

# NOTE: open for legal review: courts are known to accept "vanaf de dag nadat
# deze brief bij u is bezorgd" and "vijftien dagen nadat"; whether the "term"
# wording below counts as the same has not been checked against case law.
_SENTENCES = {
    "nl": {
        "term": (
            "Wij verzoeken u {amount} te betalen binnen veertien dagen na de dag waarop u "
            "deze brief heeft ontvangen."
        ),
        "costs": (
            "Heeft u dit bedrag niet binnen die termijn betaald, dan bent u ook "
            "buitengerechtelijke incassokosten van {costs} verschuldigd."
        ),
        "costs_vat": (
            "Heeft u dit bedrag niet binnen die termijn betaald, dan bent u ook "
            "buitengerechtelijke incassokosten van {costs} verschuldigd, waarvan {vat} btw. Wij rekenen "
            "die btw omdat wij voor de incasso een externe dienst inschakelen die ons btw in rekening "
            "brengt en wij die btw niet kunnen aftrekken."
        ),
        "payment": (
            "Maak het bedrag over aan {payee}, rekening {iban}, onder vermelding van {reference}."
        ),
    },
    "en": {
        "term": (
            "Please pay {amount} within fourteen days after the day on which you received "
            "this letter."
        ),
        "costs": (
            "If you have not paid this amount within that term, you will also owe "
            "extrajudicial collection costs of {costs}."
        ),
        "costs_vat": (
            "If you have not paid this amount within that term, you will also owe "
            "extrajudicial collection costs of {costs}, of which {vat} is VAT. We add that VAT "
            "because we use an outside collection service that charges us VAT, and we cannot "
            "deduct that VAT."
        ),
        "payment": "Please transfer the amount to {payee}, account {iban}, quoting {reference}.",
    },
}


@dataclass(frozen=True, slots=True)
class FourteenDayLetter:
    """The amounts and the required sentences of one 14-day letter in one language."""

    language: str
    currency: str
    principal: Decimal
    interest: Decimal
    # Amount to pay within the term: unpaid principal and interest.
    amount_due: Decimal
    # Collection costs with any VAT, charged if the term passes unpaid.
    costs_if_unpaid: Decimal
    vat_on_costs: Decimal
    term: FourteenDayTerm
    term_sentence: str
    costs_sentence: str
    payment_sentence: str

    @property
    def paragraph(self) -> str:
        return " ".join((self.term_sentence, self.costs_sentence, self.payment_sentence))


def fourteen_day_letter(
    breakdown: ClaimBreakdown,
    term: FourteenDayTerm,
    *,
    language: str,
    payee_name: str,
    iban: str,
    payment_reference: str,
) -> FourteenDayLetter:
    """Return the legal paragraph of a 14-day letter for the claim in `breakdown`.

    `breakdown` must be the consumer's claim on the day the letter is sent,
    computed without a term end, so that no costs are charged yet.
    Raises InvalidInput for a business claim or a claim that already
    charges costs.
    """
    if breakdown.debtor_kind is not DebtorKind.CONSUMER:
        raise InvalidInput(gettext(
            "Een veertiendagenbrief is voor debiteuren die consument zijn; een bedrijf is de kosten "
            "zonder zo'n brief verschuldigd."
        ))
    if breakdown.costs.status is CostsStatus.DUE:
        raise InvalidInput(gettext(
            "De vordering rekent al incassokosten. Bereken haar op de dag dat de brief uitgaat, "
            "zonder einde van de termijn van 14 dagen."
        ))

    sentences = _SENTENCES["nl" if language == "nl" else "en"]
    amount_due = breakdown.principal_outstanding + breakdown.interest_outstanding
    costs_if_unpaid = breakdown.costs.if_unpaid
    vat = breakdown.costs.if_unpaid_vat

    def money(amount: Decimal) -> str:
        return format_money(amount, breakdown.currency, language)

    costs_key = "costs_vat" if vat else "costs"
    return FourteenDayLetter(
        language=language,
        currency=breakdown.currency,
        principal=breakdown.principal_outstanding,
        interest=breakdown.interest_outstanding,
        amount_due=amount_due,
        costs_if_unpaid=costs_if_unpaid,
        vat_on_costs=vat,
        term=term,
        term_sentence=sentences["term"].format(amount=money(amount_due)),
        costs_sentence=sentences[costs_key].format(costs=money(costs_if_unpaid), vat=money(vat)),
        payment_sentence=sentences["payment"].format(
            payee=payee_name, iban=_group_iban(iban), reference=payment_reference
        ),
    )


def _group_iban(iban: str) -> str:
    compact = compact_iban(iban)
    return " ".join(compact[index : index + 4] for index in range(0, len(compact), 4))
