"""Inserting rows without model instances, and filtering by many ids in one parameter."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from betaalreis.dunning.bulk import (
    SavedInstances,
    copy_text,
    copy_text_value,
    insert_rows,
    insert_values,
    values_subquery,
)
from betaalreis.dunning.models import InvoiceStage
from betaalreis.ledger.models import Debtor, TimelineEvent, TimelineKind
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 12, 4, 9, 30, tzinfo=ZoneInfo("Europe/Amsterdam"))


def event_row(debtor: Debtor, number: int) -> dict[str, object]:
    return {
        "creditor_id": debtor.creditor_id,
        "debtor_id": debtor.pk,
        "kind": TimelineKind.STAGE,
        "at": AT,
        "source": "test",
        "summary": f"event {number}",
        "data": {"number": number, "items": [1, 2]},
    }


def test_insert_rows_returns_ids_in_row_order():
    debtor = make_debtor(make_creditor())
    TimelineEvent.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, kind=TimelineKind.NOTE, source="test", summary="before"
    )
    rows = [event_row(debtor, number) for number in range(5)]

    ids = insert_rows(TimelineEvent, rows)

    stored = dict(TimelineEvent.objects.filter(pk__in=ids).values_list("pk", "summary"))
    assert [stored[pk] for pk in ids] == [f"event {number}" for number in range(5)]
    assert TimelineEvent.objects.get(pk=ids[2]).data == {"number": 2, "items": [1, 2]}
    assert TimelineEvent.objects.get(pk=ids[0]).at == AT


def test_insert_rows_fills_model_defaults():
    debtor = make_debtor(make_creditor())
    row = event_row(debtor, 1)
    del row["data"]
    del row["at"]

    [pk] = insert_rows(TimelineEvent, [row])

    event = TimelineEvent.objects.get(pk=pk)
    assert event.data == {}
    assert event.at is not None
    assert event.invoice_id is None


def test_insert_values_stores_rows():
    debtor = make_debtor(make_creditor())
    day = dt.date(2026, 12, 4)
    invoices = [make_invoice(debtor, due=day) for _ in range(3)]

    insert_values(
        InvoiceStage,
        ("invoice_id", "stage", "stage_date"),
        [(invoice.pk, f"stage\t{number}", day) for number, invoice in enumerate(invoices)],
    )

    stored = sorted(InvoiceStage.objects.values_list("invoice_id", "stage", "stage_date"))
    assert stored == [(invoice.pk, f"stage\t{number}", day) for number, invoice in enumerate(invoices)]


def test_insert_values_takes_generator():
    debtor = make_debtor(make_creditor())
    day = dt.date(2026, 12, 4)
    invoices = [make_invoice(debtor, due=day) for _ in range(3)]

    insert_values(
        InvoiceStage,
        ("invoice_id", "stage", "stage_date"),
        ((invoice.pk, "reminder", day) for invoice in invoices),
    )

    stored = sorted(InvoiceStage.objects.values_list("invoice_id", "stage", "stage_date"))
    assert stored == [(invoice.pk, "reminder", day) for invoice in invoices]


def test_copy_text_value_escapes_special_characters():
    assert copy_text_value("plain stage") == "plain stage"
    assert copy_text_value("a\tb") == "a\\tb"
    assert copy_text_value("a\nb\rc") == "a\\nb\\rc"
    assert copy_text_value("back\\slash") == "back\\\\slash"


def test_copy_text_stores_escaped_values():
    if connection.vendor != "postgresql":
        pytest.skip("COPY text exists only on PostgreSQL")
    debtor = make_debtor(make_creditor())
    day = dt.date(2026, 12, 4)
    invoices = [make_invoice(debtor, due=day) for _ in range(3)]
    stage = "stage\twith\\special\ncharacters"
    line_end = f"\t{copy_text_value(stage)}\t{day.isoformat()}\n"

    copy_text(
        InvoiceStage,
        ("invoice_id", "stage", "stage_date"),
        ["".join(f"{invoice.pk}{line_end}" for invoice in invoices[:2]), f"{invoices[2].pk}{line_end}"],
    )

    stored = sorted(InvoiceStage.objects.values_list("invoice_id", "stage", "stage_date"))
    assert stored == [(invoice.pk, stage, day) for invoice in invoices]


def test_copy_text_rejects_sqlite():
    if connection.vendor == "postgresql":
        pytest.skip("tests the error on SQLite")
    with pytest.raises(ValueError, match="COPY text needs PostgreSQL, not sqlite"):
        copy_text(InvoiceStage, ("invoice_id", "stage", "stage_date"), ["1\treminder\t2026-12-04\n"])


def test_insert_rows_rejects_model_without_auto_key():
    with pytest.raises(ValueError, match="InvoiceStage has no auto-incremented key"):
        insert_rows(InvoiceStage, [{"invoice_id": 1, "stage": "reminder"}])


def test_saved_instances_match_loaded_rows():
    debtor = make_debtor(make_creditor())
    rows = [event_row(debtor, number) for number in range(3)]
    ids = insert_rows(TimelineEvent, rows)

    saved = SavedInstances(TimelineEvent, ids, rows)

    assert len(saved) == 3
    loaded = list(TimelineEvent.objects.filter(pk__in=ids).order_by("pk"))
    assert saved == loaded
    assert [event.summary for event in saved] == [event.summary for event in loaded]
    assert saved[1].data == loaded[1].data
    assert saved[1].at == loaded[1].at
    assert not saved[0]._state.adding


def test_saved_instances_empty_equals_empty_list():
    assert SavedInstances(TimelineEvent, [], []) == []


def test_values_subquery_filters_by_all_ids():
    creditor = make_creditor()
    debtors = [make_debtor(creditor) for _ in range(4)]
    wanted = [debtors[0].pk, debtors[2].pk, debtors[3].pk]

    found = Debtor.objects.filter(pk__in=values_subquery(wanted, array_type="bigint"))

    assert sorted(found.values_list("pk", flat=True)) == sorted(wanted)


def test_values_subquery_filters_by_text():
    creditor = make_creditor()
    debtors = [make_debtor(creditor) for _ in range(3)]
    numbers = [debtors[1].customer_number, "no-such-number"]

    found = Debtor.objects.filter(customer_number__in=values_subquery(numbers, array_type="text"))

    assert list(found.values_list("pk", flat=True)) == [debtors[1].pk]
