"""The channel of a consumer's 14-day letter: post unless the debtor agreed to electronic communication."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from betaalreis.channels.delivery import fallback_channel_for
from betaalreis.dunning.models import Stage
from betaalreis.dunning.planner import plan_day
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.electronic_agreement import do_set_electronic_agreement
from betaalreis.ledger.models import DebtorKind
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# A Tuesday well before the real date the tests run on.
DAY = dt.date(2026, 11, 24)


@pytest.fixture
def email_first(creditor):
    """A creditor policy in the database that lists email before post for the 14-day letter."""
    Stage.objects.filter(policy__creditor=creditor, is_fourteen_day_letter=True).update(channels=["email", "letter"])
    return creditor


def letter_due(debtor):
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))
    return debtor


def planned_channel(creditor, debtor) -> str | None:
    plan = plan_day(DAY, creditor)
    (message,) = [message for message in plan.messages if message.debtor.id == debtor.pk]
    assert message.stage.is_fourteen_day_letter
    return message.channel


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "letter"),
    ({"preferred_channel": "email"}, "letter"),
    ({"electronic_agreement": True}, "email"),
    ({"electronic_agreement": True, "preferred_channel": "letter"}, "letter"),
])
def test_consumer_letter_channel(email_first, fields: dict[str, object], expected: str):
    debtor = letter_due(make_debtor(email_first, **fields))

    assert planned_channel(email_first, debtor) == expected


def test_consumer_without_address_unreachable(email_first):
    debtor = letter_due(make_debtor(email_first, street="", postal_code="", city=""))

    plan = plan_day(DAY, email_first)

    (message,) = plan.messages
    assert message.channel is None
    assert "postadres" in message.unreachable_reason
    assert "e-mailadres" not in message.unreachable_reason
    assert message.debtor.id == debtor.pk


def test_business_debtor_keeps_email(email_first):
    # Art. 6:96 lid 6 BW does not cover businesses, so a business stage
    # marked as a 14-day letter keeps the channel order of the policy.
    Stage.objects.filter(policy__creditor=email_first, policy__debtor_kind=DebtorKind.BUSINESS,
                         code="final_notice").update(is_fourteen_day_letter=True, channels=["email", "letter"])
    debtor = make_debtor(email_first, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=40), dunning_stage="second_reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=10))

    assert planned_channel(email_first, debtor) == "email"


def test_default_policy_sends_letter_by_post(creditor):
    debtor = letter_due(make_debtor(creditor, preferred_channel="email"))

    assert planned_channel(creditor, debtor) == "letter"


@pytest.mark.parametrize(("agreed", "expected"), [(False, None), (True, "email")])
def test_failed_letter_fallback(creditor, agreed: bool, expected: str | None):
    debtor = make_debtor(creditor, electronic_agreement=agreed)
    letter = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key=f"test:{debtor.pk}", status=CommunicationStatus.FAILED, run_date=DAY,
        total_amount="100.00",
    )

    assert fallback_channel_for(letter) == expected


@pytest.mark.parametrize("channels", [["email", "letter"], ["email"]])
def test_withdrawn_before_dispatch_goes_by_post(creditor, betaalreis_home, channels: list[str]):
    # With ["email"] the stage does not list "letter", and the failed e-mail must still become a letter.
    Stage.objects.filter(policy__creditor=creditor, is_fourteen_day_letter=True).update(channels=channels)
    debtor = letter_due(make_debtor(creditor, electronic_agreement=True))
    run_cycle(DAY, creditor, dispatch_messages=False)
    do_set_electronic_agreement(debtor, False, source="portal")

    dispatch(due_by=dt.datetime.combine(DAY, dt.time(18), tzinfo=AMSTERDAM), creditor=creditor)

    email = Communication.objects.get(channel="email")
    assert email.status == CommunicationStatus.FAILED
    assert email.last_error.startswith("fourteen_day_letter_needs_post")
    letter = Communication.objects.get(channel="letter")
    assert letter.stage == "fourteen_day_letter"
    assert letter.status == CommunicationStatus.SENT


@pytest.fixture
def email_only(creditor):
    """A creditor policy in the database whose 14-day letter stage lists only email."""
    Stage.objects.filter(policy__creditor=creditor, is_fourteen_day_letter=True).update(channels=["email"])
    return creditor


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, "letter"),
    ({"preferred_channel": "email"}, "letter"),
    ({"electronic_agreement": True}, "email"),
])
def test_email_only_stage_channel(email_only, fields: dict[str, object], expected: str):
    debtor = letter_due(make_debtor(email_only, **fields))

    assert planned_channel(email_only, debtor) == expected


NO_ADDRESS = {"street": "", "postal_code": "", "city": ""}


@pytest.mark.parametrize(("fields", "expected"), [
    (
        NO_ADDRESS,
        "geen postadres en geen akkoord met elektronische communicatie; voeg een postadres toe of "
        "leg het akkoord van de debiteur met elektronische communicatie vast",
    ),
    (
        {**NO_ADDRESS, "email": ""},
        "geen postadres en geen akkoord met elektronische communicatie; voeg een postadres toe",
    ),
    (
        {"opted_out_channels": ["letter"]},
        "afgemeld voor brief en geen akkoord met elektronische communicatie; "
        "leg het akkoord van de debiteur met elektronische communicatie vast",
    ),
    (
        {"opted_out_channels": ["letter", "email"]},
        "afgemeld voor brief en geen akkoord met elektronische communicatie",
    ),
])
def test_email_only_stage_unreachable_reason(email_only, fields: dict[str, object], expected: str):
    debtor = letter_due(make_debtor(email_only, **fields))

    (message,) = plan_day(DAY, email_only).messages

    assert message.debtor.id == debtor.pk
    assert message.channel is None
    assert message.unreachable_reason == expected


def test_unreachable_reason_in_english(email_only, english_reports):
    letter_due(make_debtor(email_only, **NO_ADDRESS))

    (message,) = plan_day(DAY, email_only).messages

    assert message.unreachable_reason == (
        "no postal address and no agreement to electronic communication; add a postal address or "
        "record the debtor's agreement to electronic communication"
    )


def test_email_only_stage_failed_letter_fallback(email_only):
    debtor = make_debtor(email_only)
    letter = Communication.objects.create(
        creditor=email_only, debtor=debtor, channel="letter", stage="fourteen_day_letter", language="nl",
        idempotency_key=f"test:{debtor.pk}", status=CommunicationStatus.FAILED, run_date=DAY,
        total_amount="100.00",
    )

    assert fallback_channel_for(letter) is None
