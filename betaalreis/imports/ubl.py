"""Importing UBL 2.1 invoices and credit notes (Peppol BIS Billing 3.0, SI-UBL 2.0).

The XML is parsed with defusedxml, which rejects a document as soon as it
reaches a DOCTYPE, so no external entity, entity expansion ("billion
laughs") or external DTD is ever loaded. The buyer (AccountingCustomerParty) becomes
the debtor, and the supplier (AccountingSupplierParty) must be the creditor. An Invoice with a negative payable amount is stored as a credit
note, like a CreditNote document, whose amounts the ledger keeps negative.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from django.utils.translation import gettext

from betaalreis.imports import contacts
from betaalreis.imports.headers import field_label
from betaalreis.imports.records import DebtorData, ImportBatch, InvoiceData
from betaalreis.imports.registry import (
    Importer,
    ImportRejected,
    ImportReport,
    RowError,
    creditor_required,
    file_field,
)
from betaalreis.imports.ubl_names import KVK_SCHEME, NS
from betaalreis.imports.ubl_supplier import check_supplier, read_supplier
from betaalreis.imports.values import ValueProblem
from betaalreis.imports.writer import do_import
from betaalreis.ledger.models import ZERO, Creditor, DebtorKind, Language
from betaalreis.ledger.money import CENT, parse_plain_decimal

logger = logging.getLogger(__name__)

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

# UNCL 1001 document type codes that mean a credit note.
CREDIT_NOTE_TYPE_CODES = {"381", "396", "532"}

BUYER_ID = "cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID"
TOTAL = "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"
PAYABLE = "cac:LegalMonetaryTotal/cbc:PayableAmount"
# The XML paths that problem texts of the writer name for a UBL document's fields.
FIELD_PATHS = {
    "invoice_number": "cbc:ID",
    "customer_number": BUYER_ID,
    "name": "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName",
    "total": TOTAL,
    "currency": "cbc:DocumentCurrencyCode",
}


def _root_namespace(head: bytes) -> str | None:
    for namespace in (INVOICE_NS, CREDIT_NOTE_NS):
        if namespace.encode() in head:
            return namespace
    return None


class UblImporter(Importer):
    """UBL 2.1 Invoice and CreditNote documents, one per file."""

    format = "UBL 2.1"

    @classmethod
    def detect(cls, path: Path, head: bytes) -> bool:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        return text.startswith(b"<") and _root_namespace(head) is not None

    @classmethod
    def describe(cls, path: Path, head: bytes) -> str | None:
        text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not text.startswith(b"<"):
            return None
        if CII_NS.encode() in head:
            return gettext(
                "Het is een UN/CEFACT CII-factuur (zoals in Factur-X en ZUGFeRD), die Betaalreis "
                "niet importeert. Vraag de afzender om UBL 2.1 (Peppol BIS 3.0 of SI-UBL 2.0)."
            )
        return gettext(
            "Het is een XML-bestand, maar geen UBL 2.1-factuur of -creditnota en geen "
            "camt.053/054-afschrift. Controleer of het juiste bestand is gekozen."
        )

    def run(self, path: Path, creditor: Creditor | None, **options: object) -> ImportReport:
        if creditor is None:
            raise creditor_required(path)
        batch = read_ubl(path, creditor)
        return do_import(creditor, batch, path=path, dry_run=bool(options.get("dry_run")))


def _parse_xml(path: Path) -> Element:
    """Parse without DTDs, entities or external references; raise ImportRejected otherwise."""
    try:
        tree = SafeElementTree.parse(
            str(path), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        logger.warning(
            "UBL file with a DTD or entities rejected", extra={"file": path.name, "error": type(exc).__name__}
        )
        raise ImportRejected(path, [RowError(
            None, file_field(), path.name,
            gettext(
                "de XML declareert een DTD of entiteiten, die UBL-facturen nooit nodig hebben en "
                "waarmee lokale bestanden gelezen of het geheugen uitgeput kunnen worden; het bestand "
                "is niet verwerkt. Vraag de afzender om een gewoon UBL-bestand"
            ),
        )]) from exc
    except ParseError as exc:
        line, column = exc.position
        raise ImportRejected(path, [RowError(
            None, file_field(), path.name,
            gettext(
                "geen geldige XML (fout op regel %(line)d, kolom %(column)d); vraag de afzender om "
                "een geldig bestand"
            ) % {"line": line, "column": column + 1},
        )]) from exc
    return tree.getroot()


class _Document:
    """Reads fields of one UBL document and collects problems and notes."""

    def __init__(self, root: Element, errors: list[RowError], notes: list[str]) -> None:
        self.root = root
        self.errors = errors
        self.notes = notes

    def text(self, path: str, element: Element | None = None) -> str:
        found = (self.root if element is None else element).find(path, NS)
        return (found.text or "").strip() if found is not None else ""

    def missing(self, path: str) -> None:
        self.errors.append(RowError(
            None, path, "", gettext("ontbreekt in het document; vraag de afzender om het toe te voegen"),
        ))

    def required(self, path: str) -> str:
        value = self.text(path)
        if not value:
            self.missing(path)
        return value

    def date(self, path: str, *, required: bool = True) -> dt.date | None:
        raw = self.required(path) if required else self.text(path)
        if not raw:
            return None
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            self.errors.append(RowError(
                None, path, raw,
                gettext("geen datum in de vorm jjjj-mm-dd; vraag de afzender om een geldige datum"),
            ))
            return None

    def amount(self, path: str, currency: str) -> Decimal | None:
        element = self.root.find(path, NS)
        raw = (element.text or "").strip() if element is not None else ""
        if not raw:
            self.missing(path)
            return None
        try:
            amount = parse_plain_decimal(raw)
        except ValueError:
            amount = Decimal("NaN")
        if not amount.is_finite():
            self.errors.append(RowError(
                None, path, raw,
                gettext("geen bedrag; UBL schrijft bedragen als 1234.56, vraag de afzender om een geldig bedrag"),
            ))
            return None
        if amount != amount.quantize(CENT):
            self.errors.append(RowError(
                None, path, raw,
                gettext("heeft meer dan twee decimalen; vraag de afzender om bedragen in hele centen"),
            ))
            return None
        amount_currency = element.get("currencyID", currency) if element is not None else currency
        if amount_currency != currency:
            self.errors.append(RowError(
                None, f"{path}/@currencyID", amount_currency,
                gettext(
                    "wijkt af van de valuta %(currency)s van het document; vraag de afzender om één "
                    "valuta in het hele document"
                ) % {"currency": currency},
            ))
            return None
        return amount.quantize(CENT)

    def limited_text(self, field_name: str, position: str, raw: str) -> str:
        """Return `raw`, or record an error at `position` when the ledger cannot store it whole."""
        try:
            return contacts.check_text_length(field_name, raw)
        except ValueProblem as exc:
            self.errors.append(RowError(None, position, raw, str(exc)))
            return ""

    def optional_contact(self, field_name: str, raw: str, parser: Callable[[str], str]) -> str:
        """Check optional buyer contact data; a bad value is left out with a note."""
        if not raw:
            return ""
        try:
            return parser(raw)
        except ValueProblem as exc:
            self.notes.append(gettext("Koper: %(field)s %(value)r niet opgeslagen: %(problem)s.") % {
                "field": field_label(field_name), "value": raw, "problem": exc,
            })
            return ""


def read_ubl(path: Path, creditor: Creditor | None = None) -> ImportBatch:
    """Read one UBL Invoice or CreditNote into an `ImportBatch`.

    With `creditor`, raise ImportRejected when the document's supplier is
    clearly another company (see `ubl_supplier`).
    """
    root = _parse_xml(path)
    namespace, _, local_name = root.tag[1:].partition("}")
    if (namespace, local_name) not in ((INVOICE_NS, "Invoice"), (CREDIT_NOTE_NS, "CreditNote")):
        raise ImportRejected(path, [RowError(
            None, gettext("hoofdelement"), root.tag,
            gettext(
                "geen UBL 2.1-factuur (Invoice) of -creditnota (CreditNote); Betaalreis importeert "
                "alleen die UBL-documenten, dus vraag de afzender om een van beide"
            ),
        )])

    batch = ImportBatch(format=f"{UblImporter.format} {local_name}", rows=1, field_names=dict(FIELD_PATHS))
    if creditor is not None:
        supplier_check = check_supplier(read_supplier(root), creditor)
        if supplier_check.error is not None:
            raise ImportRejected(path, [supplier_check.error])
        if supplier_check.note:
            batch.notes.append(supplier_check.note)
    document = _Document(root, batch.errors, batch.notes)
    debtor = _read_buyer(document)
    invoice = _read_invoice(document, is_credit_note_document=local_name == "CreditNote")
    if debtor is not None and invoice is not None:
        invoice.customer_number = debtor.customer_number
        batch.debtors[debtor.customer_number] = debtor
        batch.invoices.append(invoice)
    return batch


def _read_invoice(document: _Document, *, is_credit_note_document: bool) -> InvoiceData | None:
    errors_before = len(document.errors)
    number = document.required("cbc:ID")
    if len(number) > contacts.MAX_NUMBER_LENGTH:
        document.errors.append(RowError(
            None, "cbc:ID", number,
            gettext(
                "is langer dan %(maximum)d tekens, het maximum van Betaalreis; vraag de afzender om "
                "een korter factuurnummer"
            ) % {"maximum": contacts.MAX_NUMBER_LENGTH},
        ))
    issue_date = document.date("cbc:IssueDate")
    currency = document.required("cbc:DocumentCurrencyCode")
    if currency:
        try:
            currency = contacts.parse_currency(currency)
        except ValueProblem as exc:
            document.errors.append(RowError(None, "cbc:DocumentCurrencyCode", currency, str(exc)))
    total = document.amount(TOTAL, currency)
    payable = document.amount(PAYABLE, currency)
    due_date = (
        document.date("cbc:DueDate", required=False)
        or document.date("cac:PaymentMeans/cbc:PaymentDueDate", required=False)
        or document.date("cac:PaymentTerms/cbc:PaymentDueDate", required=False)
    )
    payment_reference = _payment_reference(document)
    if len(document.errors) > errors_before or total is None or payable is None or issue_date is None:
        return None

    type_code = document.text("cbc:InvoiceTypeCode") or document.text("cbc:CreditNoteTypeCode")
    if is_credit_note_document or type_code in CREDIT_NOTE_TYPE_CODES:
        if payable < ZERO:
            document.errors.append(RowError(
                None, PAYABLE, str(payable),
                gettext(
                    "een creditnota met een negatief te betalen bedrag is een vordering; vraag de "
                    "afzender om een factuur (Invoice)"
                ),
            ))
            return None
        total, payable = -total, -payable
    is_credit_note = total < ZERO or payable < ZERO
    if total < ZERO < payable or payable < ZERO < total:
        document.errors.append(RowError(
            None, PAYABLE, str(payable),
            gettext(
                "heeft een ander teken dan TaxInclusiveAmount %(total)s, alsof er meer is vooruitbetaald "
                "dan het totaal; vraag de afzender om het document te verbeteren"
            ) % {"total": total},
        ))
        return None

    if due_date is None:
        due_date = issue_date
        if not is_credit_note:
            document.notes.append(
                gettext("%(number)s: het document heeft geen vervaldatum; de factuurdatum %(date)s is gebruikt.")
                % {"number": number, "date": issue_date}
            )

    return InvoiceData(
        number=number,
        row=None,
        customer_number="",
        issue_date=issue_date,
        due_date=due_date,
        total=total,
        open_amount=payable,
        currency=currency,
        is_credit_note=is_credit_note,
        payment_reference=payment_reference,
        corrects_number=document.text("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
    )


def _payment_reference(document: _Document) -> str:
    ids = [
        (element.text or "").strip()
        for element in document.root.findall("cac:PaymentMeans/cbc:PaymentID", NS)
        if (element.text or "").strip()
    ]
    if not ids:
        return ""
    if len(set(ids)) > 1:
        document.notes.append(
            gettext("Meerdere betalingskenmerken %(ids)s; het eerste, %(first)r, is opgeslagen.")
            % {"ids": ids, "first": ids[0]}
        )
    try:
        return contacts.parse_payment_reference(ids[0])
    except ValueProblem as exc:
        document.errors.append(RowError(None, "cac:PaymentMeans/cbc:PaymentID", ids[0], str(exc)))
        return ""


def _read_buyer(document: _Document) -> DebtorData | None:
    party = document.root.find("cac:AccountingCustomerParty/cac:Party", NS)
    if party is None:
        document.errors.append(RowError(
            None, "cac:AccountingCustomerParty", "",
            gettext("ontbreekt: het document noemt geen koper; vraag de afzender om de koper toe te voegen"),
        ))
        return None

    def text(path: str) -> str:
        return document.text(path, party)

    customer_number = (
        text("cac:PartyIdentification/cbc:ID")
        or text("cbc:EndpointID")
        or text("cac:PartyLegalEntity/cbc:CompanyID")
        or text("cac:PartyTaxScheme/cbc:CompanyID")
    )
    name = text("cac:PartyLegalEntity/cbc:RegistrationName") or text("cac:PartyName/cbc:Name")
    if not customer_number:
        document.errors.append(RowError(
            None, BUYER_ID, "",
            gettext(
                "de koper heeft geen identificatie (PartyIdentification, EndpointID of CompanyID), dus "
                "hij kan niet aan een debiteur worden gekoppeld; vraag de afzender om het "
                "debiteurnummer toe te voegen"
            ),
        ))
        return None

    country = document.optional_contact(
        "country", text("cac:PostalAddress/cac:Country/cbc:IdentificationCode"), contacts.parse_country
    )
    street = " ".join(
        part for part in (text("cac:PostalAddress/cbc:StreetName"), text("cac:PostalAddress/cbc:BuildingNumber")) if part
    )
    additional = text("cac:PostalAddress/cbc:AdditionalStreetName")
    if len(customer_number) > contacts.MAX_NUMBER_LENGTH:
        document.errors.append(RowError(
            None, "cac:AccountingCustomerParty/cac:Party", customer_number,
            gettext(
                "de identificatie van de koper is langer dan %(maximum)d tekens, dus die kan niet als "
                "debiteurnummer worden opgeslagen; vraag de afzender om een korter nummer"
            ) % {"maximum": contacts.MAX_NUMBER_LENGTH},
        ))
        return None
    debtor = DebtorData(
        customer_number=customer_number, row=None,
        name=document.limited_text("name", "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity", name),
    )
    debtor.street = document.limited_text(
        "street", "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress",
        f"{street}, {additional}" if street and additional else street or additional,
    )
    debtor.postal_code = document.optional_contact(
        "postal_code", text("cac:PostalAddress/cbc:PostalZone"),
        lambda raw: contacts.parse_postal_code(raw, country),
    )
    debtor.city = document.limited_text(
        "city", "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CityName",
        text("cac:PostalAddress/cbc:CityName"),
    )
    debtor.country = country
    # Without a country, a new debtor gets the creditor's default language.
    if country:
        debtor.language = Language.DUTCH if country == "NL" else Language.ENGLISH
    debtor.contact_person = document.limited_text(
        "contact_person", "cac:AccountingCustomerParty/cac:Party/cac:Contact/cbc:Name", text("cac:Contact/cbc:Name")
    )

    emails = document.optional_contact(
        "email", text("cac:Contact/cbc:ElectronicMail"), lambda raw: ";".join(contacts.parse_emails(raw))
    )
    debtor.email = emails.split(";")[0] if emails else ""
    phone = document.optional_contact(
        "phone", text("cac:Contact/cbc:Telephone"),
        lambda raw: contacts.parse_phone(raw, country, mobile=False),
    )
    debtor.phone = phone
    debtor.mobile = phone if phone and contacts.is_mobile(phone) else ""

    debtor.kvk_number = document.optional_contact("kvk_number", _kvk_number(party), contacts.parse_kvk_number)
    debtor.vat_id = document.optional_contact("vat_id", _vat_id(party), contacts.parse_vat_id)
    debtor.kind = DebtorKind.BUSINESS if _is_business(party) else DebtorKind.CONSUMER
    return debtor


def _kvk_number(party: Element) -> str:
    for path in ("cac:PartyLegalEntity/cbc:CompanyID", "cac:PartyIdentification/cbc:ID", "cbc:EndpointID"):
        for element in party.findall(path, NS):
            if element.get("schemeID") == KVK_SCHEME and element.text:
                return element.text.strip()
    return ""


def _vat_id(party: Element) -> str:
    for scheme in party.findall("cac:PartyTaxScheme", NS):
        tax = scheme.find("cac:TaxScheme/cbc:ID", NS)
        company_id = scheme.find("cbc:CompanyID", NS)
        if tax is not None and (tax.text or "").strip() == "VAT" and company_id is not None:
            return (company_id.text or "").strip()
    return ""


def _is_business(party: Element) -> bool:
    """Return whether the buyer is a business: anything but a party with only a person's name.

    A company id (KvK, VAT or another registration), an electronic address
    or an identifier with a scheme marks a business, because e-invoices go
    to consumers only rarely. A party with none of these is taken as a
    consumer, since a consumer read as a business would lose the 14-day letter.
    """
    marks = (
        "cac:PartyLegalEntity/cbc:CompanyID",
        "cac:PartyTaxScheme/cbc:CompanyID",
        "cbc:EndpointID",
    )
    if any(party.find(path, NS) is not None for path in marks):
        return True
    return any(element.get("schemeID") for element in party.findall("cac:PartyIdentification/cbc:ID", NS))

