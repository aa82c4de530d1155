"""Two runs at once: they take turns per creditor, and one creditor's error skips only that creditor."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from betaalreis.dunning import run as run_module
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import RunSummary, run_cycle
from betaalreis.outbox.models import Communication
from betaalreis.testing import make_creditor, make_debtor, make_invoice

DAY = dt.date(2026, 11, 20)


def creditor_with_due_invoices(slug: str, count: int = 3):
    creditor = make_creditor(slug)
    seed_default_policies(creditor)
    for _ in range(count):
        make_invoice(make_debtor(creditor), "120.00", due=DAY - dt.timedelta(days=3))
    return creditor


def fail_planning_of(monkeypatch, slug: str) -> None:
    real_plan_day = run_module.plan_day

    def plan_day(day, creditor, **kwargs):
        if creditor.slug == slug:
            raise RuntimeError(f"planning broke for {slug}\nsecond line that the summary leaves out")
        return real_plan_day(day, creditor, **kwargs)

    monkeypatch.setattr(run_module, "plan_day", plan_day)


@pytest.mark.django_db
def test_failing_creditor_skips_only_itself(monkeypatch, betaalreis_home):
    broken = creditor_with_due_invoices("broken")
    healthy = creditor_with_due_invoices("healthy")
    fail_planning_of(monkeypatch, "broken")

    summary = run_cycle(DAY)

    assert [failure.creditor.slug for failure in summary.failed_creditors] == ["broken"]
    assert summary.failed_creditors[0].error == "RuntimeError: planning broke for broken"
    assert [creditor_run.creditor.slug for creditor_run in summary.creditors] == ["healthy"]
    assert Communication.objects.filter(creditor=healthy).count() == 3
    assert not Communication.objects.filter(creditor=broken).exists()
    assert summary.dispatched.total("sent") == 3


@pytest.mark.django_db
def test_failing_creditor_rolls_back_payments_step(monkeypatch, betaalreis_home):
    creditor = creditor_with_due_invoices("broken", count=1)
    fail_planning_of(monkeypatch, "broken")
    calls = []
    real_apply_payments = run_module.apply_payments

    def apply_payments(current, day=None):
        calls.append(current.slug)
        make_debtor(current, customer_number="WRITTEN-BEFORE-ERROR")
        return real_apply_payments(current, day)

    monkeypatch.setattr(run_module, "apply_payments", apply_payments)

    summary = run_cycle(DAY, creditor)

    assert calls == ["broken"]
    assert len(summary.failed_creditors) == 1
    assert not creditor.debtors.filter(customer_number="WRITTEN-BEFORE-ERROR").exists()


@pytest.mark.django_db
def test_run_command_exits_nonzero_on_failure(monkeypatch, betaalreis_home):
    creditor_with_due_invoices("broken")
    creditor_with_due_invoices("healthy")
    fail_planning_of(monkeypatch, "broken")
    output = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("run", "--date", DAY.isoformat(), stdout=output)

    # The console wraps long lines at 110 characters.
    printed = " ".join(output.getvalue().split())
    assert "broken: run mislukt" in printed
    assert "RuntimeError: planning broke for broken." in printed
    assert "second line" not in printed
    assert "healthy: " in printed
    assert "--creditor broken" in printed
    assert "De run is mislukt voor 1 crediteur: broken." in str(raised.value)


@pytest.mark.django_db
def test_run_command_failure_in_english(monkeypatch, betaalreis_home):
    creditor_with_due_invoices("broken")
    fail_planning_of(monkeypatch, "broken")
    output = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("run", "--date", DAY.isoformat(), "--lang", "en", stdout=output)

    assert "broken: run failed" in output.getvalue()
    assert "The run failed for 1 creditor: broken." in str(raised.value)


def _waiting_for_lock(other_pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [other_pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


@pytest.mark.django_db(transaction=True)
def test_second_run_waits_for_first(monkeypatch, betaalreis_home):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serializes whole transactions instead")
    creditor = creditor_with_due_invoices("acme")
    first_planning = threading.Event()
    release_first = threading.Event()
    real_plan_day = run_module.plan_day

    def plan_day(day, current, **kwargs):
        if threading.current_thread().name == "first":
            first_planning.set()
            assert release_first.wait(60), "the test never released the first run"
        return real_plan_day(day, current, **kwargs)

    monkeypatch.setattr(run_module, "plan_day", plan_day)
    summaries: dict[str, RunSummary] = {}
    backend_pids: dict[str, int] = {}

    def run(name: str) -> None:
        try:
            backend_pids[name] = connections["default"].cursor().connection.info.backend_pid
            summaries[name] = run_cycle(DAY, creditor, dispatch_messages=False)
        finally:
            connections.close_all()

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert first_planning.wait(60)
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    # Poll until the second run blocks on the creditor's row lock.
    for _ in range(600):
        if "second" in backend_pids and _waiting_for_lock(backend_pids["second"]):
            break
        time.sleep(0.05)
    else:
        release_first.set()
        pytest.fail("the second run never waited for the creditor's lock")
    release_first.set()
    first.join(60)
    second.join(60)

    assert summaries["first"].failed_creditors == []
    assert summaries["second"].failed_creditors == []
    assert len(summaries["first"].creditors[0].written.created) == 3
    assert summaries["first"].creditors[0].waited_for_other_run is False
    assert summaries["second"].creditors[0].written.created == []
    assert summaries["second"].creditors[0].waited_for_other_run is True
    assert Communication.objects.filter(creditor=creditor).count() == 3
