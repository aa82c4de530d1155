"""Forms that edit a debtor or creditor address check and normalise a Dutch postal code as imports do."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict

from betaalreis.ledger.admin import DebtorAdminForm
from betaalreis.testing import make_creditor, make_debtor

pytestmark = pytest.mark.django_db

DUTCH_ERROR = "geen Nederlandse postcode; schrijf vier cijfers en twee letters, zoals 1234 AB"


@pytest.mark.parametrize(("country", "typed", "stored"), [
    ("NL", "9712cd", "9712 CD"),
    ("NL", "97 12 cd", "9712 CD"),
    ("NL", " 9712 CD ", "9712 CD"),
    ("BE", "1000", "1000"),
    ("GB", " SW1A 1AA ", "SW1A 1AA"),
    ("NL", "", ""),
])
def test_postal_code_normalised(country, typed, stored):
    creditor = make_creditor(postal_code=typed, country=country)
    debtor = make_debtor(creditor, postal_code=typed, country=country)

    creditor.full_clean()
    debtor.full_clean()

    assert debtor.postal_code == stored
    assert creditor.postal_code == stored


@pytest.mark.parametrize("typed", ["101", "97 12", "9712 C", "ABCD 12"])
def test_dutch_postal_code_rejected(typed):
    creditor = make_creditor()
    debtor = make_debtor(creditor, postal_code=typed)
    creditor.postal_code = typed

    with pytest.raises(ValidationError) as debtor_error:
        debtor.full_clean()
    with pytest.raises(ValidationError) as creditor_error:
        creditor.full_clean()

    assert debtor_error.value.message_dict["postal_code"] == [f"{typed}: {DUTCH_ERROR}"]
    assert creditor_error.value.message_dict["postal_code"] == [f"{typed}: {DUTCH_ERROR}"]


def test_foreign_postal_code_too_long():
    debtor = make_debtor(make_creditor(), postal_code="10115", country="DE")
    debtor.postal_code = "X" * 17

    with pytest.raises(ValidationError) as error:
        debtor.full_clean()

    assert "postal_code" in error.value.message_dict


def test_debtor_admin_form_normalises():
    debtor = make_debtor(make_creditor())
    data = {key: value for key, value in model_to_dict(debtor).items() if value is not None}
    data["extra_emails"] = ""
    data["opted_out_channels"] = "[]"

    typed = DebtorAdminForm(data={**data, "postal_code": "9712cd"}, instance=debtor)
    wrong = DebtorAdminForm(data={**data, "postal_code": "101"}, instance=debtor)

    assert typed.is_valid(), typed.errors
    assert typed.cleaned_data["postal_code"] == "9712cd"
    assert typed.instance.postal_code == "9712 CD"
    assert not wrong.is_valid()
    assert wrong.errors["postal_code"] == [f"101: {DUTCH_ERROR}"]
