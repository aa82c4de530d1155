"""Dutch labels, translated to English, for the rows of an import report.

`ImportReport` keeps English keys such as "entries read", which code and
tests read; `betaalreis import` prints the label of each key in the report
language. An amount key ends in the currency, as in "ignored (EUR)".
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.money import format_report_money

ROW_LABELS: dict[str, Promise] = {
    # Invoice files.
    "rows": _("rijen"),
    "invoices new": _("nieuwe facturen"),
    "credit notes new": _("nieuwe creditnota's"),
    "invoices changed": _("gewijzigde facturen"),
    "invoices unchanged": _("ongewijzigde facturen"),
    "credit notes applied": _("verrekende creditnota's"),
    "debtors new": _("nieuwe debiteuren"),
    "debtors updated": _("bijgewerkte debiteuren"),
    "bank accounts new": _("nieuwe bankrekeningen"),
    "credit notes changed": _("gewijzigde creditnota's"),
    "credit notes linked to an earlier import": _("creditnota's gekoppeld aan een eerdere import"),
    "credit notes re-allocated": _("opnieuw verdeelde creditnota's"),
    "invoices settled (not in open items)": _("facturen als betaald gemarkeerd (niet in openstaande posten)"),
    "settled, not in open items": _("als betaald gemarkeerd, niet in openstaande posten"),
    "open in file": _("openstaand in bestand"),
    "open in new invoices": _("openstaand in nieuwe facturen"),
    # Bank statements.
    "entries read": _("boekingen gelezen"),
    "transactions": _("transacties"),
    "already imported": _("al geïmporteerd"),
    "new payments": _("nieuwe betalingen"),
    "matched automatically": _("automatisch gematcht"),
    "matched partly": _("deels gematcht"),
    "reversed": _("teruggeboekt"),
    "sent to review": _("te beoordelen"),
    "reversals sent to review": _("terugboekingen te beoordelen"),
    "credit left on payments": _("tegoed over op betalingen"),
    "ignored": _("genegeerd"),
}

# Labels of the reasons for which a tabular importer skips an invoice, keyed as in `ImportBatch.skipped`.
SKIP_REASONS: dict[str, Promise] = {
    "draft": _("concept"),
    "void": _("geannuleerd"),
}

_CURRENCY_SUFFIX = re.compile(r"^(?P<name>.+) \((?P<currency>[A-Z/]+)\)$")
_SKIPPED = re.compile(r"^skipped(?P<colon>:?) (?P<reason>.+)$")


def row_label(key: str) -> str:
    """Return the label of report row `key` in the active language, or `key` itself when it has none."""
    currency = ""
    match = _CURRENCY_SUFFIX.match(key)
    if match:
        key, currency = match["name"], f" ({match['currency']})"

    skipped = _SKIPPED.match(key)
    if skipped:
        reason = SKIP_REASONS.get(skipped["reason"], skipped["reason"])
        if skipped["colon"]:
            return gettext("overgeslagen: %(reason)s") % {"reason": reason} + currency
        return gettext("overgeslagen %(reason)s") % {"reason": reason} + currency

    label = ROW_LABELS.get(key)
    return (str(label) if label is not None else key) + currency


def amount_text(key: str, amount: str) -> str:
    """Return the amount of report row `key` formatted for the active language, in the currency that ends the key.

    A row of several currencies ("ignored (EUR/USD)") gets the number without a currency sign.
    """
    match = _CURRENCY_SUFFIX.match(key)
    currency = match["currency"] if match is not None and "/" not in match["currency"] else ""
    return format_report_money(Decimal(amount), currency)
