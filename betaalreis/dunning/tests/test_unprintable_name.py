"""A 14-day letter to a name the letter font cannot print.

It goes out by email without the PDF when the consumer agreed to electronic
communication, and otherwise becomes a task for the credit manager.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from betaalreis.dunning.run import run_cycle
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Tuesday well before the real date the tests run on, so the run replays it at 09:00.
DAY = dt.date(2026, 11, 24)
NAME = "李小龍 محمد"


@pytest.fixture
def debtor(creditor):
    debtor = make_debtor(creditor, name=NAME, mobile="", electronic_agreement=True)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))
    return debtor


def sent_email(betaalreis_home: Path) -> email.message.EmailMessage:
    (path,) = (betaalreis_home / "outbox" / "email").rglob("*.eml")
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def test_unprintable_name_letter_goes_by_email(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)

    letter = Communication.objects.get(channel="letter")
    assert letter.status == CommunicationStatus.FAILED
    assert letter.last_error.startswith("letter_unprintable_name")
    fallback = Communication.objects.get(channel="email")
    assert fallback.stage == "fourteen_day_letter"
    assert fallback.status == CommunicationStatus.SENT


def test_email_without_pdf_says_so(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor)

    message = sent_email(betaalreis_home)
    attachments = [part.get_content_type() for part in message.iter_attachments()]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "application/pdf" not in attachments
    assert "als brief in de bijlage" not in text
    assert "zonder pdf-bijlage" in text
    assert "zonder pdf-bijlage" in html
    assert NAME in text
    assert "veertien dagen" in text


def test_email_without_pdf_english(creditor, betaalreis_home):
    debtor = make_debtor(creditor, name=NAME, mobile="", language="en", electronic_agreement=True)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))

    run_cycle(DAY, creditor)

    text = sent_email(betaalreis_home).get_body(("plain",)).get_content()
    assert "without a PDF attachment" in text
    assert "also attached as a letter" not in text


def test_fallback_sent_in_same_dispatch(debtor, betaalreis_home):
    run_cycle(DAY, debtor.creditor, dispatch_messages=False)
    # A dispatch at the real time, whose due_by lies before the moment the
    # fallback is planned, as in a run for today.
    due_by = dt.datetime.combine(DAY, dt.time(10), tzinfo=AMSTERDAM)

    summary = dispatch(due_by=due_by, creditor=debtor.creditor)

    fallback = Communication.objects.get(channel="email")
    assert fallback.status == CommunicationStatus.SENT
    assert summary.counts[("email", "fourteen_day_letter", "sent")] == 1


def test_run_summary_names_failure_reason(debtor, english_reports):
    output = io.StringIO()

    call_command("run", "--date", DAY.isoformat(), "--creditor", debtor.creditor.slug, stdout=output)

    text = " ".join(output.getvalue().split())
    assert f"Letter (Fourteen-day letter) failed for {debtor.customer_number}: The letter font lacks" in text
    assert "The letter font lacks the characters" in text
    assert "letter_unprintable_name" not in text


@pytest.mark.parametrize(("language", "reason"), [
    ("nl", "Het lettertype van de brief heeft de tekens"),
    ("en", "The letter font lacks the characters"),
])
def test_admin_lists_failure_reason(debtor, client, language: str, reason: str):
    run_cycle(DAY, debtor.creditor)
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    page = client.get(reverse("admin:outbox_communication_changelist"), HTTP_ACCEPT_LANGUAGE=language)

    text = page.content.decode()
    assert reason in text
    assert "letter_unprintable_name" not in text


@pytest.fixture
def debtor_without_agreement(creditor):
    debtor = make_debtor(creditor, name=NAME, mobile="")
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))
    return debtor


def test_unprintable_name_without_agreement_sends_nothing(debtor_without_agreement, betaalreis_home):
    summary = run_cycle(DAY, debtor_without_agreement.creditor)

    assert not Communication.objects.exists()
    (creditor_run,) = summary.creditors
    (task,) = creditor_run.plan.manual_tasks
    assert task.debtor_id == debtor_without_agreement.pk
    assert task.stage_code == "fourteen_day_letter"
    assert "李" in task.letters
    assert "م" in task.letters
    stage = debtor_without_agreement.invoices.get().dunning_progress.stage
    assert stage == "reminder"


def test_font_without_ascii_reads_every_name(debtor_without_agreement, creditor, betaalreis_home, monkeypatch):
    from reportlab.pdfbase import pdfmetrics

    from betaalreis.channels.pdf.fonts import letter_fonts

    # A letter font without ASCII letters cannot print plain names either,
    # so the planner reads every debtor's lines instead of the non-ASCII ones.
    monkeypatch.setattr(pdfmetrics.getFont(letter_fonts().regular), "_draws_ascii", False)
    plain = make_debtor(creditor, name="Jan de Vries", mobile="")
    make_invoice(plain, "50.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))

    summary = run_cycle(DAY, creditor)

    (creditor_run,) = summary.creditors
    assert [task.debtor_id for task in creditor_run.plan.manual_tasks] == [debtor_without_agreement.pk]
    assert Communication.objects.filter(debtor=plain, channel="letter").count() == 1


@pytest.mark.parametrize(("language", "expected"), [
    ("nl", "Taak: veertiendagenbrief aan {number} niet verstuurd"),
    ("en", "Task: fourteen-day letter to {number} not sent"),
])
def test_run_summary_lists_manual_task(debtor_without_agreement, language: str, expected: str):
    output = io.StringIO()

    call_command(
        "run", "--date", DAY.isoformat(), "--creditor", debtor_without_agreement.creditor.slug,
        "--lang", language, stdout=output,
    )

    text = " ".join(output.getvalue().split())
    assert expected.format(number=debtor_without_agreement.customer_number) in text
    assert "BETAALREIS_LETTER_FONT" in text
