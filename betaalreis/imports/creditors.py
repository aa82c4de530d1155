"""Setting up creditors (tenants) from the command line or a TOML file.

`CreditorSpec` contains what a person typed or a file stated, and
`validate_spec` returns every problem at once. `do_add_creditor` and
`do_load_creditors` save validated specs. A file is loaded all or nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import transaction
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.errors import InvalidInput
from betaalreis.imports import contacts
from betaalreis.imports.toml_files import read_toml
from betaalreis.imports.values import ValueProblem
from betaalreis.ledger.logos import logo_format, store_logo_file, stored_logo_path
from betaalreis.ledger.models import Creditor, Language, other_creditor_with_iban, other_creditor_with_vat_id
from betaalreis.ledger.validators import bic_mismatch, normalize_phone

logger = logging.getLogger(__name__)

# Length of Creditor.handover_agency.
_MAX_AGENCY_NAME_LENGTH = 200

# Key of the values of `validate_spec` that contains the path of the logo file to copy in.
LOGO_SOURCE = "logo_source"

# Problem texts of a logo file, by the code of the ValidationError of `logo_format`.
_LOGO_PROBLEMS = {
    "logo_too_large": gettext_noop("groter dan 1 MB; verklein het logo"),
    "logo_dimensions": gettext_noop("meer dan 4000 pixels breed of hoog; verklein het logo"),
    "logo_type": gettext_noop("geen PNG- of JPEG-bestand; geef het pad van een PNG- of JPEG-logo"),
}

# Records one problem: field name, the value given, what is wrong.
_Problem = Callable[[str, object, str], None]


@dataclass
class CreditorSpec:
    """A creditor as given on the command line or in a creditors file."""

    slug: str
    legal_name: str
    iban: str
    bic: str = ""
    kvk: str = ""
    vat_id: str = ""
    trade_name: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "NL"
    email: str = ""
    phone: str = ""
    website: str = ""
    logo: str = ""
    language: str = Language.DUTCH
    brand_color: str = ""
    collection_agency: bool = False
    vat_deductible: bool = True
    handover_agency: str = ""


SPEC_KEYS = tuple(spec_field.name for spec_field in fields(CreditorSpec))
_REQUIRED_KEYS = ("slug", "legal_name", "iban")


def validate_spec(spec: CreditorSpec, *, base_dir: Path | None = None) -> tuple[dict[str, object], list[str]]:
    """Check a spec and return the model field values and the problems found.

    Each problem names the field, the value and what to write instead, in the
    active language. A relative logo path is read from `base_dir` (the creditors file's folder).
    The values contain no `logo` field but the checked logo file's path
    under LOGO_SOURCE ("" for none), which `_save_logo` copies into the logos folder.
    """
    problems: list[str] = []
    values: dict[str, object] = {}

    def problem(name: str, value: object, text: str) -> None:
        problems.append(f"{name} {value!r}: {text}")

    for name in _REQUIRED_KEYS:
        if not str(getattr(spec, name)).strip():
            problem(name, "", gettext("ontbreekt; dit veld is verplicht"))
    slug_problem = _slug_problem(spec.slug)
    if slug_problem:
        problem("slug", spec.slug, slug_problem)
    else:
        values["slug"] = spec.slug
    values["legal_name"] = spec.legal_name.strip()
    values["trade_name"] = spec.trade_name.strip()

    if spec.iban:
        try:
            iban = IBAN(spec.iban)
            values["iban"] = iban.compact
        except SchwiftyException as exc:
            problem("iban", spec.iban, contacts.iban_problem(exc))
    if spec.bic:
        try:
            values["bic"] = str(BIC(spec.bic))
        except SchwiftyException:
            problem("bic", spec.bic, gettext(
                "geen geldige BIC; een BIC heeft 8 of 11 letters en cijfers, zoals ABNANL2A"
            ))
    else:
        values["bic"] = ""
    mismatch = bic_mismatch(str(values["iban"]), str(values["bic"])) if values.get("iban") and values.get("bic") else None
    if mismatch:
        problem("bic", spec.bic, mismatch)

    _check_with(problem, values, "kvk", "kvk_number", spec.kvk, contacts.parse_kvk_number)
    _check_with(problem, values, "vat_id", "vat_id", spec.vat_id, contacts.parse_vat_id)
    _check_with(problem, values, "country", "country", spec.country or "NL", contacts.parse_country)
    country = str(values.get("country", "NL"))
    _check_with(
        problem, values, "postal_code", "postal_code", spec.postal_code,
        lambda raw: contacts.parse_postal_code(raw, country),
    )
    values["street"] = spec.street.strip()
    values["city"] = spec.city.strip()

    if spec.email:
        try:
            validate_email(spec.email)
            values["email"] = spec.email.strip()
        except ValidationError:
            problem("email", spec.email, gettext("geen geldig e-mailadres; verbeter het adres"))
    else:
        values["email"] = ""
    if spec.phone:
        try:
            values["phone"] = normalize_phone(spec.phone, country)
        except ValueError:
            problem("phone", spec.phone, gettext("geen geldig telefoonnummer; schrijf het als 020 1234567"))
    else:
        values["phone"] = ""
    if spec.website:
        try:
            URLValidator(schemes=["http", "https"])(spec.website)
            values["website"] = spec.website
        except ValidationError:
            problem("website", spec.website, gettext("geen webadres; schrijf het als https://example.nl"))
    else:
        values["website"] = ""

    values[LOGO_SOURCE] = _check_logo(problem, spec.logo, base_dir)
    if spec.language not in Language.values:
        problem("language", spec.language, gettext("gebruik een van %(languages)s") % {"languages": Language.values})
    values["default_language"] = spec.language
    if spec.brand_color:
        if re.fullmatch(r"#[0-9a-fA-F]{6}", spec.brand_color):
            values["brand_color"] = spec.brand_color.lower()
        else:
            problem("brand_color", spec.brand_color, gettext("schrijf een kleur als #rrggbb, zoals #1f4e79"))
    values["is_collection_agency"] = bool(spec.collection_agency)
    values["handover_agency"] = spec.handover_agency.strip()
    if len(str(values["handover_agency"])) > _MAX_AGENCY_NAME_LENGTH:
        problem("handover_agency", spec.handover_agency, gettext(
            "langer dan %(maximum)d tekens; kort de naam van het incassobureau in"
        ) % {"maximum": _MAX_AGENCY_NAME_LENGTH})
    values["vat_deductible"] = bool(spec.vat_deductible)
    return values, problems


def _slug_problem(slug: str) -> str:
    """Return why `slug` is not a valid creditor slug, with a valid one to use instead when one can be made, or ""."""
    try:
        validate_slug(slug)
        valid_characters = True
    except ValidationError:
        valid_characters = False
    # Slugs that differ only in case would name two tenants the same way, so a slug is lower case.
    if valid_characters and slug == slug.lower():
        return ""

    suggestion = slugify(slug)
    if not suggestion:
        return gettext("gebruik alleen kleine letters, cijfers, koppeltekens en liggende streepjes")
    return gettext(
        "gebruik alleen kleine letters, cijfers, koppeltekens en liggende streepjes, bijvoorbeeld %(slug)r"
    ) % {"slug": suggestion}


def _check_with(
    problem: _Problem,
    values: dict[str, object],
    name: str,
    model_field: str,
    raw: str,
    parser: Callable[[str], str],
) -> None:
    if not raw:
        values[model_field] = ""
        return
    try:
        values[model_field] = parser(raw)
    except ValueProblem as exc:
        problem(name, raw, str(exc))


def _check_logo(problem: _Problem, raw: str, base_dir: Path | None) -> str:
    """Return the resolved path of a readable PNG or JPEG logo of sane size, or "" after recording a problem."""
    if not raw:
        return ""
    path = Path(raw).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        with path.open("rb") as handle:
            logo_format(handle)
    except FileNotFoundError:
        problem("logo", raw, gettext("bestand niet gevonden; geef het pad van een PNG- of JPEG-bestand"))
        return ""
    except OSError:
        problem("logo", raw, gettext(
            "het bestand kan niet worden gelezen; controleer de leesrechten, of geef het pad van een "
            "ander PNG- of JPEG-bestand"
        ))
        return ""
    except ValidationError as exc:
        problem("logo", raw, gettext(_LOGO_PROBLEMS.get(exc.code or "", _LOGO_PROBLEMS["logo_type"])))
        return ""
    return str(path.resolve())


def _save_logo(creditor: Creditor, source: str) -> bool:
    """Copy the logo file `source` into the logos folder as the creditor's logo, or clear the logo for "".

    Returns whether the logo changed. A file with the same bytes as the
    stored logo is not copied again, so loading one file twice changes
    nothing. The caller saves the creditor.
    """
    if not source:
        if not creditor.logo:
            return False
        creditor.logo = ""
        return True

    current = stored_logo_path(creditor.logo.name)
    if current is not None and current.read_bytes() == Path(source).read_bytes():
        return False
    creditor.logo.name = store_logo_file(Path(source), creditor.slug)
    return True


def _check_iban_unused(iban: str, slug: str) -> None:
    """Raise InvalidInput when another creditor has this IBAN already."""
    other = other_creditor_with_iban(iban, slug=slug)
    if other is not None:
        raise InvalidInput(gettext(
            "IBAN %(iban)s hoort al bij crediteur %(other)r; rekeningafschriften vinden hun crediteur "
            "via het IBAN, dus elke crediteur heeft een eigen rekening nodig."
        ) % {"iban": iban, "other": other})


def _check_kvk_unused(kvk_number: str, slug: str) -> None:
    """Raise InvalidInput when another creditor has this KvK number already.

    A UBL invoice names its supplier by KvK number, so one number for two
    creditors would make the creditor of such an invoice ambiguous.
    """
    if not kvk_number:
        return
    other = Creditor.objects.filter(kvk_number=kvk_number).exclude(slug=slug).values_list("slug", flat=True).first()
    if other is not None:
        raise InvalidInput(gettext(
            "KvK-nummer %(kvk)s hoort al bij crediteur %(other)r. Elke crediteur is een eigen bedrijf met een "
            "eigen KvK-nummer: verbeter het nummer van %(slug)r, of laat het weg."
        ) % {"kvk": kvk_number, "other": other, "slug": slug})


def _check_vat_id_unused(vat_id: str, slug: str) -> None:
    """Raise InvalidInput when another creditor has this VAT id (compact form) already.

    A UBL invoice names its supplier by VAT id, so one id for two creditors
    would make the creditor of such an invoice ambiguous.
    """
    if not vat_id:
        return
    other = other_creditor_with_vat_id(vat_id, slug=slug)
    if other is not None:
        raise InvalidInput(gettext(
            "Btw-id %(vat_id)s hoort al bij crediteur %(other)r. Elke crediteur is een eigen bedrijf met een "
            "eigen btw-id: verbeter het btw-id van %(slug)r, of laat het weg."
        ) % {"vat_id": vat_id, "other": other, "slug": slug})


@transaction.atomic
def do_add_creditor(spec: CreditorSpec) -> Creditor:
    """Create a new creditor with the default dunning policies.

    Raises InvalidInput listing every problem, or when the slug, the IBAN,
    the KvK number or the VAT id is taken.
    """
    values, problems = validate_spec(spec)
    if problems:
        raise InvalidInput(gettext("Crediteur niet toegevoegd:") + "\n  " + "\n  ".join(problems))
    if Creditor.objects.filter(slug=spec.slug).exists():
        raise InvalidInput(gettext(
            "Crediteur %(slug)r bestaat al; wijzig die met `betaalreis creditor load FILE`."
        ) % {"slug": spec.slug})
    _check_iban_unused(str(values["iban"]), spec.slug)
    _check_kvk_unused(str(values["kvk_number"]), spec.slug)
    _check_vat_id_unused(str(values["vat_id"]), spec.slug)

    logo_source = str(values.pop(LOGO_SOURCE))
    creditor = Creditor.objects.create(**values)
    if _save_logo(creditor, logo_source):
        creditor.save(update_fields=["logo"])
    seed_default_policies(creditor)
    logger.info("creditor added", extra={"creditor_id": creditor.pk})
    return creditor


def read_creditors_file(path: Path) -> list[CreditorSpec]:
    """Read the `[[creditor]]` tables of a TOML file; raise InvalidInput naming file and key."""
    data = read_toml(path, gettext("crediteurenbestand"))

    tables = data.get("creditor")
    if not isinstance(tables, list) or not tables:
        raise InvalidInput(gettext(
            "%(path)s: geen [[creditor]]-tabellen; zie examples/creditors.toml voor de opbouw."
        ) % {"path": path})
    unknown_top = set(data) - {"creditor"}
    if unknown_top:
        raise InvalidInput(gettext(
            "%(path)s: onbekende sleutels %(keys)s; alleen [[creditor]]-tabellen horen hier."
        ) % {"path": path, "keys": sorted(unknown_top)})

    specs: list[CreditorSpec] = []
    for number, table in enumerate(tables, start=1):
        unknown = set(table) - set(SPEC_KEYS)
        if unknown:
            raise InvalidInput(gettext(
                "%(path)s: crediteur %(number)d: onbekende sleutels %(unknown)s; de sleutels zijn %(keys)s."
            ) % {"path": path, "number": number, "unknown": sorted(unknown), "keys": list(SPEC_KEYS)})
        missing = [key for key in _REQUIRED_KEYS if key not in table]
        if missing:
            raise InvalidInput(gettext(
                "%(path)s: crediteur %(number)d: ontbrekende sleutels %(missing)s; vul ze in."
            ) % {"path": path, "number": number, "missing": missing})
        wrong_types = [
            key for key, value in table.items()
            if isinstance(value, bool) != (key in ("collection_agency", "vat_deductible"))
            or not isinstance(value, (str, bool))
        ]
        if wrong_types:
            raise InvalidInput(gettext(
                "%(path)s: crediteur %(number)d: verkeerd type voor %(keys)s; collection_agency en "
                "vat_deductible zijn true of false, elke andere sleutel is tekst tussen aanhalingstekens."
            ) % {"path": path, "number": number, "keys": wrong_types})
        specs.append(CreditorSpec(**table))
    return specs


# Problem texts of a creditors file that gives two creditors one value, by model
# field. Bank statements find their creditor by IBAN, and UBL invoices by KvK number or VAT id.
_REPEATED_VALUE_MESSAGES = (
    ("iban", gettext_noop(
        "De IBAN's %(values)s komen meer dan eens voor; rekeningafschriften vinden hun crediteur "
        "via het IBAN, dus elke crediteur heeft een eigen rekening nodig."
    )),
    ("kvk_number", gettext_noop(
        "De KvK-nummers %(values)s komen meer dan eens voor; elke crediteur is een eigen bedrijf met een "
        "eigen KvK-nummer."
    )),
    ("vat_id", gettext_noop(
        "De btw-id's %(values)s komen meer dan eens voor; elke crediteur is een eigen bedrijf met een "
        "eigen btw-id."
    )),
)


def _repeated_values(checked: list[dict[str, object]], model_field: str) -> list[str]:
    """Return the non-empty values of `model_field` that more than one creditor of a file has."""
    values = [str(creditor[model_field]) for creditor in checked if creditor[model_field]]
    return sorted({value for value in values if values.count(value) > 1})


@dataclass(frozen=True)
class LoadResult:
    creditor: Creditor
    action: str  # "created", "updated" or "unchanged"


@transaction.atomic
def do_load_creditors(path: Path) -> list[LoadResult]:
    """Create or update (by slug) every creditor in a TOML file, all or nothing.

    The file describes each creditor whole: a key left out of a table gets
    its default (empty, or NL, nl and VAT deductible), also on update.
    """
    specs = read_creditors_file(path)
    problems: list[str] = []
    checked: list[dict[str, object]] = []
    for spec in specs:
        values, spec_problems = validate_spec(spec, base_dir=path.parent)
        problems += [
            gettext("crediteur %(slug)r: %(problem)s") % {"slug": spec.slug, "problem": text}
            for text in spec_problems
        ]
        checked.append(values)
    slugs = [spec.slug for spec in specs]
    duplicates = sorted({slug for slug in slugs if slugs.count(slug) > 1})
    if duplicates:
        problems.append(gettext(
            "de slugs %(slugs)s komen meer dan eens voor; elke crediteur heeft een eigen slug nodig"
        ) % {"slugs": duplicates})
    nothing_loaded = gettext("%(path)s: er is niets geladen.") % {"path": path}
    if problems:
        raise InvalidInput(nothing_loaded + "\n  " + "\n  ".join(problems))

    for model_field, message in _REPEATED_VALUE_MESSAGES:
        shared = _repeated_values(checked, model_field)
        if shared:
            raise InvalidInput(nothing_loaded + " " + gettext(message) % {"values": shared})
    for values in checked:
        _check_iban_unused(str(values["iban"]), str(values["slug"]))
        _check_kvk_unused(str(values["kvk_number"]), str(values["slug"]))
        _check_vat_id_unused(str(values["vat_id"]), str(values["slug"]))

    existing = {creditor.slug: creditor for creditor in Creditor.objects.select_for_update().filter(slug__in=slugs)}
    results: list[LoadResult] = []
    for values in checked:
        logo_source = str(values.pop(LOGO_SOURCE))
        creditor = existing.get(str(values["slug"]))
        if creditor is None:
            creditor = Creditor.objects.create(**values)
            if _save_logo(creditor, logo_source):
                creditor.save(update_fields=["logo"])
            seed_default_policies(creditor)
            results.append(LoadResult(creditor, "created"))
            continue
        changed = [name for name, value in values.items() if getattr(creditor, name) != value]
        for name in changed:
            setattr(creditor, name, values[name])
        if _save_logo(creditor, logo_source):
            changed.append("logo")
        if changed:
            creditor.save(update_fields=changed)
        results.append(LoadResult(creditor, "updated" if changed else "unchanged"))

    logger.info("creditors loaded", extra={"creditors": len(results)})
    return results
