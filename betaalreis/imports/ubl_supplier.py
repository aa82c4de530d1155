"""Checking that the supplier of a UBL invoice is the creditor it is imported for.

The supplier (AccountingSupplierParty) names itself by KvK number and VAT id
(also as electronic address, EndpointID), the IBAN it is paid on and its name. A KvK
number or VAT id identifies one company, so when either differs from the
creditor's and nothing else matches, the invoice is someone else's. An IBAN
or a name alone is weaker evidence: a creditor can have several accounts and
trade names. Only when both of those differ as well does the file get
rejected; with too little to compare it is imported with a note. A file
whose supplier matches the creditor but whose KvK number, VAT id or IBAN is
another creditor's is rejected as ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from django.db.models import Q
from django.utils.translation import gettext

from betaalreis.imports.registry import RowError
from betaalreis.imports.ubl_names import KVK_SCHEME, NL_VAT_SCHEME, NS
from betaalreis.ledger.models import Creditor

# Legal forms left out when names are compared, so "Acme B.V." equals "ACME BV".
LEGAL_FORM_WORDS = frozenset({"bv", "b", "v", "nv", "n", "vof", "cv", "ltd", "limited", "inc", "gmbh", "llc", "plc", "sa"})
SUPPLIER_FIELD = "cac:AccountingSupplierParty"


@dataclass(slots=True)
class Supplier:
    """The identifiers a UBL document gives for its supplier, normalised for comparison."""

    names: list[str] = field(default_factory=list)
    kvk_numbers: set[str] = field(default_factory=set)
    vat_ids: set[str] = field(default_factory=set)
    ibans: set[str] = field(default_factory=set)

    def describe(self) -> str:
        parts = [repr(self.names[0]) if self.names else gettext("geen naam")]
        parts += [f"KvK {number}" for number in sorted(self.kvk_numbers)]
        parts += [_vat(vat_id) for vat_id in sorted(self.vat_ids)]
        parts += [f"IBAN {iban}" for iban in sorted(self.ibans)]
        return ", ".join(parts)


def read_supplier(root: Element) -> Supplier:
    """Read the supplier party and the payee accounts of a UBL Invoice or CreditNote."""
    supplier = Supplier()
    for iban in root.findall("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", NS):
        if iban.text and iban.text.strip():
            supplier.ibans.add(_compact(iban.text))
    party = root.find(f"{SUPPLIER_FIELD}/cac:Party", NS)
    if party is None:
        return supplier

    for path in ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name"):
        for element in party.findall(path, NS):
            if element.text and element.text.strip() and element.text.strip() not in supplier.names:
                supplier.names.append(element.text.strip())
    for path in ("cac:PartyLegalEntity/cbc:CompanyID", "cac:PartyIdentification/cbc:ID", "cbc:EndpointID"):
        for element in party.findall(path, NS):
            value = _compact(element.text or "")
            scheme = element.get("schemeID", "")
            if value and scheme == KVK_SCHEME:
                supplier.kvk_numbers.add(value)
            elif value and scheme == NL_VAT_SCHEME:
                supplier.vat_ids.add(value)
    for scheme in party.findall("cac:PartyTaxScheme", NS):
        tax = scheme.find("cac:TaxScheme/cbc:ID", NS)
        company_id = scheme.find("cbc:CompanyID", NS)
        if tax is not None and (tax.text or "").strip() == "VAT" and company_id is not None and company_id.text:
            supplier.vat_ids.add(_compact(company_id.text))
    return supplier


@dataclass(frozen=True, slots=True)
class SupplierCheck:
    """The outcome of comparing a supplier with a creditor: an error that rejects the file, or a note."""

    error: RowError | None = None
    note: str = ""


def check_supplier(supplier: Supplier, creditor: Creditor) -> SupplierCheck:
    """Compare the supplier of a UBL document with `creditor`.

    Return an error when the document is clearly another company's, and a
    note when details differ but one matches, or when none can be compared.
    """
    if creditor.is_collection_agency:
        # A collection agency imports the invoices of its clients, so the supplier is another company.
        return SupplierCheck(note=gettext(
            "Leverancier %(supplier)s niet gecontroleerd: %(creditor)s is een incassobureau."
        ) % {"supplier": supplier.describe(), "creditor": creditor.slug})

    kvk = _compared({_compact(creditor.kvk_number)} - {""}, supplier.kvk_numbers)
    vat = _compared({_compact(creditor.vat_id)} - {""}, supplier.vat_ids)
    iban = _compared({_compact(creditor.iban)} - {""}, supplier.ibans)
    creditor_names = {_name_key(name) for name in (creditor.legal_name, creditor.trade_name) if name}
    name = _compared(creditor_names - {""}, {_name_key(name) for name in supplier.names} - {""})

    if True in (kvk, vat, iban, name):
        others = _other_creditors_named(supplier, creditor)
        if others:
            return SupplierCheck(error=RowError(
                None, SUPPLIER_FIELD, supplier.describe(),
                gettext(
                    "de leverancier van dit document past bij crediteur %(creditor)r (%(details)s), maar ook "
                    "bij %(others)s. Betaalreis kiest niet tussen crediteuren: controleer het document en de "
                    "KvK-nummers, btw-nummers en IBAN's van deze crediteuren (`betaalreis creditor list`), "
                    "en importeer het met --creditor voor de crediteur die het stuurde"
                ) % {
                    "creditor": creditor.slug,
                    "details": _describe_creditor(creditor),
                    "others": "; ".join(f"{other.slug!r} ({_describe_creditor(other)})" for other in others),
                },
            ))
        if kvk is False and vat is False:
            note = gettext(
                "Leverancier %(supplier)s heeft een ander KvK-nummer en btw-nummer dan crediteur "
                "%(creditor)s; toch geïmporteerd, omdat andere gegevens overeenkomen. Controleer de "
                "gegevens van de crediteur."
            )
        elif kvk is False:
            note = gettext(
                "Leverancier %(supplier)s heeft een ander KvK-nummer dan crediteur %(creditor)s; toch "
                "geïmporteerd, omdat andere gegevens overeenkomen. Controleer de gegevens van de crediteur."
            )
        elif vat is False:
            note = gettext(
                "Leverancier %(supplier)s heeft een ander btw-nummer dan crediteur %(creditor)s; toch "
                "geïmporteerd, omdat andere gegevens overeenkomen. Controleer de gegevens van de crediteur."
            )
        else:
            return SupplierCheck()
        return SupplierCheck(note=note % {"supplier": supplier.describe(), "creditor": creditor.slug})

    if kvk is False or vat is False or (iban is False and name is False):
        return SupplierCheck(error=RowError(
            None, SUPPLIER_FIELD, supplier.describe(),
            gettext(
                "de leverancier van dit document is niet crediteur %(creditor)r (%(details)s). Importeer "
                "het met --creditor voor de crediteur die het stuurde. Is het wel een factuur van deze "
                "crediteur, verbeter dan het KvK-nummer, btw-nummer of IBAN van de crediteur met "
                "`betaalreis creditor load`"
            ) % {"creditor": creditor.slug, "details": _describe_creditor(creditor)},
        ))
    return SupplierCheck(note=gettext(
        "Leverancier %(supplier)s kon niet worden vergeleken met crediteur %(creditor)s: het document "
        "en de crediteur hebben geen KvK-nummer, btw-nummer of IBAN gemeen. Controleer of het de "
        "juiste crediteur is."
    ) % {"supplier": supplier.describe(), "creditor": creditor.slug})


def _other_creditors_named(supplier: Supplier, creditor: Creditor) -> list[Creditor]:
    """Return the other creditors that a KvK number, VAT id or IBAN of the supplier names.

    An identifier that `creditor` has too is left out, because it cannot tell
    the two apart.
    """
    kvk_numbers = supplier.kvk_numbers - {_compact(creditor.kvk_number)}
    vat_ids = supplier.vat_ids - {_compact(creditor.vat_id)}
    ibans = supplier.ibans - {_compact(creditor.iban)}
    if not (kvk_numbers or vat_ids or ibans):
        return []
    named = Q(kvk_number__in=kvk_numbers) | Q(vat_id__in=vat_ids) | Q(iban__in=ibans)
    return list(Creditor.objects.exclude(pk=creditor.pk).filter(named).order_by("slug"))


def _compared(ours: set[str], theirs: set[str]) -> bool | None:
    """Return True when the sets share a value, False when both have values and share none, None otherwise."""
    if not ours or not theirs:
        return None
    return bool(ours & theirs)


def _compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value).upper()


def _name_key(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", name.casefold())
    return " ".join(word for word in words if word not in LEGAL_FORM_WORDS)


def _vat(vat_id: str) -> str:
    return gettext("btw %(number)s") % {"number": vat_id}


def _describe_creditor(creditor: Creditor) -> str:
    parts = [repr(creditor.legal_name)]
    if creditor.kvk_number:
        parts.append(f"KvK {creditor.kvk_number}")
    if creditor.vat_id:
        parts.append(_vat(creditor.vat_id))
    parts.append(f"IBAN {creditor.iban}")
    return ", ".join(parts)
