"""The run holds invoices whose claim may be time-barred, names them, and chases them after release."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from betaalreis.dunning.models import LimitationRelease
from betaalreis.dunning.planner import plan_day
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import DebtorKind, InvoiceStatus, Payment, PaymentSource, TimelineEvent
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def simulation_allowed(settings):
    """These creditors are made up, so `run --simulate` may move their stages on."""
    settings.ALLOW_SIMULATE = True

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2027, 1, 7)
OLD_DUE = dt.date(2015, 1, 9)


@pytest.fixture
def debtor(creditor):
    return make_debtor(creditor, kind=DebtorKind.BUSINESS, customer_number="OLD-1")


def run_report(creditor, *options: str, day: dt.date = DAY) -> str:
    output = io.StringIO()
    # DAY may be after today, so the run is simulated.
    call_command("run", "--date", day.isoformat(), "--creditor", creditor.slug, "--simulate", *options,
                 stdout=output)
    return " ".join(output.getvalue().split())


def test_old_invoice_held_and_named(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")
    recent = make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=45))

    plan = plan_day(DAY, creditor)

    assert set(plan.limitation_holds) == {old.pk}
    planned = [invoice_id for message in plan.messages for invoice_id in message.invoice_ids]
    assert planned == [recent.pk]


def test_run_summary_warns_in_dutch_and_english(creditor, debtor):
    make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")

    dutch = run_report(creditor)
    english = run_report(creditor, "--lang", "en", day=DAY + dt.timedelta(days=1))

    assert "let op: 1 factuur niet aangemaand wegens mogelijke verjaring" in dutch
    assert "F2015-001 (vervaldatum 09-01-2015)" in dutch
    assert "aanmaning buiten Betaalreis (art. 3:317 BW)" in dutch
    assert "erkenning door de debiteur (art. 3:318 BW)" in dutch
    assert "nieuwe termijn van 5 jaar (art. 3:319 BW)" in dutch
    assert f"betaalreis limitation release FACTUURNUMMER --creditor {creditor.slug}" in dutch
    assert "note: 1 invoice not chased because its claim may be time-barred" in english
    assert "F2015-001 (due 2015-01-09)" in english
    assert Communication.objects.count() == 0


def test_release_and_hold_again(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")
    output = io.StringIO()

    call_command("limitation", "release", "F2015-001", "--creditor", creditor.slug,
                 "--reason", "aanmaning per brief van 2022-03-01 in het dossier", "--by", "tester", stdout=output)
    released = plan_day(DAY, creditor)
    call_command("limitation", "hold", "F2015-001", "--creditor", creditor.slug, "--by", "tester", stdout=output)
    held_again = plan_day(DAY, creditor)

    assert released.limitation_holds == {}
    assert [message.invoice_ids for message in released.messages] == [[old.pk]]
    assert set(held_again.limitation_holds) == {old.pk}
    notes = TimelineEvent.objects.filter(invoice=old).values_list("summary", flat=True)
    assert any("vrijgegeven ondanks mogelijke verjaring: aanmaning per brief" in note for note in notes)
    assert any("ingetrokken" in note for note in notes)


def test_release_needs_a_known_invoice(creditor):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="niet gevonden"):
        call_command("limitation", "release", "NOPE", "--creditor", creditor.slug, "--reason", "x")
    with pytest.raises(CommandError, match="not found"):
        call_command("limitation", "release", "NOPE", "--creditor", creditor.slug, "--reason", "x", "--lang", "en")


def limitation_command(*arguments: str) -> str:
    output = io.StringIO()
    call_command("limitation", *arguments, stdout=output)
    return output.getvalue()


def test_second_release_writes_nothing(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")
    release = ("release", "F2015-001", "--creditor", creditor.slug, "--by", "tester")

    first = limitation_command(*release, "--reason", "aanmaning per brief van 2022-03-01")
    second = limitation_command(*release, "--reason", "erkenning per e-mail")

    assert "F2015-001: vrijgegeven" in first
    assert "F2015-001: was al vrijgegeven; er is niets gewijzigd." in second
    notes = list(TimelineEvent.objects.filter(invoice=old).values_list("summary", flat=True))
    assert len(notes) == 1
    assert "aanmaning per brief van 2022-03-01" in notes[0]
    assert old.limitation_release.reason == "aanmaning per brief van 2022-03-01"


def test_limitation_command_speaks_dutch_and_english(creditor, debtor):
    make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")
    release = ("release", "F2015-001", "--creditor", creditor.slug, "--reason", "erkenning")
    hold = ("hold", "F2015-001", "--creditor", creditor.slug)

    released = limitation_command(*release, "--lang", "en")
    released_again = limitation_command(*release, "--lang", "en")
    held = limitation_command(*hold)
    held_again = limitation_command(*hold, "--lang", "en")

    assert released == "F2015-001: released; the next run chases this invoice again.\n"
    assert released_again == "F2015-001: was already released; nothing changed.\n"
    assert held == "F2015-001: weer aangehouden zolang de vordering verjaard kan zijn.\n"
    assert held_again == "F2015-001: was not released; nothing changed.\n"


def test_release_of_paid_invoice_changes_nothing(creditor, debtor):
    paid = make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001", status=InvoiceStatus.PAID,
                        open_amount=Decimal("0.00"))
    release = ("release", "F2015-001", "--creditor", creditor.slug, "--reason", "erkenning")

    dutch = limitation_command(*release)
    english = limitation_command(*release, "--lang", "en")

    assert dutch == (
        "F2015-001: niet vrijgegeven, want de factuur staat niet open (betaald) en wordt dus niet aangemaand; "
        "er is niets gewijzigd.\n"
    )
    assert english == (
        "F2015-001: not released, because the invoice is not open (paid) and the run does not chase it; "
        "nothing changed.\n"
    )
    assert not LimitationRelease.objects.filter(invoice=paid).exists()
    assert not TimelineEvent.objects.filter(invoice=paid).exists()


def test_release_of_invoice_not_held_changes_nothing(creditor, debtor):
    recent = make_invoice(debtor, "100.00", due=dt.date.today() - dt.timedelta(days=45), number="F2026-001")

    output = limitation_command("release", "F2026-001", "--creditor", creditor.slug, "--reason", "erkenning")

    assert output.startswith("F2026-001: niet vrijgegeven, want de run houdt deze factuur niet aan")
    assert output.endswith("er is niets gewijzigd.\n")
    assert not LimitationRelease.objects.filter(invoice=recent).exists()
    assert not TimelineEvent.objects.filter(invoice=recent).exists()


def record_sent_message(creditor, debtor, invoice, channel: str, stage: str) -> None:
    sent_at = dt.datetime(2023, 5, 1, 9, 0, tzinfo=AMSTERDAM)
    communication = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel=channel, stage=stage, language="nl",
        idempotency_key=f"old-{channel}", status=CommunicationStatus.SENT, run_date=sent_at.date(),
        sent_at=sent_at, total_amount=invoice.open_amount,
    )
    CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=invoice.open_amount)


def test_recent_written_reminder_interrupts(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE, dunning_stage="second_reminder",
                       dunning_stage_date=dt.date(2023, 5, 1))
    record_sent_message(creditor, debtor, old, "letter", "second_reminder")

    plan = plan_day(DAY, creditor)

    assert plan.limitation_holds == {}


def test_sms_reminder_does_not_interrupt(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE)
    record_sent_message(creditor, debtor, old, "sms", "reminder")

    plan = plan_day(DAY, creditor)

    assert set(plan.limitation_holds) == {old.pk}


def test_partial_payment_interrupts(creditor, debtor):
    old = make_invoice(debtor, "282.00", due=OLD_DUE)
    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="old-part",
        booking_date=dt.date(2024, 2, 1), amount=Decimal("50.00"),
    )
    do_allocate_payment(payment, [old], source="test", reason="partial payment")

    plan = plan_day(DAY, creditor)

    assert plan.limitation_holds == {}


def test_invoice_due_less_than_five_years_ago_is_chased(creditor, debtor):
    due = dt.date(2022, 1, 8)
    invoice = make_invoice(debtor, "100.00", due=due)

    plan = plan_day(DAY, creditor)

    assert plan.limitation_holds == {}
    assert [message.invoice_ids for message in plan.messages] == [[invoice.pk]]


def test_run_cycle_sends_nothing_for_held_invoice(creditor, debtor):
    make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")

    summary = run_cycle(DAY, creditor)

    assert summary.planned == 0
    holds = list(summary.creditors[0].plan.limitation_holds.values())
    assert [hold.number for hold in holds] == ["F2015-001"]
    assert holds[0].barred_from == dt.date(2020, 1, 10)


def test_import_note_names_old_invoices(creditor, debtor):
    from django.utils import translation

    from betaalreis.dunning.limitation_holds import limitation_note

    make_invoice(debtor, "282.00", due=OLD_DUE, number="F2015-001")
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=45), number="F2026-001")

    dutch = limitation_note(creditor.pk, ["F2015-001", "F2026-001"], DAY)
    with translation.override("en"):
        english = limitation_note(creditor.pk, ["F2015-001"], DAY)

    assert dutch.startswith("1 factuur is meer dan 5 jaar over de vervaldatum")
    assert "kan verjaard zijn (art. 3:307 BW): F2015-001." in dutch
    assert "F2026-001" not in dutch
    assert "may be time-barred (art. 3:307 BW): F2015-001." in english
    assert limitation_note(creditor.pk, ["F2026-001"], DAY) == ""


def test_import_report_names_old_invoice(creditor, tmp_path):
    path = tmp_path / "oud.csv"
    path.write_text(
        "factuurnummer;klantnummer;naam;factuurdatum;vervaldatum;openstaand\n"
        "F2015-009;K1;Bakkerij Oud B.V.;10-12-2014;09-01-2015;282,00\n"
        f"F2026-009;K1;Bakkerij Oud B.V.;01-11-2026;{(dt.date.today() - dt.timedelta(days=10)):%d-%m-%Y};50,00\n",
        encoding="utf-8",
    )
    output = io.StringIO()

    call_command("import", str(path), "--creditor", creditor.slug, stdout=output)

    printed = " ".join(output.getvalue().split())
    assert "kan verjaard zijn (art. 3:307 BW): F2015-009." in printed
    assert "F2026-009." not in printed
