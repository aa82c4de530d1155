"""Every Dutch source string has an English translation, compiled into its .mo file."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

PACKAGE = Path(__file__).resolve().parent.parent / "betaalreis"
# The apps' English catalogs, and the project's Dutch texts for Django's own admin.
PO_FILES = sorted(
    [*PACKAGE.glob("*/locale/*/LC_MESSAGES/django.po"), *PACKAGE.glob("locale/*/LC_MESSAGES/django.po")]
)


def as_tuple(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Return a message id or string as a tuple, so plural forms (a list or tuple) compare like singular ones."""
    return (text,) if isinstance(text, str) else tuple(text)


def test_translation_files_found():
    assert len(PO_FILES) >= 3


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_every_string_translated(po_path: Path):
    with po_path.open("rb") as handle:
        catalog = read_po(handle)

    untranslated = [message.id for message in catalog if message.id and not all(as_tuple(message.string))]
    fuzzy = [message.id for message in catalog if message.id and message.fuzzy]

    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_compiled_file_matches_source(po_path: Path):
    mo_path = po_path.with_suffix(".mo")
    with po_path.open("rb") as handle:
        source = {as_tuple(message.id): as_tuple(message.string) for message in read_po(handle) if message.id}
    with mo_path.open("rb") as handle:
        compiled = {as_tuple(message.id): as_tuple(message.string) for message in read_mo(handle) if message.id}

    assert compiled == source


# Modules whose Dutch report and error texts `--lang en` prints in English.
# betaalreis/imports/totals_rows.py has no texts of its own: tabular.py words its notes and errors.
REPORT_MODULES = [
    "imports/management/commands/creditor.py",
    "imports/management/commands/import.py",
    "imports/contacts.py",
    "imports/credit_reallocation.py",
    "imports/creditors.py",
    "imports/headers.py",
    "imports/leading_zeros.py",
    "imports/registry.py",
    "imports/report_labels.py",
    "imports/tables.py",
    "imports/tabular.py",
    "imports/toml_files.py",
    "imports/ubl.py",
    "imports/ubl_supplier.py",
    "imports/values.py",
    "imports/writer.py",
    "banking/report.py",
    "banking/importers.py",
    "dunning/management/commands/run.py",
    "legal/management/commands/claim.py",
    "dunning/planner.py",
    "dunning/limitation_holds.py",
    "demo/management/commands/demo.py",
    "demo/simulation.py",
]


# The translation functions that Betaalreis modules call, under the names they import them as.
# A context ("c") is part of the message's key, so "rente" and pgettext("toerekening", "rente")
# need an entry each.
KEYWORDS = {
    "_": None, "_lazy": None, "gettext": None, "gettext_lazy": None, "gettext_noop": None, "N_": None,
    "ngettext": (1, 2), "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2), "pgettext_lazy": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3),
}


def catalog_keys() -> set[tuple[str | None, str]]:
    """Return (context, message id) of every entry of the catalogs."""
    keys: set[tuple[str | None, str]] = set()
    for po_path in PO_FILES:
        with po_path.open("rb") as handle:
            keys |= {(message.context, as_tuple(message.id)[0]) for message in read_po(handle) if message.id}
    return keys


def extracted_keys(path: Path) -> list[tuple[str | None, str]]:
    """Return (context, message id) of every string that `path` marks for translation."""
    from babel.messages.extract import extract_from_file

    return [
        (context, as_tuple(message)[0])
        for _, message, _, context in extract_from_file("python", str(path), keywords=KEYWORDS)
    ]


@pytest.mark.parametrize("module", REPORT_MODULES)
def test_report_strings_have_english(module: str):
    found = extracted_keys(PACKAGE / module)

    assert found
    assert [key for key in found if key not in catalog_keys()] == []


def test_every_module_string_has_english():
    keys = catalog_keys()
    modules = [
        path for path in sorted(PACKAGE.rglob("*.py"))
        if "tests" not in path.parts and "migrations" not in path.parts
    ]

    missing = [
        f"{path.relative_to(PACKAGE)}: {key}" for path in modules for key in extracted_keys(path) if key not in keys
    ]

    assert missing == []


def test_dutch_texts_avoid_uitbak():
    # Credit managers do not say "uitbak". The admin names the outbox "Berichten"
    # and the Dutch docs call its folder the "berichtenmap".
    texts = {"README.nl.md": (PACKAGE.parent / "README.nl.md").read_text(encoding="utf-8")}
    for po_path in PO_FILES:
        with po_path.open("rb") as handle:
            texts[str(po_path.relative_to(PACKAGE))] = "\n".join(
                as_tuple(message.id)[0] for message in read_po(handle) if message.id
            )

    assert [name for name, text in texts.items() if "uitbak" in text.lower()] == []
