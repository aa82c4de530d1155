"""Migration ledger 0015 (unique KvK number of creditors) with creditors that already share one."""

from __future__ import annotations

import pytest

from betaalreis.testing import migrate_to, migrate_to_latest

BEFORE = [("ledger", "0014_creditor_access")]
AFTER = [("ledger", "0015_creditor_kvk_number_unique")]


@pytest.mark.django_db(transaction=True)
def test_migration_stops_on_shared_kvk():
    old_apps = migrate_to(BEFORE)
    try:
        creditors = old_apps.get_model("ledger", "Creditor").objects
        creditors.create(slug="acme", legal_name="Acme B.V.", iban="NL20INGB0001234567", kvk_number="12345678")
        creditors.create(slug="zon", legal_name="Zon B.V.", iban="NL91ABNA0417164300", kvk_number="12345678")
        creditors.create(slug="wind", legal_name="Wind B.V.", iban="NL02ABNA0123456789")

        with pytest.raises(RuntimeError) as caught:
            migrate_to(AFTER)

        assert "creditors share one: KvK 12345678: acme, zon" in str(caught.value)
        assert "betaalreis migrate" in str(caught.value)
        assert sorted(creditors.values_list("slug", "kvk_number")) == [
            ("acme", "12345678"), ("wind", ""), ("zon", "12345678"),
        ]

    finally:
        old_apps.get_model("ledger", "Creditor").objects.filter(slug="zon").update(kvk_number="87654321")
        migrate_to_latest()
