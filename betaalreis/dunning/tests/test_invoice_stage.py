"""The rows a run writes per invoice: its stage (dunning.InvoiceStage), read by the screens, and its outbox links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from betaalreis.dunning.models import InvoiceStage
from betaalreis.dunning.planner import plan_day
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.writer import write_plan
from betaalreis.ledger.models import Invoice
from betaalreis.outbox.models import Communication, CommunicationInvoice
from betaalreis.testing import make_creditor, make_debtor, make_invoice

DAY = dt.date(2026, 12, 4)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BEFORE_STAGE_TABLE = [("dunning", "0003_stage_required"), ("ledger", "0005_invoice_fillfactor")]


@pytest.fixture
def creditor(db):
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def run(creditor, day=DAY):
    plan = plan_day(day, creditor)
    write_plan(plan, source="test", moment=dt.datetime.combine(day, dt.time(9), tzinfo=AMSTERDAM))
    return plan


def stage_rows():
    return sorted(InvoiceStage.objects.values_list("invoice_id", "stage", "stage_date"))


def test_first_stage_inserts_row(creditor):
    invoice = make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))

    plan = run(creditor)

    assert plan.staged_invoice_ids == set()
    assert stage_rows() == [(invoice.pk, "friendly_reminder", DAY)]


def test_next_stage_updates_row(creditor):
    invoice = make_invoice(
        make_debtor(creditor), due=DAY - dt.timedelta(days=14),
        dunning_stage="friendly_reminder", dunning_stage_date=DAY - dt.timedelta(days=11),
    )

    plan = run(creditor)

    assert plan.staged_invoice_ids == {invoice.pk}
    assert stage_rows() == [(invoice.pk, "reminder", DAY)]


def test_one_message_inserts_and_updates(creditor):
    debtor = make_debtor(creditor)
    staged = make_invoice(
        debtor, due=DAY - dt.timedelta(days=15),
        dunning_stage="friendly_reminder", dunning_stage_date=DAY - dt.timedelta(days=12),
    )
    new = make_invoice(debtor, due=DAY - dt.timedelta(days=14))

    plan = run(creditor)

    assert [sorted(message.invoice_ids) for message in plan.messages] == [sorted([staged.pk, new.pk])]
    assert stage_rows() == sorted([(staged.pk, "reminder", DAY), (new.pk, "reminder", DAY)])


def test_invoice_without_due_stage_keeps_row(creditor):
    waiting = make_invoice(
        make_debtor(creditor), due=DAY - dt.timedelta(days=10),
        dunning_stage="friendly_reminder", dunning_stage_date=DAY - dt.timedelta(days=7),
    )

    run(creditor)

    assert stage_rows() == [(waiting.pk, "friendly_reminder", DAY - dt.timedelta(days=7))]


def test_invoice_properties_read_stage(creditor):
    invoice = make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))
    assert invoice.dunning_stage == ""
    assert invoice.dunning_stage_date is None

    run(creditor)
    invoice.refresh_from_db()

    assert invoice.dunning_stage == "friendly_reminder"
    assert invoice.dunning_stage_date == DAY


def test_deleting_invoice_deletes_stage(creditor):
    invoice = make_invoice(
        make_debtor(creditor), due=DAY, dunning_stage="reminder", dunning_stage_date=DAY
    )

    invoice.delete()

    assert not InvoiceStage.objects.exists()


@pytest.mark.django_db
def test_stage_key_column_type():
    # On SQLite an INTEGER primary key is the rowid, which saves an index.
    expected = "integer" if connection.vendor == "sqlite" else "bigint"

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type FROM pragma_table_info('dunning_invoicestage') WHERE name = 'invoice_id'")
        else:
            cursor.execute(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'dunning_invoicestage' AND column_name = 'invoice_id'"
            )
        (declared,) = cursor.fetchone()
    assert declared.lower() == expected


def test_deleting_communication_or_invoice_deletes_links(creditor):
    debtor = make_debtor(creditor)
    first = make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    second = make_invoice(debtor, due=DAY - dt.timedelta(days=3))
    run(creditor)
    communication = Communication.objects.get()
    assert CommunicationInvoice.objects.count() == 2

    first.delete()
    assert list(CommunicationInvoice.objects.values_list("invoice_id", flat=True)) == [second.pk]

    communication.delete()
    assert not CommunicationInvoice.objects.exists()


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    return client


def test_admin_lists_and_filters_stage(admin_client, creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY, dunning_stage="reminder", dunning_stage_date=DAY, number="F-STAGED")
    make_invoice(debtor, due=DAY, number="F-NEW")
    changelist = reverse("admin:ledger_invoice_changelist")

    listed = admin_client.get(changelist).content.decode()
    filtered = admin_client.get(changelist, {"dunning_progress__stage": "reminder"}).content.decode()
    # Column 10 is the stage: list_display follows the action checkbox.
    by_stage = admin_client.get(changelist, {"o": "10"})

    assert "Aanmaningsfase" in listed
    assert "F-STAGED" in listed
    assert "F-NEW" in listed
    assert "F-STAGED" in filtered
    assert "F-NEW" not in filtered
    assert by_stage.status_code == 200
    assert 'class="sortable column-dunning_stage sorted ascending"' in by_stage.content.decode()


def test_admin_debtor_shows_invoice_stage(admin_client, creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY, dunning_stage="final_notice", dunning_stage_date=DAY)

    page = admin_client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content.decode()

    # The admin names the stage as the creditor's policy does.
    assert "Laatste aanmaning" in page


@pytest.mark.django_db(transaction=True)
def test_migration_moves_stages_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_STAGE_TABLE)
    old = executor.loader.project_state(BEFORE_STAGE_TABLE).apps
    creditor = old.get_model("ledger", "Creditor").objects.create(
        slug="old", legal_name="Old B.V.", iban="NL91ABNA0417164300"
    )
    debtor = old.get_model("ledger", "Debtor").objects.create(creditor=creditor, customer_number="D1", name="Jansen")
    old_invoice = old.get_model("ledger", "Invoice")
    values = {
        "creditor": creditor, "debtor": debtor, "issue_date": DAY - dt.timedelta(days=44),
        "due_date": DAY - dt.timedelta(days=30), "total": Decimal("40.00"), "open_amount": Decimal("40.00"),
    }
    staged = old_invoice.objects.create(
        number="F-1", dunning_stage="reminder", dunning_stage_date=DAY - dt.timedelta(days=2), **values
    )
    undated = old_invoice.objects.create(number="F-2", dunning_stage="reminder", **values)
    unstaged = old_invoice.objects.create(number="F-3", **values)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert stage_rows() == [
        (staged.pk, "reminder", DAY - dt.timedelta(days=2)),
        (undated.pk, "reminder", None),
    ]
    assert Invoice.objects.get(pk=unstaged.pk).dunning_stage == ""

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_STAGE_TABLE)
    restored = executor.loader.project_state(BEFORE_STAGE_TABLE).apps.get_model("ledger", "Invoice")

    assert sorted(restored.objects.values_list("number", "dunning_stage", "dunning_stage_date")) == [
        ("F-1", "reminder", DAY - dt.timedelta(days=2)),
        ("F-2", "reminder", None),
        ("F-3", "", None),
    ]

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.parametrize("threshold, analyzed", [(1, True), (2, False)])
def test_large_plan_analyzes_tables(creditor, monkeypatch, threshold: int, analyzed: bool):
    from django.test.utils import CaptureQueriesContext

    from betaalreis.dunning import writer

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL keeps statistics that ANALYZE refreshes")
    monkeypatch.setattr(writer, "ANALYZE_AFTER_MESSAGES", threshold)
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=3))

    with CaptureQueriesContext(connection) as queries:
        run(creditor)

    statements = [query["sql"] for query in queries if query["sql"].startswith("ANALYZE")]
    assert (len(statements) == 3) is analyzed
    assert any("outbox_communication" in statement for statement in statements) is analyzed
    assert not any("ledger_timelineevent" in statement for statement in statements)
