"""The `creditor` command: add, load and list creditors."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from betaalreis.channels.render.context import CreditorInfo
from betaalreis.ledger.models import Creditor

# These tests check the English wording of problem texts and notes.
pytestmark = pytest.mark.usefixtures("english_reports")

WriteFile = Callable[..., Path]

REPO = Path(__file__).resolve().parents[3]


def test_creditor_add_and_list(db) -> None:
    output = io.StringIO()

    call_command(
        "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "nl91 abna 0417 1643 00",
        "--bic", "ABNANL2A", "--kvk", "1234 5678", "--vat-id", "NL 0044.95.445.B01",
        "--postal-code", "9711ab", "--phone", "050 1234567", "--no-vat-deductible",
        "--collection-agency", stdout=output,
    )
    call_command("creditor", "list", stdout=output)

    creditor = Creditor.objects.get(slug="zon")
    assert creditor.iban == "NL91ABNA0417164300"
    assert creditor.kvk_number == "12345678"
    assert creditor.vat_id == "NL004495445B01"
    assert creditor.postal_code == "9711 AB"
    assert creditor.phone == "+31501234567"
    assert creditor.vat_deductible is False
    assert creditor.is_collection_agency is True
    assert "zon: created" in output.getvalue()
    assert "Zon B.V." in output.getvalue()


def test_creditor_list_never_shortens_slug_or_iban(db) -> None:
    slug = "groothandel-van-der-linden-en-zonen-noord"
    call_command(
        "creditor", "add", "--slug", slug,
        "--legal-name", "Groothandel Van der Linden en Zonen Noord-Nederland Besloten Vennootschap",
        "--iban", "NL91ABNA0417164300", "--city", "Leeuwarden", stdout=io.StringIO(),
    )
    output = io.StringIO()

    call_command("creditor", "list", stdout=output)

    text = output.getvalue()
    assert slug in text
    assert "NL91ABNA0417164300" in text
    assert "…" not in text


def test_creditor_add_lists_every_problem(db) -> None:
    with pytest.raises(CommandError) as caught:
        call_command(
            "creditor", "add", "--slug", "bad slug", "--legal-name", "X", "--iban", "NL00ABNA0000000000",
            "--bic", "NOTABIC", "--kvk", "123", "--vat-id", "NL123", "--email", "nope",
            "--website", "ftp://x", "--logo", "/nonexistent/logo.png",
        )

    message = str(caught.value)
    for field in ("slug", "iban", "bic", "kvk", "vat_id", "email", "website", "logo"):
        assert f"\n  {field} " in message
    assert Creditor.objects.count() == 0


def test_bic_of_other_bank_rejected(db) -> None:
    with pytest.raises(CommandError) as caught:
        call_command(
            "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.",
            "--iban", "NL91ABNA0417164300", "--bic", "INGBNL2A",
        )

    assert "BIC INGBNL2A does not belong to the bank of IBAN NL91 ABNA 0417 1643 00" in str(caught.value)
    assert "whose BIC is ABNANL2A" in str(caught.value)
    assert Creditor.objects.count() == 0


def test_bic_with_branch_code_accepted(db) -> None:
    call_command(
        "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.",
        "--iban", "NL91ABNA0417164300", "--bic", "ABNANL2AXXX", stdout=io.StringIO(),
    )

    assert Creditor.objects.get().bic == "ABNANL2AXXX"


def test_creditor_clean_checks_bic(db) -> None:
    creditor = Creditor(slug="zon", legal_name="Zon B.V.", iban="NL91ABNA0417164300", bic="RABONL2U")

    with pytest.raises(ValidationError) as caught:
        creditor.full_clean()

    assert "bic" in caught.value.message_dict


def test_creditor_add_existing_slug_rejected(creditor: Creditor) -> None:
    with pytest.raises(CommandError, match="'acme' exists already"):
        call_command("creditor", "add", "--slug", "acme", "--legal-name", "A", "--iban", "NL91ABNA0417164300")


def test_creditor_load_example_file_twice(db) -> None:
    output = io.StringIO()

    call_command("creditor", "load", str(REPO / "examples" / "creditors.toml"), stdout=output)
    call_command("creditor", "load", str(REPO / "examples" / "creditors.toml"), stdout=output)

    lines = output.getvalue().splitlines()
    assert lines == [
        "zonnepanelen-noord: created", "incasso-west: created",
        "zonnepanelen-noord: unchanged", "incasso-west: unchanged",
    ]
    agency = Creditor.objects.get(slug="incasso-west")
    assert agency.is_collection_agency is True
    assert agency.vat_deductible is False


def test_creditor_load_updates_and_validates(db, write_file: WriteFile) -> None:
    logo_bytes = io.BytesIO()
    Image.new("RGB", (120, 40), (31, 78, 121)).save(logo_bytes, format="PNG")
    png = write_file("logo.png", logo_bytes.getvalue())
    good = write_file(
        "crediteuren.toml",
        f'[[creditor]]\nslug = "a"\nlegal_name = "A B.V."\niban = "NL91ABNA0417164300"\nlogo = "{png.name}"\n',
    )
    call_command("creditor", "load", str(good), stdout=io.StringIO())
    changed = write_file(
        "crediteuren.toml",
        '[[creditor]]\nslug = "a"\nlegal_name = "A Holding B.V."\niban = "NL91ABNA0417164300"\n'
        '[[creditor]]\nslug = "b"\nlegal_name = "B"\niban = "NL00ABNA0000000000"\n',
    )

    with pytest.raises(CommandError, match="creditor 'b': iban 'NL00ABNA0000000000'"):
        call_command("creditor", "load", str(changed))

    creditor = Creditor.objects.get()
    assert creditor.legal_name == "A B.V."
    assert creditor.logo.name.startswith("logos/a-")
    assert creditor.logo.read() == png.read_bytes()


def test_creditor_load_rejects_unknown_key(db, write_file: WriteFile) -> None:
    path = write_file(
        "crediteuren.toml", '[[creditor]]\nslug = "a"\nlegal_name = "A"\niban = "NL91ABNA0417164300"\nkleur = 1\n'
    )

    with pytest.raises(CommandError, match="unknown keys \\['kleur'\\]"):
        call_command("creditor", "load", str(path))


def test_creditor_add_seeds_default_policies(db) -> None:
    call_command("creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL20INGB0001234567")

    kinds = set(Creditor.objects.get(slug="zon").policies.values_list("debtor_kind", flat=True))
    assert kinds == {"consumer", "business"}


def test_creditor_add_taken_iban_rejected(creditor: Creditor) -> None:
    with pytest.raises(CommandError, match="belongs to creditor 'acme'"):
        call_command("creditor", "add", "--slug", "other", "--legal-name", "O", "--iban", creditor.iban)

    assert Creditor.objects.count() == 1


def test_creditor_add_upper_case_slug_rejected(db) -> None:
    with pytest.raises(CommandError, match="use only lower-case letters, .*, for example 'acme'"):
        call_command("creditor", "add", "--slug", "ACME", "--legal-name", "A", "--iban", "NL20INGB0001234567")


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "slug 'Bad Slug!': gebruik alleen kleine letters, cijfers, koppeltekens en liggende streepjes, "
               "bijvoorbeeld 'bad-slug'"),
        ("en", "slug 'Bad Slug!': use only lower-case letters, digits, hyphens and underscores, "
               "for example 'bad-slug'"),
    ],
)
def test_creditor_add_bad_slug_suggests_valid(db, language: str, expected: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command(
            "creditor", "add", "--slug", "Bad Slug!", "--legal-name", "Bad", "--iban", "NL91ABNA0417164300",
            "--lang", language,
        )

    problems = [line.strip() for line in str(raised.value).splitlines() if line.strip().startswith("slug ")]
    assert problems == [expected]
    assert not Creditor.objects.exists()


def test_creditor_add_slug_without_suggestion(db) -> None:
    with pytest.raises(CommandError) as raised:
        call_command("creditor", "add", "--slug", "!!!", "--legal-name", "A", "--iban", "NL20INGB0001234567",
                     "--lang", "en")

    problems = [line.strip() for line in str(raised.value).splitlines() if line.strip().startswith("slug ")]
    assert problems == ["slug '!!!': use only lower-case letters, digits, hyphens and underscores"]


def test_creditor_load_shared_iban_rejected(db, write_file: WriteFile) -> None:
    path = write_file(
        "creditors.toml",
        '[[creditor]]\nslug = "a"\nlegal_name = "A"\niban = "NL20INGB0001234567"\n\n'
        '[[creditor]]\nslug = "b"\nlegal_name = "B"\niban = "NL20INGB0001234567"\n',
    )

    with pytest.raises(CommandError, match="appear more than once"):
        call_command("creditor", "load", str(path))

    assert Creditor.objects.count() == 0


def test_creditor_command_dutch_with_lang(db) -> None:
    output = io.StringIO()

    call_command(
        "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL91ABNA0417164300",
        "--lang", "nl", stdout=output,
    )
    call_command("creditor", "list", "--lang", "nl", stdout=output)

    assert "zon: aangemaakt (Zon B.V., NL91ABNA0417164300)" in output.getvalue()
    assert "statutaire naam" in output.getvalue()


def test_creditor_problems_dutch_with_lang(db) -> None:
    with pytest.raises(CommandError) as caught:
        call_command(
            "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL91ABNA0417164301",
            "--lang", "nl",
        )

    assert "Crediteur niet toegevoegd:" in str(caught.value)
    assert "iban 'NL91ABNA0417164301': geen geldig IBAN: de controlecijfers kloppen niet" in str(caught.value)


def test_creditor_add_rejects_taken_kvk(db) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--kvk", "12345678", stdout=io.StringIO())

    with pytest.raises(CommandError) as caught:
        call_command("creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban",
                     "NL91ABNA0417164300", "--kvk", "1234 5678", stdout=io.StringIO())

    assert "KvK number 12345678 belongs to creditor 'acme' already" in str(caught.value)
    assert "correct the number of 'zon', or leave it out" in str(caught.value)
    assert list(Creditor.objects.values_list("slug", flat=True)) == ["acme"]


def test_creditor_load_rejects_taken_kvk(db, write_file: WriteFile) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--kvk", "12345678", stdout=io.StringIO())
    path = write_file("crediteuren.toml", (
        '[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL91ABNA0417164300"\nkvk = "12345678"\n'
    ))

    with pytest.raises(CommandError, match="KvK number 12345678 belongs to creditor 'acme' already"):
        call_command("creditor", "load", str(path), stdout=io.StringIO())

    assert not Creditor.objects.filter(slug="zon").exists()


def test_creditor_load_rejects_kvk_twice_in_file(db, write_file: WriteFile) -> None:
    path = write_file("crediteuren.toml", (
        '[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL91ABNA0417164300"\nkvk = "12345678"\n'
        '[[creditor]]\nslug = "wind"\nlegal_name = "Wind B.V."\niban = "NL20INGB0001234567"\nkvk = "12345678"\n'
    ))

    with pytest.raises(CommandError) as caught:
        call_command("creditor", "load", str(path), stdout=io.StringIO())

    assert "nothing loaded" in str(caught.value)
    assert "KvK numbers ['12345678'] appear more than once" in str(caught.value)
    assert Creditor.objects.count() == 0


def test_creditor_load_keeps_own_kvk(db, write_file: WriteFile) -> None:
    text = '[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL91ABNA0417164300"\nkvk = "12345678"\n'
    path = write_file("crediteuren.toml", text)
    call_command("creditor", "load", str(path), stdout=io.StringIO())

    path.write_text(text.replace("Zon B.V.", "Zon Energie B.V."))
    call_command("creditor", "load", str(path), stdout=io.StringIO())

    assert Creditor.objects.get().legal_name == "Zon Energie B.V."


def test_example_file_after_readme_creditor(db) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--kvk", "12345678", stdout=io.StringIO())

    call_command("creditor", "load", str(REPO / "examples" / "creditors.toml"), stdout=io.StringIO())

    kvk_numbers = list(Creditor.objects.exclude(kvk_number="").values_list("kvk_number", flat=True))
    assert len(kvk_numbers) == len(set(kvk_numbers)) == 3


def test_database_rejects_shared_kvk(db) -> None:
    from django.db import IntegrityError, transaction

    Creditor.objects.create(slug="acme", legal_name="Acme B.V.", iban="NL20INGB0001234567", kvk_number="12345678")
    Creditor.objects.create(slug="leeg-1", legal_name="Leeg B.V.", iban="NL91ABNA0417164300")
    Creditor.objects.create(slug="leeg-2", legal_name="Leeg 2 B.V.", iban="NL02ABNA0123456789")

    with pytest.raises(IntegrityError), transaction.atomic():
        Creditor.objects.create(slug="zon", legal_name="Zon B.V.", iban="NL39RABO0300065264", kvk_number="12345678")

    assert Creditor.objects.count() == 3


@pytest.mark.parametrize("typed", ["NL004495445B01", "nl 0044.95.445.b01", "NL-004495445-B01"])
def test_creditor_add_rejects_taken_vat_id(db, typed: str) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--vat-id", "NL 0044.95.445.B01", stdout=io.StringIO())

    with pytest.raises(CommandError) as caught:
        call_command("creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban",
                     "NL91ABNA0417164300", "--vat-id", typed, stdout=io.StringIO())

    assert "VAT id NL004495445B01 belongs to creditor 'acme' already" in str(caught.value)
    assert "correct the VAT id of 'zon', or leave it out" in str(caught.value)
    assert list(Creditor.objects.values_list("slug", flat=True)) == ["acme"]


def test_creditor_add_rejects_taken_vat_id_in_dutch(db) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--vat-id", "NL004495445B01", stdout=io.StringIO())

    with pytest.raises(CommandError) as caught:
        call_command("creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban",
                     "NL91ABNA0417164300", "--vat-id", "NL004495445B01", "--lang", "nl", stdout=io.StringIO())

    assert "Btw-id NL004495445B01 hoort al bij crediteur 'acme'" in str(caught.value)


def test_creditor_load_rejects_taken_vat_id(db, write_file: WriteFile) -> None:
    call_command("creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL20INGB0001234567",
                 "--vat-id", "NL004495445B01", stdout=io.StringIO())
    path = write_file("crediteuren.toml", (
        '[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL91ABNA0417164300"\nvat_id = "NL 004495445 B01"\n'
    ))

    with pytest.raises(CommandError, match="VAT id NL004495445B01 belongs to creditor 'acme' already"):
        call_command("creditor", "load", str(path), stdout=io.StringIO())

    assert not Creditor.objects.filter(slug="zon").exists()


def test_creditor_load_rejects_vat_id_twice_in_file(db, write_file: WriteFile) -> None:
    path = write_file("crediteuren.toml", (
        '[[creditor]]\nslug = "zon"\nlegal_name = "Zon B.V."\niban = "NL91ABNA0417164300"\nvat_id = "NL004495445B01"\n'
        '[[creditor]]\nslug = "wind"\nlegal_name = "Wind B.V."\niban = "NL20INGB0001234567"\nvat_id = "NL 004495445 B01"\n'
    ))

    with pytest.raises(CommandError) as caught:
        call_command("creditor", "load", str(path), stdout=io.StringIO())

    assert "nothing loaded" in str(caught.value)
    assert "VAT ids ['NL004495445B01'] appear more than once" in str(caught.value)
    assert Creditor.objects.count() == 0


def test_database_rejects_shared_vat_id(db) -> None:
    from django.db import IntegrityError, transaction

    Creditor.objects.create(slug="acme", legal_name="Acme B.V.", iban="NL20INGB0001234567", vat_id="NL004495445B01")
    Creditor.objects.create(slug="leeg-1", legal_name="Leeg B.V.", iban="NL91ABNA0417164300")
    Creditor.objects.create(slug="leeg-2", legal_name="Leeg 2 B.V.", iban="NL02ABNA0123456789")

    with pytest.raises(IntegrityError), transaction.atomic():
        Creditor.objects.create(slug="zon", legal_name="Zon B.V.", iban="NL39RABO0300065264", vat_id="NL004495445B01")

    assert Creditor.objects.count() == 3


def test_creditor_add_handover_agency(db) -> None:
    call_command(
        "creditor", "add", "--slug", "zon", "--legal-name", "Zon B.V.", "--iban", "NL20INGB0001234567",
        "--handover-agency", " Incasso West B.V. ", stdout=io.StringIO(),
    )

    creditor = Creditor.objects.get(slug="zon")
    assert creditor.handover_agency == "Incasso West B.V."
    assert CreditorInfo.from_model(creditor).handover_agency == "Incasso West B.V."


def test_creditor_load_rejects_long_agency(db, write_file: WriteFile) -> None:
    path = write_file(
        "crediteuren.toml",
        f'[[creditor]]\nslug = "a"\nlegal_name = "A"\niban = "NL91ABNA0417164300"\nhandover_agency = "{"x" * 201}"\n',
    )

    with pytest.raises(CommandError, match="handover_agency .*: longer than 200 characters"):
        call_command("creditor", "load", str(path))

    assert not Creditor.objects.exists()
