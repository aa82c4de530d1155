"""Migration ledger 0016 (unique VAT id of creditors): compact forms, and creditors that already share an id."""

from __future__ import annotations

import pytest

from betaalreis.testing import migrate_to, migrate_to_latest

BEFORE = [("ledger", "0015_creditor_kvk_number_unique")]
AFTER = [("ledger", "0016_creditor_vat_id_unique")]


@pytest.mark.django_db(transaction=True)
def test_migration_stores_compact_vat_ids():
    old_apps = migrate_to(BEFORE)
    try:
        creditors = old_apps.get_model("ledger", "Creditor").objects
        creditors.create(slug="acme", legal_name="Acme B.V.", iban="NL20INGB0001234567", vat_id="nl 0044.95.445.B01")
        creditors.create(slug="zon", legal_name="Zon B.V.", iban="NL91ABNA0417164300", vat_id="NL123")

        migrate_to(AFTER)

        assert sorted(creditors.values_list("slug", "vat_id")) == [("acme", "NL004495445B01"), ("zon", "NL123")]

    finally:
        migrate_to_latest()


@pytest.mark.django_db(transaction=True)
def test_migration_stops_on_shared_vat_id():
    old_apps = migrate_to(BEFORE)
    try:
        creditors = old_apps.get_model("ledger", "Creditor").objects
        creditors.create(slug="acme", legal_name="Acme B.V.", iban="NL20INGB0001234567", vat_id="NL004495445B01")
        creditors.create(slug="zon", legal_name="Zon B.V.", iban="NL91ABNA0417164300", vat_id="NL 004495445 B01")

        with pytest.raises(RuntimeError) as caught:
            migrate_to(AFTER)

        assert "creditors share one: VAT id NL004495445B01: acme, zon" in str(caught.value)
        assert "betaalreis migrate" in str(caught.value)

    finally:
        old_apps.get_model("ledger", "Creditor").objects.filter(slug="zon").update(vat_id="")
        migrate_to_latest()
