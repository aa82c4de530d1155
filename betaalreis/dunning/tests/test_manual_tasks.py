"""The credit manager's task in place of a 14-day letter whose name the letter font cannot print.

The consumer did not agree to electronic communication, so the letter may
only go by post. The run stores the task once on the debtor timeline,
counts it while it stays open, and closes it when the letter can go or
its invoices closed.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from betaalreis.dunning.manual_tasks import DONE, OPEN, TASK_TYPE, open_tasks
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.electronic_agreement import do_set_electronic_agreement
from betaalreis.ledger.models import InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

# A Tuesday well before the real date the tests run on, so the run replays it at 09:00.
DAY = dt.date(2026, 11, 24)
NAME = "李小龍"


@pytest.fixture
def debtor(creditor):
    debtor = make_debtor(creditor, name=NAME, mobile="")
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10), number="F-100")
    return debtor


def task_events(debtor) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(debtor=debtor, kind=TimelineKind.TASK).order_by("id"))


def run_report(creditor, day: dt.date, language: str = "nl") -> str:
    output = io.StringIO()
    call_command("run", "--date", day.isoformat(), "--creditor", creditor.slug, "--lang", language, stdout=output)
    return " ".join(output.getvalue().split())


def test_first_run_stores_task(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)

    (event,) = task_events(debtor)
    assert event.data["task"] == TASK_TYPE
    assert event.data["state"] == OPEN
    assert event.data["stage"] == "fourteen_day_letter"
    assert event.data["invoices"] == ["F-100"]
    assert NAME in event.data["letters"]
    assert event.summary.startswith("Veertiendagenbrief niet verstuurd: het lettertype kan de tekens")
    assert "Facturen: F-100." in event.summary
    assert "BETAALREIS_LETTER_FONT" in event.summary
    assert event.data["summary_en"].startswith("Fourteen-day letter not sent: the letter font cannot print")
    assert "Invoices: F-100." in event.data["summary_en"]
    assert event.at.date() == DAY
    assert event.source == f"run {DAY.isoformat()}"


def test_summary_fits_column(creditor, betaalreis_home):
    debtor = make_debtor(creditor, name="龍" * 60, city="東京都千代田区" * 5, mobile="")
    for index in range(8):
        make_invoice(debtor, "10.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                     dunning_stage_date=DAY - dt.timedelta(days=10), number=f"FACTUUR-2026-{index:06d}")

    run_cycle(DAY, creditor)

    (event,) = task_events(debtor)
    assert len(event.summary) <= 500
    assert event.summary.endswith("De volgende run verstuurt de brief dan.")
    assert "Facturen: FACTUUR-2026-000000, FACTUUR-2026-000001" in event.summary
    assert "and 3 more" in event.data["summary_en"]
    assert len(event.data["invoices"]) == 8


@pytest.mark.parametrize("later", [0, 1, 7])
def test_second_run_stores_nothing(debtor, betaalreis_home, later: int):
    run_cycle(DAY, debtor.creditor)

    summary = run_cycle(DAY + dt.timedelta(days=later), debtor.creditor)

    assert len(task_events(debtor)) == 1
    (creditor_run,) = summary.creditors
    assert creditor_run.tasks.stored == []
    assert creditor_run.tasks.still_open == [debtor.pk]
    assert creditor_run.tasks.done == []
    assert not Communication.objects.exists()
    assert debtor.invoices.get().dunning_progress.stage == "reminder"


@pytest.mark.parametrize("later", [0, 1])
def test_second_report_counts_open_task(debtor, betaalreis_home, later: int):
    first = run_report(debtor.creditor, DAY)

    second = run_report(debtor.creditor, DAY + dt.timedelta(days=later))

    assert f"Taak: veertiendagenbrief aan {debtor.customer_number} niet verstuurd" in first
    assert "De taak staat op de tijdlijn van de debiteur." in first
    assert "eerdere taak" not in first
    assert "Taak: veertiendagenbrief aan" not in second
    assert f"1 eerdere taak voor een veertiendagenbrief staat nog open: {debtor.customer_number}" in second


def test_report_in_english(debtor, betaalreis_home):
    first = run_report(debtor.creditor, DAY, "en")

    second = run_report(debtor.creditor, DAY + dt.timedelta(days=1), "en")

    assert f"Task: fourteen-day letter to {debtor.customer_number} not sent" in first
    assert "The task is on the debtor's timeline." in first
    assert f"1 earlier task for a fourteen-day letter is still open: {debtor.customer_number}" in second


def test_report_names_only_new_tasks(debtor, creditor, betaalreis_home):
    run_cycle(DAY, creditor)
    newcomer = make_debtor(creditor, name="محمد", mobile="")
    make_invoice(newcomer, "60.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))

    report = run_report(creditor, DAY + dt.timedelta(days=1))

    assert f"Taak: veertiendagenbrief aan {newcomer.customer_number} niet verstuurd" in report
    assert f"Taak: veertiendagenbrief aan {debtor.customer_number}" not in report
    assert f"1 eerdere taak voor een veertiendagenbrief staat nog open: {debtor.customer_number}" in report
    assert len(task_events(newcomer)) == 1


def test_new_invoice_changes_task(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)
    make_invoice(debtor, "40.00", due=DAY - dt.timedelta(days=20), number="F-200")

    summary = run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    first, changed = task_events(debtor)
    assert changed.summary.startswith("Taak gewijzigd. Veertiendagenbrief niet verstuurd")
    assert changed.data["summary_en"].startswith("Task changed. Fourteen-day letter not sent")
    assert changed.data["invoices"] == ["F-100", "F-200"]
    (creditor_run,) = summary.creditors
    assert [task.debtor_id for task in creditor_run.tasks.stored] == [debtor.pk]
    assert creditor_run.tasks.still_open == []
    assert list(open_tasks(debtor.creditor_id)) == [(debtor.pk, "fourteen_day_letter")]


def test_fixed_name_closes_task(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)
    debtor.name = "Li Xiaolong"
    debtor.save()

    summary = run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    letter = Communication.objects.get(debtor=debtor)
    assert letter.channel == "letter"
    assert letter.stage == "fourteen_day_letter"
    assert debtor.invoices.get().dunning_progress.stage == "fourteen_day_letter"
    opened, done = task_events(debtor)
    assert done.data["state"] == DONE
    assert done.summary == "Taak afgerond: Veertiendagenbrief gepland per brief."
    assert done.data["summary_en"] == "Task done: Fourteen-day letter planned by letter."
    (creditor_run,) = summary.creditors
    assert creditor_run.tasks.done == [debtor.pk]
    assert creditor_run.tasks.still_open == []
    assert open_tasks(debtor.creditor_id) == {}


def test_done_task_not_counted_again(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)
    debtor.name = "Li Xiaolong"
    debtor.save()
    run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    summary = run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    (creditor_run,) = summary.creditors
    assert creditor_run.tasks.done == []
    assert creditor_run.tasks.still_open == []
    assert len(task_events(debtor)) == 2


def test_agreement_closes_task(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)
    do_set_electronic_agreement(debtor, True, source="test")

    report = run_report(debtor.creditor, DAY + dt.timedelta(days=1))

    assert Communication.objects.filter(debtor=debtor, stage="fourteen_day_letter").exists()
    assert task_events(debtor)[-1].data["state"] == DONE
    assert f"1 taak voor een veertiendagenbrief afgerond (brief gepland of facturen gesloten): " \
           f"{debtor.customer_number}" in report


def test_paid_invoices_close_task(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)
    invoice = debtor.invoices.get()
    invoice.status = InvoiceStatus.PAID
    invoice.open_amount = Decimal("0.00")
    invoice.save()

    summary = run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    closed = task_events(debtor)[-1]
    assert closed.data["state"] == DONE
    assert closed.data["channel"] == ""
    assert closed.summary == "Taak vervallen: Veertiendagenbrief niet meer nodig, want geen van de facturen staat nog open."
    (creditor_run,) = summary.creditors
    assert creditor_run.tasks.done == [debtor.pk]


def test_paused_debtor_keeps_task_open(debtor, betaalreis_home, monkeypatch):
    run_cycle(DAY, debtor.creditor)
    monkeypatch.setattr("betaalreis.dunning.run.paused_debtors", lambda creditor, day: frozenset({debtor.pk}))

    summary = run_cycle(DAY + dt.timedelta(days=1), debtor.creditor)

    (creditor_run,) = summary.creditors
    assert creditor_run.tasks.still_open == [debtor.pk]
    assert creditor_run.tasks.done == []
    assert len(task_events(debtor)) == 1


def test_other_creditor_counts_no_task(debtor, betaalreis_home):
    from betaalreis.dunning.policies import seed_default_policies

    run_cycle(DAY, debtor.creditor)
    other = make_creditor("beta")
    seed_default_policies(other)

    summary = run_cycle(DAY + dt.timedelta(days=1))

    still_open = {creditor_run.creditor.slug: creditor_run.tasks.still_open for creditor_run in summary.creditors}
    assert still_open == {debtor.creditor.slug: [debtor.pk], "beta": []}
    assert open_tasks(other.pk) == {}


@pytest.mark.parametrize(("language", "kind", "summary"), [
    ("nl", "Taak", "Veertiendagenbrief niet verstuurd: het lettertype kan de tekens"),
    ("en", "Task", "Fourteen-day letter not sent: the letter font cannot print"),
])
def test_admin_timeline_shows_task(debtor, client, betaalreis_home, language: str, kind: str, summary: str):
    run_cycle(DAY, debtor.creditor)
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    page = client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk]), HTTP_ACCEPT_LANGUAGE=language)

    text = page.content.decode()
    assert f">{kind}<" in text
    assert summary in text
