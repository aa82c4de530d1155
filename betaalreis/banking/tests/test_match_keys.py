"""The normalised keys that matching looks invoices and debtors up by: kept in sync, filled by the migration."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from babel.numbers import format_currency
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from betaalreis.banking.bulk import insert_rows
from betaalreis.banking.matching import match_payments
from betaalreis.banking.samples import SampleEntry
from betaalreis.dunning import bulk as dunning_bulk
from betaalreis.imports.tabular import TabularInvoiceImporter
from betaalreis.ledger.match_keys import normalise_name, normalise_number
from betaalreis.ledger.models import Debtor, Invoice, Payment, PaymentStatus
from betaalreis.ledger.money import format_money
from betaalreis.legal.references import make_betalingskenmerk

from .helpers import CREDITOR_IBAN, import_entries, make_creditor, make_debtor, make_invoice

KENMERK = make_betalingskenmerk(20260042)
BEFORE_KEYS = ("ledger", "0003_drop_covered_indexes")


def _keys(invoice: Invoice) -> tuple[str, str, str]:
    invoice.refresh_from_db()
    return invoice.number_key, invoice.number_digits, invoice.reference_key


@pytest.mark.django_db
def test_keys_set_on_create_and_save() -> None:
    debtor = make_debtor(make_creditor(), "D1", "Jansen Installatie B.V.")
    invoice = make_invoice(debtor, "f-2026/0042", "10.00", reference="1234 5678 9012 3456")

    assert _keys(invoice) == ("F20260042", "20260042", "1234567890123456")
    assert Debtor.objects.get().name_key == "jansen installatie"

    invoice.number = "G 77"
    invoice.payment_reference = ""
    invoice.save()
    debtor.name = "Bakkerij Pietersen"
    debtor.save()

    assert _keys(invoice) == ("G77", "77", "")
    assert Debtor.objects.get().name_key == "bakkerij pietersen"


@pytest.mark.django_db
def test_keys_set_by_bulk_inserts() -> None:
    debtor = make_debtor(make_creditor(), "D1", "Een")
    row = {
        "creditor_id": debtor.creditor_id, "debtor_id": debtor.pk, "issue_date": dt.date(2026, 10, 1),
        "due_date": dt.date(2026, 11, 1), "total": Decimal("5.00"), "open_amount": Decimal("5.00"),
    }

    insert_rows(Invoice, [{**row, "number": "a-1", "payment_reference": "RF18 5390 0754 7034"}])
    Invoice.objects.bulk_create([Invoice(**row, number="b.2")])

    assert _keys(Invoice.objects.get(number="a-1")) == ("A1", "1", "RF18539007547034")
    assert _keys(Invoice.objects.get(number="b.2")) == ("B2", "2", "")


@pytest.mark.django_db
def test_keys_set_by_dunning_bulk_inserts() -> None:
    creditor = make_creditor()
    # These helpers call no pre_save, so the caller sets the auto_now columns.
    stamps = {"created_at": timezone.now(), "updated_at": timezone.now()}
    debtor_row = {**stamps, "creditor_id": creditor.pk, "customer_number": "D2", "name": "Pietersen V.O.F."}
    invoice_row = {
        **stamps, "creditor_id": creditor.pk, "issue_date": dt.date(2026, 10, 1), "due_date": dt.date(2026, 11, 1),
        "total": Decimal("5.00"), "open_amount": Decimal("5.00"),
    }

    (debtor_id,) = dunning_bulk.insert_rows(Debtor, [debtor_row])
    rows = [{**invoice_row, "debtor_id": debtor_id, "number": "c/3", "payment_reference": "1234 5678 9012 3456"}]
    (invoice_id,) = dunning_bulk.insert_rows(Invoice, rows)
    dunning_bulk.insert_rows_without_ids(Invoice, [{**invoice_row, "debtor_id": debtor_id, "number": "d 4"}])
    (built,) = dunning_bulk.SavedInstances(Invoice, [invoice_id], rows)

    assert Debtor.objects.get(pk=debtor_id).name_key == "pietersen"
    assert _keys(Invoice.objects.get(pk=invoice_id)) == ("C3", "3", "1234567890123456")
    assert _keys(Invoice.objects.get(number="d 4")) == ("D4", "4", "")
    assert (built.number_key, built.number_digits, built.reference_key) == ("C3", "3", "1234567890123456")


@pytest.mark.django_db
def test_keys_follow_invoice_import_and_update(tmp_path: Path) -> None:
    creditor = make_creditor()
    header = "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Totaal;Openstaand\n"
    first = tmp_path / "a.csv"
    first.write_text(header + "F-1001;D-1;Jansen B.V.;01-11-2026;15-11-2026;100,00;100,00\n")
    second = tmp_path / "b.csv"
    second.write_text(header + "F-1001;D-1;Pietersen Holding;01-11-2026;15-11-2026;100,00;100,00\n")

    TabularInvoiceImporter().run(first, creditor)
    assert _keys(Invoice.objects.get()) == ("F1001", "1001", "")
    assert Debtor.objects.get().name_key == "jansen"

    report = TabularInvoiceImporter().run(second, creditor)

    assert report.counts["debtors updated"] == 1
    assert Debtor.objects.get().name_key == "pietersen"


@pytest.mark.django_db
def test_matching_reads_normalised_reference(tmp_path: Path) -> None:
    debtor = make_debtor(make_creditor(), "D1", "Jansen")
    spaced = " ".join(KENMERK[index:index + 4] for index in range(0, 16, 4))
    invoice = make_invoice(debtor, "2026-0042", "121.00", reference=spaced)

    import_entries(tmp_path, [SampleEntry(Decimal("121.00"), structured_reference=KENMERK)])

    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("0.00")
    assert Payment.objects.exclude(match_rule="").get().match_rule == "structured_reference"


@pytest.mark.django_db
def test_name_rule_uses_renamed_debtor(tmp_path: Path) -> None:
    debtor = make_debtor(make_creditor(), "D1", "Oude Naam")
    invoice = make_invoice(debtor, "F-1", "33.00")
    debtor.name = "Bakkerij Pietersen B.V."
    debtor.save()

    import_entries(tmp_path, [SampleEntry(Decimal("33.00"), name="BAKKERIJ PIETERSEN", remittance="okt")])

    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("0.00")
    assert Payment.objects.exclude(match_rule="").get().match_rule == "payer_name"


@pytest.mark.django_db(transaction=True)
def test_migration_fills_keys_of_older_rows() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_KEYS])
    old = executor.loader.project_state([BEFORE_KEYS]).apps
    creditor = old.get_model("ledger", "Creditor").objects.create(slug="old", legal_name="Old B.V.", iban=CREDITOR_IBAN)
    debtor = old.get_model("ledger", "Debtor").objects.create(creditor=creditor, customer_number="D1", name="Jansen B.V.")
    old.get_model("ledger", "Invoice").objects.create(
        creditor=creditor, debtor=debtor, number="F-2026-0007", issue_date=dt.date(2026, 10, 1),
        due_date=dt.date(2026, 11, 1), total=Decimal("40.00"), open_amount=Decimal("40.00"),
        payment_reference="RF18 5390 0754 7034",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    invoice = Invoice.objects.get()
    assert _keys(invoice) == ("F20260007", "20260007", "RF18539007547034")
    assert Debtor.objects.get().name_key == "jansen"

    payment = Payment.objects.create(
        creditor_id=creditor.pk, amount=Decimal("40.00"), booking_date=dt.date(2026, 12, 1),
        remittance_info="factuur F2026 0007", status=PaymentStatus.NEW,
    )
    report = match_payments(invoice.creditor, [payment])

    assert report.matched == 1
    assert Payment.objects.exclude(match_rule="").get().match_rule == "invoice_number"


@pytest.mark.parametrize("value", ["F-2026-0042", "f 2026.0042", "INV_7/8:9#1", "Faktur(ä)12"])
def test_normalise_number_keeps_letters_and_digits(value: str) -> None:
    key = normalise_number(value)

    assert key.isascii()
    assert key == "".join(character for character in key if character.isalnum())
    assert key == key.upper()


def test_normalise_name_drops_legal_form() -> None:
    assert normalise_name("Jansen Installatietechniek B.V.") == "jansen installatietechniek"


@pytest.mark.parametrize(
    "amount", ["0", "0.01", "0.5", "12", "999.99", "1000", "1234.56", "100000.00", "1234567.89", "1E+3", "-12.30", "1.005"]
)
def test_format_money_equals_babel(amount: str) -> None:
    value = Decimal(amount)

    assert format_money(value) == format_currency(value, "EUR", locale="nl_NL")
    assert format_money(value, "USD") == format_currency(value, "USD", locale="nl_NL")
