"""Dunning and claim of an open invoice that a file raises after its 14-day letter.

The letter named the open amount when it was sent. A consumer owes
collection costs only over an amount that a 14-day letter named and whose
term passed unpaid, so the raise waits for a new letter. Messages planned
before a raise or a restart are taken out of the outbox before they go.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from betaalreis.dunning.charges import claim_letters
from betaalreis.dunning.models import DunningRestart, InvoiceStage, PrincipalRaise, RaiseAfterLetter, ReopenCause
from betaalreis.dunning.reopening import unnamed_amounts
from betaalreis.dunning.run import run_cycle, run_moment
from betaalreis.dunning.tests.test_reopening import (
    BUSINESS_ROW,
    CONSUMER_ROW,
    CONSUMER_RUNS,
    LETTER_DAY,
    claim_on,
    creditor,  # noqa: F401 - the fixture
    import_file,
    invoice,
    last_message_id,
    messages,
    pay,
)
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import InvoiceStatus, TimelineEvent
from betaalreis.legal.claims import ClaimItem, ClaimPayment, LaterPart, compute_claim
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import admin_form_data

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DUE = dt.date(2026, 9, 1)
# After the term of the letter of 29 September, on the day before the final notice would go.
RAISED_AT = dt.datetime(2026, 10, 20, 10, 0, tzinfo=AMSTERDAM)
NEXT_RUN = dt.date(2026, 10, 21)
# The invoice's payment term of 31 days, counted from the raise.
RAISE_DUE = dt.date(2026, 11, 20)
# The new 14-day letter goes once the consumer is in default on the raise too.
NEW_LETTER_DAY = dt.date(2026, 11, 21)


def letter_sent(tmp_path, row: str = CONSUMER_ROW) -> None:
    """Import F301 of 300,00 and run up to its 14-day letter, which names 300,00."""
    import_file(tmp_path, "first.csv", row.format(total="300,00", open="300,00"))
    for day in CONSUMER_RUNS:
        run_cycle(day, creditor=invoice("F301").creditor)
    assert messages("F301")[-1].stage == "fourteen_day_letter"


def first_term_end(creditor):
    return fourteen_day_term(LETTER_DAY, "email", legal_settings_for(creditor)).term_end


def test_raise_recorded_with_stage_back(creditor, tmp_path):
    letter_sent(tmp_path)

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)

    raised = invoice("F301")
    assert raised.status == InvoiceStatus.OPEN
    record = RaiseAfterLetter.objects.get(invoice=raised)
    assert record.unnamed_amount == Decimal("50.00")
    assert unnamed_amounts(creditor.pk, [raised.pk]) == {raised.pk: Decimal("50.00")}
    assert InvoiceStage.objects.get(invoice=raised).stage == "reminder"
    assert not DunningRestart.objects.exists()
    event = TimelineEvent.objects.get(invoice=raised, data__reason="raised_after_letter")
    assert event.data["from_stage"] == "fourteen_day_letter"
    assert event.data["to_stage"] == "reminder"
    assert event.data["unnamed"] == "50.00"
    assert "nieuwe veertiendagenbrief" in event.summary
    assert "new 14-day letter" in event.data["summary_en"]


def test_costs_only_over_named_amount(creditor, tmp_path):
    letter_sent(tmp_path)

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)

    claim = claim_for_debtor(invoice("F301").debtor, NEXT_RUN, fourteen_day_term_end=first_term_end(creditor))
    assert claim.principal_outstanding == Decimal("350.00")
    assert claim.costs.base == Decimal("300.00")
    # 15 % of the 300,00 the letter named (BIK art. 2), not of 350,00.
    assert claim.costs.total == Decimal("45.00")


def raised_claim(kind: str, day: dt.date, term_end: dt.date | None = None):
    """Return the claim on F301 of 350,00, of which 50,00 was raised and falls due on RAISE_DUE."""
    return compute_claim(
        debtor_kind=kind,
        items=[ClaimItem("F301", Decimal("350.00"), DUE, later_parts=(LaterPart(Decimal("50.00"), RAISE_DUE),))],
        on=day,
        fourteen_day_term_end=term_end,
    )


def test_raise_recorded_with_due_date(creditor, tmp_path):
    letter_sent(tmp_path)

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)

    (part,) = PrincipalRaise.objects.filter(invoice__number="F301")
    assert (part.amount, part.due_date) == (Decimal("50.00"), RAISE_DUE)
    claim = claim_for_debtor(invoice("F301").debtor, RAISE_DUE + dt.timedelta(days=10))
    # Interest on the 50,00 runs from the day after it fell due, not from 2 September.
    assert [(period.start, period.base) for period in claim.interest_periods][-1] == (
        RAISE_DUE + dt.timedelta(days=1), Decimal("50.00")
    )


def test_raise_sends_new_letter_once_overdue(creditor, tmp_path):
    letter_sent(tmp_path)
    before = last_message_id()

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    run_cycle(NEXT_RUN, creditor)
    run_cycle(RAISE_DUE, creditor)
    assert messages("F301", after=before) == []
    run_cycle(NEW_LETTER_DAY, creditor)

    (letter,) = messages("F301", after=before)
    assert letter.stage == "fourteen_day_letter"
    # The new letter requests the costs the first letter's term made owed
    # over the 300,00 it named (EUR 45.00) with the raised principal and interest.
    expected = raised_claim("consumer", NEW_LETTER_DAY, first_term_end(creditor))
    assert expected.costs.total == Decimal("45.00")
    assert letter.total_amount == expected.total_outstanding
    assert unnamed_amounts(creditor.pk, [invoice("F301").pk]) == {}


def test_costs_over_raise_after_new_letter(creditor, tmp_path):
    letter_sent(tmp_path)
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    run_cycle(NEW_LETTER_DAY, creditor)
    before = last_message_id()
    term_end = fourteen_day_term(NEW_LETTER_DAY, "email", legal_settings_for(creditor)).term_end
    day = term_end + dt.timedelta(days=1)

    run_cycle(day, creditor)

    (notice,) = messages("F301", after=before)
    assert notice.stage == "final_notice"
    expected = raised_claim("consumer", day, term_end)
    # 15 % of 350,00: the new letter named the whole amount.
    assert expected.costs.total == Decimal("52.50")
    assert notice.total_amount == expected.total_outstanding


def test_lowered_amount_changes_nothing(creditor, tmp_path):
    letter_sent(tmp_path)
    before = last_message_id()

    import_file(tmp_path, "lowered.csv", CONSUMER_ROW.format(total="300,00", open="250,00"), at=RAISED_AT)
    run_cycle(NEXT_RUN, creditor)

    assert not RaiseAfterLetter.objects.exists()
    assert not TimelineEvent.objects.filter(data__reason="raised_after_letter").exists()
    (notice,) = messages("F301", after=before)
    assert notice.stage == "final_notice"


def test_business_raise_costs_follow(creditor, tmp_path):
    import_file(tmp_path, "first.csv", BUSINESS_ROW.format(total="300,00", open="300,00"))
    for day in (dt.date(2026, 8, 29), dt.date(2026, 9, 11), dt.date(2026, 9, 25)):
        run_cycle(day, creditor)
    before = last_message_id()

    import_file(tmp_path, "raised.csv", BUSINESS_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    day = dt.date(2026, 10, 21)
    run_cycle(day, creditor)

    assert not RaiseAfterLetter.objects.exists()
    (notice,) = messages("F401", after=before)
    assert notice.stage == "final_notice"
    # A business owes costs without a letter, over the raise from the day after it falls due.
    expected = raised_claim("business", day)
    assert expected.costs.total == Decimal("45.00")
    assert notice.total_amount == expected.total_outstanding
    assert raised_claim("business", RAISE_DUE + dt.timedelta(days=1)).costs.total == Decimal("52.50")


def test_raise_report_names_new_letter(creditor, tmp_path):
    letter_sent(tmp_path)

    report = import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)

    assert "Factuur F301 is na de veertiendagenbrief verhoogd (350,00 open)." in report
    assert "De volgende aanmaning is een nieuwe veertiendagenbrief" in report


def test_raise_report_in_english(creditor, tmp_path, english_reports):
    letter_sent(tmp_path)

    report = import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)

    assert "Invoice F301 was raised after its 14-day letter (350.00 open)." in report
    assert "The next reminder is a new 14-day letter" in report


@pytest.mark.parametrize(
    ("paid", "base", "costs"),
    [
        # Nothing paid: the 300,00 the letter named.
        ("0.00", "300.00", "45.00"),
        # A payment pays the named part first.
        ("100.00", "200.00", "40.00"),
        # Paid down to the raise alone: nothing named is left, so no costs.
        ("300.00", "0.00", "0.00"),
    ],
)
def test_claim_leaves_unnamed_out(paid, base, costs):
    term_end = dt.date(2026, 10, 14)
    # Paid before the due date, so that no interest takes part of it.
    payments = [ClaimPayment(dt.date(2026, 8, 20), Decimal(paid))] if paid != "0.00" else []

    claim = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("F301", Decimal("350.00"), DUE, unnamed_principal=Decimal("50.00"))],
        on=dt.date(2026, 10, 20),
        payments=payments,
        fourteen_day_term_end=term_end,
    )

    assert claim.costs.base == Decimal(base)
    assert claim.costs.total == Decimal(costs)


@pytest.mark.usefixtures("english_reports")
def test_claim_rejects_unnamed_above_principal():
    with pytest.raises(InvalidInput, match="unnamed principal 400.00"):
        compute_claim(
            debtor_kind="consumer",
            items=[ClaimItem("F301", Decimal("350.00"), DUE, unnamed_principal=Decimal("400.00"))],
            on=dt.date(2026, 10, 20),
        )


def reopen_after_payment(creditor, tmp_path) -> str:
    """Import F301, pay it, and return the report of a file that raises its total by 50,00."""
    import_file(tmp_path, "first.csv", CONSUMER_ROW.format(total="300,00", open="300,00"))
    pay("F301", Decimal("300.00"), dt.date(2026, 9, 10))
    return import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=RAISED_AT)


def test_reopen_report_names_restart(creditor, tmp_path):
    report = reopen_after_payment(creditor, tmp_path)

    assert "Factuur F301 staat weer open (50,00)." in report
    # The invoice's own term of 31 days, counted from 20 October.
    assert "De aanmaningen beginnen opnieuw: het bedrag vervalt op 20 november 2026." in report


def test_reopen_report_in_english(creditor, tmp_path, english_reports):
    report = reopen_after_payment(creditor, tmp_path)

    assert "Invoice F301 is open again (50.00)." in report
    assert "Dunning starts again: the amount falls due on Nov. 20, 2026." in report


def dispatch_on(day: dt.date, creditor) -> None:
    moment = run_moment(day)
    dispatch(due_by=moment, creditor=creditor, source=f"dispatch {day}", clock=moment)


def test_planned_notice_dropped_after_raise(creditor, tmp_path):
    letter_sent(tmp_path)
    run_cycle(NEXT_RUN, creditor, dispatch_messages=False)
    (planned,) = Communication.objects.filter(items__invoice__number="F301", status=CommunicationStatus.PENDING)
    assert planned.stage == "final_notice"

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    dispatch_on(NEXT_RUN, creditor)

    planned.refresh_from_db()
    assert planned.status == CommunicationStatus.CANCELLED
    dropped = TimelineEvent.objects.get(
        invoice__number="F301", data__communication_id=planned.pk, summary__contains="uit bericht gehaald"
    )
    assert "verhoogd" in dropped.summary
    assert "raised after the 14-day letter" in dropped.data["summary_en"]
    # A run after the raise fell due plans the new letter over the whole amount.
    run_cycle(NEW_LETTER_DAY, creditor)
    assert messages("F301")[-1].stage == "fourteen_day_letter"


def test_planned_letter_dropped_after_restart(creditor, tmp_path):
    import_file(tmp_path, "first.csv", CONSUMER_ROW.format(total="300,00", open="300,00"))
    for day in CONSUMER_RUNS[:2]:
        run_cycle(day, creditor)
    run_cycle(LETTER_DAY, creditor, dispatch_messages=False)
    (planned,) = Communication.objects.filter(items__invoice__number="F301", status=CommunicationStatus.PENDING)
    assert planned.stage == "fourteen_day_letter"
    pay("F301", Decimal("300.00"), LETTER_DAY)

    # The file raises the paid invoice before the letter goes: its dunning restarts.
    reopened_at = dt.datetime(2026, 9, 29, 10, 0, tzinfo=AMSTERDAM)
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="50,00"), at=reopened_at)
    assert DunningRestart.objects.filter(invoice__number="F301").exists()
    dispatch_on(LETTER_DAY, creditor)

    planned.refresh_from_db()
    # The letter named an amount of the earlier cycle that is not even due yet.
    assert planned.status == CommunicationStatus.CANCELLED
    assert messages("F301", after=0)[-1].stage == "reminder"
    dropped = TimelineEvent.objects.get(invoice__number="F301", data__communication_id=planned.pk)
    assert "opnieuw begonnen" in dropped.summary
    assert "dunning started again" in dropped.data["summary_en"]


def edit_in_admin(admin_client, number: str, **changes: object) -> None:
    """Post the admin change form of invoice `number` with `changes`, and check it saved."""
    target = invoice(number)
    data = admin_form_data(target)
    data.update(changes)
    response = admin_client.post(reverse("admin:ledger_invoice_change", args=[target.pk]), data)
    errors = response.context["adminform"].form.errors if response.status_code == 200 else None
    assert response.status_code == 302, errors


def test_admin_reopen_restarts_dunning(creditor, tmp_path, admin_client):
    letter_sent(tmp_path)
    pay("F301", Decimal("300.00"), dt.date(2026, 10, 6))
    before = last_message_id()

    with mock.patch("django.utils.timezone.now", return_value=RAISED_AT):
        edit_in_admin(admin_client, "F301", status=InvoiceStatus.OPEN, open_amount="50.00", total="350.00")
    run_cycle(NEXT_RUN, creditor)

    restart = DunningRestart.objects.get(invoice__number="F301")
    assert restart.cause == ReopenCause.ADMIN
    assert restart.principal == Decimal("50.00")
    # pytest-django logs its admin_client in as "admin".
    assert restart.source == "admin:admin"
    event = TimelineEvent.objects.get(invoice__number="F301", data__reason="dunning_restarted")
    assert "door een wijziging in het beheer" in event.summary
    # The reopened amount falls due on 20 November, so no final notice goes now.
    assert messages("F301", after=before) == []


def test_admin_raise_recorded(creditor, tmp_path, admin_client):
    letter_sent(tmp_path)

    with mock.patch("django.utils.timezone.now", return_value=RAISED_AT):
        edit_in_admin(admin_client, "F301", open_amount="350.00", total="350.00")

    record = RaiseAfterLetter.objects.get(invoice__number="F301")
    assert record.unnamed_amount == Decimal("50.00")
    assert InvoiceStage.objects.get(invoice__number="F301").stage == "reminder"


@pytest.mark.parametrize(
    ("days_after_new_letter", "base", "costs"),
    [
        # The new term runs: the first letter's costs over the 300,00 it named stay owed.
        (3, "300.00", "45.00"),
        # The new term passed: 15 % of the 350,00 the new letter named.
        (30, "350.00", "52.50"),
    ],
)
def test_costs_while_new_term_runs(creditor, tmp_path, days_after_new_letter, base, costs):
    letter_sent(tmp_path)
    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    run_cycle(NEW_LETTER_DAY, creditor)
    raised = invoice("F301")
    settings = legal_settings_for(creditor)
    day = NEW_LETTER_DAY + dt.timedelta(days=days_after_new_letter)

    letters = claim_letters(creditor, settings, raised.debtor, {raised.pk: raised.number})
    claim = claim_for_debtor(
        raised.debtor, day, fourteen_day_term_end=letters.term_end,
        letter_terms=letters.letter_terms, costs_paid_before=letters.costs_paid_before,
    )

    assert claim.costs.base == Decimal(base)
    assert claim.costs.total == Decimal(costs)
    # Owed since the end of the first letter's term in both cases.
    assert claim.costs.due_from == first_term_end(creditor) + dt.timedelta(days=1)


def test_second_raise_keeps_first(creditor, tmp_path):
    letter_sent(tmp_path)
    second_raised_at = RAISED_AT + dt.timedelta(days=7)
    second_due = RAISE_DUE + dt.timedelta(days=7)

    import_file(tmp_path, "raised.csv", CONSUMER_ROW.format(total="350,00", open="350,00"), at=RAISED_AT)
    import_file(tmp_path, "raised-again.csv", CONSUMER_ROW.format(total="380,00", open="380,00"), at=second_raised_at)

    parts = PrincipalRaise.objects.filter(invoice__number="F301").order_by("due_date")
    assert [(part.amount, part.due_date) for part in parts] == [
        (Decimal("50.00"), RAISE_DUE),
        (Decimal("30.00"), second_due),
    ]
    assert RaiseAfterLetter.objects.get(invoice__number="F301").unnamed_amount == Decimal("80.00")
    claim = claim_for_debtor(invoice("F301").debtor, second_due + dt.timedelta(days=10))
    # Each raise bears interest from the day after its own due date.
    assert [(period.start, period.base) for period in claim.interest_periods][-2:] == [
        (RAISE_DUE + dt.timedelta(days=1), Decimal("50.00")),
        (second_due + dt.timedelta(days=1), Decimal("30.00")),
    ]
