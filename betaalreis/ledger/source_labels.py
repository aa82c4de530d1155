"""Show the stored source of a timeline event in the reader's language.

Sources are stored as short English codes, sometimes with a detail after
them ("review queue", "import:invoices.csv", "run 2026-10-05",
"limitation command (jan)"). The admin translates the code and keeps the
detail as it is. Codes that read the same in Dutch, such as "import",
"run", "demo" and "webhook", are not listed.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

SOURCE_LABELS: dict[str, Promise] = {
    "admin": _("backoffice"),
    "automatic match": _("automatisch afletteren"),
    "bank matching": _("afletteren bank"),
    "bounces": _("onbestelbare e-mails"),
    "credit": _("tegoed"),
    "credit note": _("creditnota"),
    "dispatch": _("verzending"),
    "limitation command": _("opdracht verjaring"),
    "payment plan check": _("controle betalingsregeling"),
    "portal": _("debiteurenportaal"),
    "promise check": _("controle betaalbelofte"),
    "provider": _("betaalprovider"),
    "review queue": _("beoordelingslijst"),
    "user": _("gebruiker"),
}
# Longest first, so "credit note" is not read as "credit" with a detail.
_CODES = sorted(SOURCE_LABELS, key=len, reverse=True)


def source_label(source: str) -> str:
    """Return `source` with its code in the active language, or `source` itself when the code is unknown."""
    for code in _CODES:
        if source == code:
            return str(SOURCE_LABELS[code])
        if source.startswith(code) and source[len(code)] in ": ":
            return f"{SOURCE_LABELS[code]}{source[len(code):]}"
    return source
