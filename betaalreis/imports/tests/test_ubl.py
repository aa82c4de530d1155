"""UBL 2.1 invoices and credit notes, and XML that must never be parsed."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.errors import BetaalreisError
from betaalreis.imports.registry import HEAD_BYTES, ImportRejected, find_importer
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.imports.ubl import UblImporter
from betaalreis.ledger.models import Creditor, Debtor, Invoice, InvoiceKind, InvoiceStatus, TimelineEvent, TimelineKind

from .conftest import make_corpus_supplier

# These tests check the English wording of reports and errors.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]


@pytest.fixture
def creditor(creditor: Creditor) -> Creditor:
    return make_corpus_supplier(creditor)


def ubl(corpus: Path, name: str) -> str:
    return (corpus / "ubl" / name).read_text(encoding="utf-8")


def rejected(path: Path, creditor: Creditor) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        UblImporter().run(path, creditor)
    return caught.value


def test_full_nlcius_invoice(creditor: Creditor, corpus: Path) -> None:
    report = UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_full-nlcius-invoice.xml", creditor)

    invoice = Invoice.objects.get()
    assert invoice.number == "TOSL108"
    assert invoice.total == Decimal("1728.70")
    assert invoice.open_amount == Decimal("729.00")
    assert invoice.payment_reference == "Payref1"
    assert invoice.issue_date == dt.date(2009, 12, 15)
    assert invoice.due_date == invoice.issue_date
    debtor = invoice.debtor
    assert debtor.customer_number == "88884444"
    assert debtor.name == "The buyercompany inc."
    assert debtor.kind == "business"
    assert debtor.kvk_number == "87654321"
    assert debtor.email == "john@buyercompany.eu"
    assert debtor.vat_id == ""
    assert any("'BE54321' not stored" in note for note in report.notes)
    assert any("no due date" in note for note in report.notes)


def test_due_date_from_payment_means(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_full-nlcius-invoice.xml").replace(
        "<cbc:PaymentID>Payref1</cbc:PaymentID>",
        "<cbc:PaymentDueDate>2010-01-14</cbc:PaymentDueDate><cbc:PaymentID>Payref1</cbc:PaymentID>",
    )
    path = write_file("vervaldatum.xml", text)

    report = UblImporter().run(path, creditor)

    assert Invoice.objects.get().due_date == dt.date(2010, 1, 14)
    assert not any("no due date" in note for note in report.notes)


def test_credit_note_document_stored_negative(creditor: Creditor, corpus: Path) -> None:
    UblImporter().run(corpus / "ubl" / "peppol-bis3_creditnote-correction.xml", creditor)

    credit_note = Invoice.objects.get()
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.total == Decimal("-1656.25")
    assert credit_note.open_amount == Decimal("-1656.25")
    assert credit_note.corrects is None


def test_negative_invoice_becomes_credit_note(creditor: Creditor, corpus: Path) -> None:
    UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_negative-invoice.xml", creditor)

    credit_note = Invoice.objects.get()
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.open_amount == Decimal("-121.00")
    assert credit_note.payment_reference == ""


def test_credit_note_applied_to_referenced_invoice(
    creditor: Creditor, corpus: Path, write_file: WriteFile
) -> None:
    UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_document-allowance.xml", creditor)
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_creditnote-381_two-payment-means.xml")
    text = text.replace("<cbc:ID>12115118</cbc:ID>", "<cbc:ID>CN-7</cbc:ID>", 1)
    text = text.replace("<cbc:ID>46568</cbc:ID>", "<cbc:ID>12115118</cbc:ID>")
    path = write_file("creditnota.xml", text)

    report = UblImporter().run(path, creditor)

    assert report.counts["credit notes applied"] == 1
    invoice = Invoice.objects.get(number="12115118")
    credit_note = Invoice.objects.get(number="CN-7")
    assert credit_note.corrects == invoice
    assert invoice.open_amount == Decimal("0.00")
    assert invoice.status == InvoiceStatus.CREDITED
    assert credit_note.open_amount == Decimal("-121.00")


def test_credit_note_reusing_invoice_number_rejected(creditor: Creditor, corpus: Path) -> None:
    UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_document-allowance.xml", creditor)

    error = rejected(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_creditnote-381_two-payment-means.xml", creditor)

    assert "12115118 is stored as an invoice" in error.errors[0].problem


def test_reimport_changes_nothing(creditor: Creditor, corpus: Path) -> None:
    path = corpus / "ubl" / "peppol-bis3_multi-line_vat-category-s.xml"
    UblImporter().run(path, creditor)

    report = UblImporter().run(path, creditor)

    assert report.counts["invoices unchanged"] == 1
    assert report.counts["invoices new"] == 0
    assert report.counts["debtors updated"] == 0


def test_missing_and_bad_amounts_rejected(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml")
    text = text.replace(
        '<cbc:PayableAmount currencyID="EUR">242.00</cbc:PayableAmount>', ""
    ).replace(
        '<cbc:TaxInclusiveAmount currencyID="EUR">242.00</cbc:TaxInclusiveAmount>',
        '<cbc:TaxInclusiveAmount currencyID="EUR">242.005</cbc:TaxInclusiveAmount>',
    )
    path = write_file("kapot.xml", text)

    error = rejected(path, creditor)

    fields = {e.field: e for e in error.errors}
    assert "more than two decimals" in fields["cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"].problem
    assert "missing" in fields["cac:LegalMonetaryTotal/cbc:PayableAmount"].problem
    assert Invoice.objects.count() == 0


def test_too_long_city_rejected(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml")
    buyer_start = text.index("<cac:AccountingCustomerParty>")
    city_start = text.index("<cbc:CityName>", buyer_start) + len("<cbc:CityName>")
    city_end = text.index("</cbc:CityName>", city_start)
    long_city = "Lang" * 30
    path = write_file("stad.xml", text[:city_start] + long_city + text[city_end:])

    error = rejected(path, creditor)

    fields = {e.field: e for e in error.errors}
    problem = fields["cac:AccountingCustomerParty/cac:Party/cac:PostalAddress/cbc:CityName"].problem
    assert "is 120 characters long, but 100 fit" in problem
    assert Invoice.objects.count() == 0


def test_exponent_amount_rejected(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml").replace(
        '<cbc:PayableAmount currencyID="EUR">242.00</cbc:PayableAmount>',
        '<cbc:PayableAmount currencyID="EUR">2.42E2</cbc:PayableAmount>',
    )
    path = write_file("exponent.xml", text)

    error = rejected(path, creditor)

    fields = {e.field: e for e in error.errors}
    assert "not a decimal amount" in fields["cac:LegalMonetaryTotal/cbc:PayableAmount"].problem
    assert Invoice.objects.count() == 0


XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file://{secret}">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>&secret;</cbc:ID>
</Invoice>
"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Invoice [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
  <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
  <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
  <!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">
  <!ENTITY i "&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>&i;</cbc:ID>
</Invoice>
"""


def test_external_entity_rejected_unread(creditor: Creditor, write_file: WriteFile, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-4711")
    path = write_file("xxe.xml", XXE.format(secret=secret))

    assert find_importer(path) is UblImporter
    error = rejected(path, creditor)

    assert "declares a DTD or entities" in error.errors[0].problem
    assert "TOPSECRET" not in str(error)
    assert Invoice.objects.count() == 0


def test_billion_laughs_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("laughs.xml", BILLION_LAUGHS)

    error = rejected(path, creditor)

    assert error.errors[0].value == "laughs.xml"
    assert "declares a DTD or entities" in error.errors[0].problem
    assert Debtor.objects.count() == 0


def test_external_dtd_rejected(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml").replace(
        "<Invoice ", '<!DOCTYPE Invoice SYSTEM "http://127.0.0.1:9/invoice.dtd">\n<Invoice ', 1
    )
    path = write_file("dtd.xml", text)

    error = rejected(path, creditor)

    assert "declares a DTD" in error.errors[0].problem


def test_malformed_xml_rejected(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml")
    path = write_file("afgekapt.xml", text[: len(text) // 2])

    error = rejected(path, creditor)

    assert "not well-formed XML" in error.errors[0].problem


def test_csv_saved_as_xml_not_read_as_ubl(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "factuur.xml",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;01-03-2025;10,00\n",
    )
    head = path.read_bytes()[:HEAD_BYTES]

    assert not UblImporter.detect(path, head)
    assert TabularInvoiceImporter.detect(path, head)
    TabularInvoiceImporter().run(path, creditor)
    assert Invoice.objects.get().open_amount == Decimal("10.00")


def test_csv_saved_as_xml_via_command(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file(
        "factuur.xml",
        "Factuurnummer;Debiteurnummer;Naam;Vervaldatum;Openstaand\nF1;D1;Een;01-03-2025;10,00\n",
    )
    output = io.StringIO()

    # The bank statement importer comes first and claims every .xml file that
    # is not XML, to reject it with advice, so the command imports nothing.
    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", creditor.slug, stdout=output)

    assert "not XML" in output.getvalue()
    assert "save it as .csv" in output.getvalue()
    assert Invoice.objects.count() == 0


def test_cii_invoice_named_in_error(write_file: WriteFile) -> None:
    path = write_file(
        "factur-x.xml",
        '<?xml version="1.0"?>\n<rsm:CrossIndustryInvoice '
        'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>\n',
    )

    with pytest.raises(BetaalreisError, match="UN/CEFACT CII invoice"):
        find_importer(path)


def test_other_xml_named_in_error(write_file: WriteFile) -> None:
    path = write_file("order.xml", '<?xml version="1.0"?>\n<Order xmlns="urn:example:order"/>\n')

    with pytest.raises(BetaalreisError, match="not a UBL 2.1 Invoice or CreditNote"):
        find_importer(path)


def other_creditor(**fields: object) -> Creditor:
    values: dict[str, object] = {"legal_name": "Zon B.V.", "iban": "NL20INGB0001234567", "kvk_number": "87654321"}
    values.update(fields)
    return Creditor.objects.create(slug="zon", **values)


def test_other_supplier_rejected(creditor: Creditor, corpus: Path) -> None:
    zon = other_creditor()

    error = rejected(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_negative-invoice.xml", zon)

    assert len(error.errors) == 1
    assert error.errors[0].field == "cac:AccountingSupplierParty"
    assert "'SimplerInvoicing', KvK SITEST00000, VAT NL111111111B01" in error.errors[0].value
    assert "not creditor 'zon' ('Zon B.V.', KvK 87654321, IBAN NL20INGB0001234567)" in error.errors[0].problem
    assert "--creditor" in error.errors[0].problem
    assert "simplerinvoicing_si-ubl-2.0_negative-invoice.xml: rejected" in str(error)
    assert not Invoice.objects.exists()


def test_other_supplier_rejected_by_iban_and_name(creditor: Creditor, corpus: Path) -> None:
    zon = other_creditor(kvk_number="")

    error = rejected(corpus / "ubl" / "peppol-bis3_multi-line_vat-category-s.xml", zon)

    assert "'SupplierOfficialName Ltd', VAT GB1232434, IBAN IBAN32423940" in error.errors[0].value
    assert not Invoice.objects.exists()


def test_supplier_matching_name_noted(db, corpus: Path) -> None:
    # No other creditor has the document's VAT id here, which would make it ambiguous.
    zon = other_creditor(legal_name="SIMPLERINVOICING B.V.")

    report = UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml", zon)

    assert Invoice.objects.filter(creditor=zon).count() == 1
    assert any("has another KvK number than creditor zon" in note for note in report.notes)


def test_supplier_also_matching_other_creditor_rejected(
    creditor: Creditor, corpus: Path, write_file: WriteFile
) -> None:
    # The VAT id is acme's, but the document asks payment on zon's IBAN.
    zon = other_creditor()
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml")
    path = write_file("twee-crediteuren.xml", text.replace("NL11 BANK 1111111111", zon.iban))

    error = rejected(path, creditor)

    assert len(error.errors) == 1
    problem = error.errors[0].problem
    assert "matches creditor 'acme' ('Acme B.V.', KvK 12345678, VAT NL111111111B01, IBAN NL91ABNA0417164300)" in problem
    assert "but also 'zon' ('Zon B.V.', KvK 87654321, IBAN NL20INGB0001234567)" in problem
    assert "does not choose between creditors" in problem
    assert not Invoice.objects.exists()


def test_supplier_without_details_noted(creditor: Creditor, corpus: Path, write_file: WriteFile) -> None:
    zon = other_creditor(kvk_number="")
    text = ubl(corpus, "simplerinvoicing_si-ubl-2.0_negative-invoice.xml")
    start = text.index("<cac:AccountingSupplierParty>")
    end = text.index("</cac:AccountingSupplierParty>") + len("</cac:AccountingSupplierParty>")
    path = write_file("zonder-leverancier.xml", text[:start] + text[end:])

    report = UblImporter().run(path, zon)

    assert Invoice.objects.filter(creditor=zon).count() == 1
    assert any("could not be compared with creditor zon" in note for note in report.notes)


def test_collection_agency_supplier_not_checked(creditor: Creditor, corpus: Path) -> None:
    agency = other_creditor(is_collection_agency=True)

    report = UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_minimal-invoice.xml", agency)

    assert Invoice.objects.filter(creditor=agency).count() == 1
    assert any("not checked: zon is a collection agency" in note for note in report.notes)


def test_credit_note_change_reported(creditor: Creditor, corpus: Path) -> None:
    UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_creditnote-381_two-payment-means.xml", creditor)

    report = UblImporter().run(corpus / "ubl" / "simplerinvoicing_si-ubl-2.0_negative-invoice.xml", creditor)

    credit_note = Invoice.objects.get()
    assert credit_note.kind == InvoiceKind.CREDIT_NOTE
    assert credit_note.total == Decimal("-121.00")
    assert report.counts["credit notes changed"] == 1
    assert (
        "Credit note 12115118 changed by this file: total amount -227.00 -> -121.00, open amount -227.00 -> -121.00."
        in " ".join(report.notes)
    )
    event = TimelineEvent.objects.get(kind=TimelineKind.INVOICE_CHANGED)
    assert event.summary == (
        "Creditnota 12115118 gewijzigd door import: totaal €\xa0-227,00 → €\xa0-121,00, "
        "openstaand €\xa0-227,00 → €\xa0-121,00"
    )
