"""Migrations dunning 0011 and outbox 0006, which move the restart and raise marks from link row ids to communication ids."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from betaalreis.testing import make_creditor, make_debtor, make_invoice, migrate_to, migrate_to_latest

BEFORE = [("dunning", "0010_principal_raise"), ("outbox", "0005_idempotency_key_without_like_index")]
AFTER = [("outbox", "0006_link_composite_key")]
DAY = dt.date(2026, 9, 1)


def link_columns() -> set[str]:
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, "outbox_communicationinvoice")
    return {column.name for column in description}


def communications_before_mark(apps, invoice_id: int, mark: int, *, by: str) -> set[int]:
    """Return the communication ids of the invoice's link rows at or below `mark`, compared by `by`."""
    rows = apps.get_model("outbox", "CommunicationInvoice").objects.filter(invoice_id=invoice_id)
    return set(rows.filter(**{f"{by}__lte": mark}).values_list("communication_id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_marks_survive_both_directions():
    old_apps = migrate_to(BEFORE)
    try:
        creditor = make_creditor()
        debtor = make_debtor(creditor)
        restarted = make_invoice(debtor, "100.00", due=DAY)
        raised = make_invoice(debtor, "200.00", due=DAY)
        # The model of that migration state, because later migrations add columns to the current one.
        communications = old_apps.get_model("outbox", "Communication").objects
        first, second, third = (
            communications.create(
                creditor_id=creditor.pk, debtor_id=debtor.pk, channel="email", stage="reminder", language="nl",
                idempotency_key=f"key-{number}", run_date=DAY, total_amount=Decimal("300.00"),
            )
            for number in range(3)
        )
        links = old_apps.get_model("outbox", "CommunicationInvoice").objects

        def link(communication, invoice):
            return links.create(communication_id=communication.pk, invoice_id=invoice.pk, open_amount=invoice.open_amount)

        link(first, restarted)
        link(first, raised)
        second_restarted = link(second, restarted)
        # Dispatch takes a stale invoice out of a message, so the marked row may be gone.
        deleted_mark = link(second, raised).pk
        links.filter(pk=deleted_mark).delete()
        link(third, restarted)

        now = timezone.now()
        old_apps.get_model("dunning", "DunningRestart").objects.create(
            creditor_id=creditor.pk, invoice_id=restarted.pk, cause="import", restarted_at=now,
            principal=Decimal("100.00"), due_date=DAY, last_message_item_id=second_restarted.pk, source="test",
        )
        old_apps.get_model("dunning", "RaiseAfterLetter").objects.create(
            creditor_id=creditor.pk, invoice_id=raised.pk, raised_at=now, unnamed_amount=Decimal("50.00"),
            last_message_item_id=deleted_mark, source="test",
        )

        new_apps = migrate_to(AFTER)
        restart = new_apps.get_model("dunning", "DunningRestart").objects.get()
        raise_record = new_apps.get_model("dunning", "RaiseAfterLetter").objects.get()

        assert "id" not in link_columns()
        assert restart.last_communication_id == second.pk
        assert raise_record.last_communication_id == first.pk
        assert communications_before_mark(
            new_apps, restarted.pk, restart.last_communication_id, by="communication_id"
        ) == {first.pk, second.pk}

        old_apps = migrate_to(BEFORE)
        restart = old_apps.get_model("dunning", "DunningRestart").objects.get()
        raise_record = old_apps.get_model("dunning", "RaiseAfterLetter").objects.get()
        links = old_apps.get_model("outbox", "CommunicationInvoice").objects

        assert "id" in link_columns()
        assert communications_before_mark(
            old_apps, restarted.pk, restart.last_message_item_id, by="id"
        ) == {first.pk, second.pk}
        assert communications_before_mark(
            old_apps, raised.pk, raise_record.last_message_item_id, by="id"
        ) == {first.pk}
        later = link(third, raised)
        assert later.pk > max(links.exclude(pk=later.pk).values_list("pk", flat=True))
    finally:
        migrate_to_latest()
