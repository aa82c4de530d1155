"""Normalised invoice numbers, references and debtor names, stored so payments find them by index.

A bank payment quotes an invoice number with other spacing, dashes or case
than the ledger ("F2026 0000123" for "F2026-0000123"), and a payer name with
other case and legal form than the debtor ("JANSEN BV" for "Jansen B.V.").
Matching compares the normalised forms. Invoice stores them in `number_key`,
`number_digits` and `reference_key`, Debtor in `name_key`, so bank matching
fetches what a batch of payments names with a few indexed queries instead of
loading every open invoice and debtor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import models

_DROP_SEPARATORS = str.maketrans("", "", " -./_:#")
_DROP_LETTERS = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
LEGAL_FORMS = re.compile(
    r"\b(b\.?v\.?|n\.?v\.?|v\.?o\.?f\.?|c\.?v\.?|bvba|gmbh|ltd|holding|h\.?o\.?o\.?d\.?n\.?|i\.?o\.?|"
    r"inzake|en/of|eo|dhr|mw|mevr|hr|de heer|mevrouw|fa|firma)\b"
)
_NAME_PUNCTUATION = re.compile(r"[^a-z0-9à-ÿ ]")


def normalise_number(value: str) -> str:
    """Return an invoice number without spaces, dashes or dots, in upper case."""
    # str.translate removes the usual separators without a regular expression.
    # The expression handles whatever else is left.
    key = value.translate(_DROP_SEPARATORS).upper()
    if key.isascii() and key.isalnum():
        return key
    return re.sub(r"[^0-9A-Z]", "", key)


def key_digits(key: str) -> str:
    """Return the digits of a normalised number (`normalise_number` leaves only A-Z and 0-9)."""
    return key.translate(_DROP_LETTERS)


def number_digits(value: str) -> str:
    return key_digits(normalise_number(value))


def normalise_name(value: str) -> str:
    """Return a name in lower case without legal forms, titles and punctuation."""
    lowered = LEGAL_FORMS.sub(" ", value.lower())
    return " ".join(_NAME_PUNCTUATION.sub(" ", lowered).split())


NORMALISERS: dict[str, Callable[[str], str]] = {
    "number": normalise_number,
    "digits": number_digits,
    "name": normalise_name,
}


class NormalisedKeyField(models.CharField):
    """A column derived from another text field of the row by one of NORMALISERS.

    The value is computed in `pre_save`, which Django calls on save() and for
    every row of bulk_create(). bulk_update() and QuerySet.update() skip
    pre_save, so code that changes the source field that way must call
    `fill_derived_keys` first. The bulk insert helpers compute the value
    through `value_for_row`.
    """

    def __init__(self, *args: Any, source: str = "number", normaliser: str = "number", **kwargs: Any) -> None:
        if normaliser not in NORMALISERS:
            raise ValueError(f"unknown normaliser {normaliser!r}; expected one of {', '.join(NORMALISERS)}")
        self.source = source
        self.normaliser = normaliser
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["normaliser"] = self.normaliser
        return name, path, args, kwargs

    def value_for(self, text: str) -> str:
        return NORMALISERS[self.normaliser](text or "")[: self.max_length]

    def value_for_row(self, row: dict[str, Any]) -> str:
        return self.value_for(str(row.get(self.source) or ""))

    def pre_save(self, model_instance: models.Model, add: bool) -> str:
        value = self.value_for(getattr(model_instance, self.source, "") or "")
        setattr(model_instance, self.attname, value)
        return value


def fill_derived_keys(instances: Sequence[models.Model], fields: Iterable[str]) -> list[str]:
    """Recompute the keys derived from `fields` on `instances`; return the names of those keys.

    Call it before bulk_update(instances, fields) and add the returned names
    to the fields, because bulk_update does not call pre_save.
    """
    if not instances:
        return []
    changed = set(fields)
    derived = [
        field for field in instances[0]._meta.concrete_fields
        if isinstance(field, NormalisedKeyField) and field.source in changed
    ]
    for instance in instances:
        for field in derived:
            field.pre_save(instance, add=False)
    return [field.name for field in derived]
