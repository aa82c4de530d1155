"""Customer numbers that differ only in leading zeros are one debtor, or the file is rejected."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import Creditor, Debtor, Invoice
from betaalreis.outbox.models import Communication

pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

HEADER = "Factuurnummer;Debiteurnummer;Naam;Factuurdatum;Vervaldatum;Openstaand\n"
SAME_NAME = HEADER + (
    "9001;10;Café De Hoek;01-11-2026;30-11-2026;100,00\n"
    "9002;0010;Café De Hoek;01-11-2026;30-11-2026;50,00\n"
)
OTHER_NAME = HEADER + (
    "9001;10;Café De Hoek;01-11-2026;30-11-2026;100,00\n"
    "9002;0010;Bakkerij Zoet;01-11-2026;30-11-2026;50,00\n"
)


def _import(path: Path, *options: str) -> str:
    output = io.StringIO()
    call_command("import", str(path), "--creditor", "acme", *options, stdout=output)
    return output.getvalue()


def _rejected(path: Path) -> str:
    output = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", str(path), "--creditor", "acme", stdout=output)
    return output.getvalue()


def _numbers() -> list[str]:
    return sorted(Debtor.objects.values_list("customer_number", flat=True))


def test_forms_in_file_are_one_debtor(creditor: Creditor, write_file: WriteFile) -> None:
    output = _import(write_file("open.csv", SAME_NAME))

    assert _numbers() == ["0010"]
    assert Invoice.objects.filter(debtor__customer_number="0010").count() == 2
    assert "Customer number 10 in the file is read as customer number 0010 from the same file" in output


def test_forms_in_file_imported_twice(creditor: Creditor, write_file: WriteFile) -> None:
    path = write_file("open.csv", SAME_NAME)
    _import(path)

    output = _import(path)

    assert _numbers() == ["0010"]
    assert re.search(r"debtors new\s*│\s*0 ", output)
    assert re.search(r"invoices unchanged\s*│\s*2 ", output)
    assert Invoice.objects.count() == 2
    assert Invoice.objects.filter(debtor__customer_number="0010").count() == 2


def test_forms_with_other_names_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    output = _rejected(write_file("open.csv", OTHER_NAME))

    assert "value '10': is equal to customer number 0010 on row 3 without leading zeros" in output
    assert "('Café De Hoek', 'Bakkerij Zoet')" in output
    assert Debtor.objects.count() == 0
    assert Invoice.objects.count() == 0


def test_file_forms_join_stored_debtor(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("first.csv", HEADER + "9000;0010;Café De Hoek;01-10-2026;31-10-2026;20,00\n"))

    output = _import(write_file("open.csv", SAME_NAME))

    assert _numbers() == ["0010"]
    assert Invoice.objects.filter(debtor__customer_number="0010").count() == 3
    assert "Customer number 10 in the file is read as debtor 0010 of the ledger" in output


def test_stored_debtor_other_name_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("first.csv", HEADER + "9000;0010;Café De Hoek;01-10-2026;31-10-2026;20,00\n"))

    output = _rejected(write_file("open.csv", HEADER + "9001;10;Bakkerij Zoet;01-11-2026;30-11-2026;50,00\n"))

    assert "is equal to debtor 0010 in Betaalreis without leading zeros" in output
    assert _numbers() == ["0010"]
    assert not Invoice.objects.filter(number="9001").exists()


def test_stored_forms_stay_apart(creditor: Creditor, write_file: WriteFile) -> None:
    Debtor.objects.create(creditor=creditor, customer_number="10", name="Café De Hoek")
    Debtor.objects.create(creditor=creditor, customer_number="0010", name="Café De Hoek")

    _import(write_file("open.csv", SAME_NAME))

    assert Invoice.objects.get(number="9001").debtor.customer_number == "10"
    assert Invoice.objects.get(number="9002").debtor.customer_number == "0010"


def test_third_form_of_stored_forms_rejected(creditor: Creditor, write_file: WriteFile) -> None:
    Debtor.objects.create(creditor=creditor, customer_number="10", name="Café De Hoek")
    Debtor.objects.create(creditor=creditor, customer_number="0010", name="Café De Hoek")

    output = _rejected(write_file("open.csv", HEADER + "9003;010;Café De Hoek;01-11-2026;30-11-2026;5,00\n"))

    assert "equals ledger debtors 0010 and 10" in output
    assert not Invoice.objects.filter(number="9003").exists()


def _write_afas_xlsx(path: Path, second_name: str) -> Path:
    """Write an AFAS-shaped sheet in which Excel stored customer 10 as a number and "0010" as text."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append([
        "Factuurnummer", "Nummer debiteur", "Naam debiteur", "E-mail", "Adres", "Postcode", "Plaats",
        "Factuurdatum", "Vervaldatum", "Saldo",
    ])
    address = ["jan@example.nl", "Dorpsstraat 1", "1234 AB", "Utrecht"]
    sheet.append([9001, 10, "Jan de Vries", *address, dt.datetime(2026, 9, 1), dt.datetime(2026, 9, 30), 100.0])
    sheet.append(["9002", "0010", second_name, *address, "01-09-2026", "30-09-2026", "50,00"])
    workbook.save(path)
    return path


def test_xlsx_forms_are_one_debtor(creditor: Creditor, tmp_path: Path) -> None:
    _import(_write_afas_xlsx(tmp_path / "afas.xlsx", "Jan de Vries"))

    assert _numbers() == ["0010"]
    assert Debtor.objects.get().kind == "consumer"


def test_xlsx_forms_other_names_rejected(creditor: Creditor, tmp_path: Path) -> None:
    output = _rejected(_write_afas_xlsx(tmp_path / "afas.xlsx", "Piet Jansen"))

    assert "value '10': is equal to customer number 0010 on row 3 without leading zeros" in output
    assert Debtor.objects.count() == 0


def test_consumer_gets_one_dunning_track(creditor: Creditor, tmp_path: Path, betaalreis_home: Path) -> None:
    seed_default_policies(creditor)
    _import(_write_afas_xlsx(tmp_path / "afas.xlsx", "Jan de Vries"))

    run_cycle(dt.date(2026, 11, 2), creditor, dispatch_messages=False)

    (letter,) = Communication.objects.all()
    assert letter.debtor.customer_number == "0010"
    assert letter.stage == "fourteen_day_letter"
    # One 14-day letter covers both invoices, where two debtors would each have had their own.
    assert letter.total_amount == Decimal("150.00")


def test_three_forms_merge_contact_data(creditor: Creditor, write_file: WriteFile) -> None:
    _import(write_file("open.csv", (
        "Factuurnummer;Debiteurnummer;Naam;E-mail;Factuurdatum;Vervaldatum;Openstaand\n"
        "9001;10;Café De Hoek;;01-11-2026;30-11-2026;100,00\n"
        "9002;010;;hoek@example.nl;01-11-2026;30-11-2026;50,00\n"
        "9003;0010;Café De Hoek;;01-11-2026;30-11-2026;25,00\n"
    )))

    debtor = Debtor.objects.get()
    assert debtor.customer_number == "0010"
    assert debtor.name == "Café De Hoek"
    assert debtor.email == "hoek@example.nl"
    assert debtor.invoices.count() == 3
