"""Show the stored reasons of bank matching in the reader's language.

Matching stores why it matched a payment as English text (Payment.match_reason,
Allocation.reason, MatchCandidate.reason), built from
a fixed set of phrases with numbers, names and IBANs between them. Logs keep
that text. The back office and the import report show the reason through
`reason_in_language`: in Dutch through `reason_in_dutch`, which replaces each
known phrase and leaves the values as they are, and in English as stored.
In both languages the amounts are then written in the report's money format.
Rows stored before a phrase was added need no migration, because the
translation happens when the reason is shown.

Every phrase that `rules.py`, `matching.py`, `credit.py`, `reversals.py`,
`settled_invoices.py`, `handover_review.py`, `amount_candidates.py`, `actions.py`, `duplicates.py`,
`payments/services.py` and
`ledger/actions.py` write needs a row in `_PHRASES`. test_reason_text.py
builds the reasons of the matching test table and checks that no English
phrase is left.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import list_currencies
from django.utils import translation

from betaalreis.ledger.money import format_report_money

# (English pattern, Dutch replacement), tried in this order. Longer phrases
# come before the shorter ones they contain.
_PHRASES: tuple[tuple[str, str], ...] = (
    (r", but invoice (.+?) was handed over to the collection agency: tell the agency of this payment before "
     r"booking it, because booking only the principal waives the costs and interest",
     r", maar factuur \1 is uit handen gegeven aan het incassobureau: meld deze betaling aan het incassobureau "
     r"voordat u haar boekt, want alleen de hoofdsom boeken scheldt de kosten en rente kwijt"),
    (r", but invoices (.+?) were handed over to the collection agency: tell the agency of this payment before "
     r"booking it, because booking only the principal waives the costs and interest",
     r", maar facturen \1 zijn uit handen gegeven aan het incassobureau: meld deze betaling aan het incassobureau "
     r"voordat u haar boekt, want alleen de hoofdsom boeken scheldt de kosten en rente kwijt"),
    (r"only the amount matches: (\S+) (\S+) equals what is open or was requested for (.+?); "
     r"no reference or known payer",
     r"alleen het bedrag past: \1 \2 is gelijk aan wat openstaat of werd gevraagd voor \3; "
     r"geen betalingskenmerk of bekende betaler"),
    (r"; (\d+) debtors have an open invoice or a sent message of (\S+) (\S+), too many to propose",
     r"; \1 debiteuren hebben een openstaande factuur of een verstuurd bericht van \2 \3, te veel om voor te stellen"),
    (r"no rule matched: no valid reference, invoice number, known IBAN or name",
     "geen regel past: geen geldig betalingskenmerk, factuurnummer, bekend IBAN of bekende naam"),
    (r"structured reference (\S+) names a debtor without open invoices; paid twice or paid late, "
     r"so keep it as credit or refund it",
     r"betalingskenmerk \1 hoort bij een debiteur zonder openstaande facturen; dubbel of te laat "
     r"betaald, dus laat het als tegoed staan of betaal het terug"),
    (r"short or ambiguous number (.+?) in the description, not confirmed by amount, payer IBAN or name",
     r"kort of meerduidig nummer \1 in de omschrijving, niet bevestigd door bedrag, IBAN of naam van de betaler"),
    (r" \(at the end of a longer number\)", " (aan het eind van een langer nummer)"),
    (r" \(short number, confirmed by amount, payer IBAN or name\)",
     " (kort nummer, bevestigd door bedrag, IBAN of naam van de betaler)"),
    (r"may repeat bank transaction (\d+) of notification (.+?) \((.+?)\): same date, amount, payer and "
     r"description, and no end-to-end id tells them apart",
     r"herhaalt mogelijk banktransactie \1 van notificatie \2 (\3): dezelfde datum, hetzelfde bedrag, "
     r"dezelfde betaler en omschrijving, en geen end-to-end-id onderscheidt ze"),
    (r"invoice number with one wrong digit, amount equal to the total a sent message requested for ",
     "factuurnummer met één afwijkend cijfer, bedrag gelijk aan het totaal dat een verstuurd bericht vroeg voor "),
    (r"invoice number with one wrong digit, amount equal to ", "factuurnummer met één afwijkend cijfer, bedrag gelijk aan "),
    (r"; more than one invoice of this amount is one digit away",
     "; meer dan één factuur van dit bedrag wijkt één cijfer af"),
    (r"; also one digit away from ", "; wijkt ook één cijfer af van "),
    (r"; the description names invoice (.+?), which is not open", r"; de omschrijving noemt factuur \1, die niet openstaat"),
    (r"; the payer IBAN is linked to another debtor", "; het IBAN van de betaler hoort bij een andere debiteur"),
    (r", and (.+?) with one wrong digit, ", r", en \1 met één afwijkend cijfer, "),
    (r"(\S+) written as (\d+)", r"\1 geschreven als \2"),
    (r"amount equals their open amount", "bedrag gelijk aan hun openstaande bedrag"),
    (r"amount equals the total a sent message requested for them",
     "bedrag gelijk aan het totaal dat een verstuurd bericht ervoor vroeg"),
    (r", amount equals the total a sent message requested for ",
     ", bedrag gelijk aan het totaal dat een verstuurd bericht vroeg voor "),
    (r"invoice number (.+?) written with the letter O for a zero",
     r"factuurnummer \1 geschreven met de letter O voor een nul"),
    (r", not confirmed by the amount", ", niet bevestigd door het bedrag"),
    (r"invoice number (.+?) in the description, but no longer open; paid twice or paid late, "
     r"so keep it as credit or refund it",
     r"factuurnummer \1 in de omschrijving, maar niet meer openstaand; dubbel of te laat "
     r"betaald, dus laat het als tegoed staan of betaal het terug"),
    (r"\(paid\)", "(betaald)"),
    (r"\(credited\)", "(gecrediteerd)"),
    (r"\(written off\)", "(afgeboekt)"),
    (r"invoice number (.+?) in the description", r"factuurnummer \1 in de omschrijving"),
    (r"structured reference ", "betalingskenmerk "),
    (r"payer IBAN known, amount fits no set of open invoices",
     "IBAN van de betaler bekend, het bedrag past bij geen combinatie van openstaande facturen"),
    (r"payer IBAN known", "IBAN van de betaler bekend"),
    (r"payer name close to debtor name", "naam van de betaler lijkt op de naam van de debiteur"),
    (r", amount equals open amount of ", ", bedrag gelijk aan het openstaande bedrag van "),
    (r", amount fits (\d+) invoice sets", r", bedrag past bij \1 combinaties van facturen"),
    (r", amount picks one debtor", ", het bedrag wijst één debiteur aan"),
    (r", payer IBAN or name picks one debtor", ", IBAN of naam van de betaler wijst één debiteur aan"),
    (r", but on invoices of (\d+) debtors", r", maar op facturen van \1 debiteuren"),
    (r", split over (\d+) debtors", r", verdeeld over \1 debiteuren"),
    (r", but the payment is in (\S+) and its invoices in ", r", maar de betaling is in \1 en de facturen in "),
    (r", but its invoices are no longer open", ", maar de facturen staan niet meer open"),
    (r", but the payment of (\S+) (\S+) is more than twice the (\S+) (\S+) open: large overpayment",
     r", maar de betaling van \1 \2 is meer dan twee keer de \3 \4 die openstaat: grote overbetaling"),
    (r"reversal of payment (\d+), confirmed by ", r"terugboeking van betaling \1, bevestigd door "),
    (r"reversal of payment (\d+)", r"terugboeking van betaling \1"),
    (r"reversal: several earlier payments have its end-to-end id ",
     "terugboeking: meerdere eerdere betalingen hebben dezelfde end-to-end-id "),
    (r"reversal: no earlier payment of this amount has its end-to-end id or payer IBAN",
     "terugboeking: geen eerdere betaling van dit bedrag heeft dezelfde end-to-end-id of hetzelfde IBAN"),
    (r"reversal: (\d+) earlier payments of this amount from payer IBAN ",
     r"terugboeking: \1 eerdere betalingen van dit bedrag van IBAN "),
    (r"credit of payment (\d+) applied", r"tegoed van betaling \1 verrekend"),
    (r"; 1 earlier payment of this amount listed as candidates",
     "; 1 eerdere betaling van dit bedrag als kandidaat voorgesteld"),
    (r"; (\d+) earlier payments of this amount listed as candidates",
     r"; \1 eerdere betalingen van dit bedrag als kandidaten voorgesteld"),
    (r"online payment (\S+) for invoices already paid: credit",
     r"online betaling \1 voor facturen die al betaald waren: tegoed"),
    (r"rest of online payment (\S+) after partial refund", r"rest van online betaling \1 na gedeeltelijke terugbetaling"),
    (r"rest of online payment (\S+) after partial chargeback",
     r"rest van online betaling \1 na gedeeltelijke terugvordering (chargeback)"),
    (r"online payment (\S+)", r"online betaling \1"),
    (r"credit note (\S+)", r"creditnota \1"),
    (r"ignored by (.+?): ", r"genegeerd door \1: "),
    (r"confirmed by ", "bevestigd door "),
)
_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _PHRASES)


def reason_in_dutch(reason: str) -> str:
    """Return a stored matching reason with its English phrases in Dutch."""
    for pattern, replacement in _COMPILED:
        reason = pattern.sub(replacement, reason)
    return reason


def reason_in_language(reason: str) -> str:
    """Return a stored matching reason in the active language: Dutch unless English is active.

    Amounts stored as "EUR 1016.00" are written as the report writes money in
    that language ("€1,016.00" in English, "€ 1.016,00" in Dutch).
    """
    if not (translation.get_language() or "").startswith("en"):
        reason = reason_in_dutch(reason)
    return _STORED_AMOUNT.sub(_format_stored_amount, reason)


# An ISO currency code, a space and a plain decimal, as matching writes `f"{currency} {amount}"`.
_STORED_AMOUNT = re.compile(r"\b([A-Z]{3}) (-?\d+\.\d+)(?![\d.])")


def _format_stored_amount(match: re.Match[str]) -> str:
    currency, amount = match.groups()
    if currency not in _KNOWN_CURRENCIES:
        return match.group(0)
    return format_report_money(Decimal(amount), currency)


_KNOWN_CURRENCIES = frozenset(list_currencies())
