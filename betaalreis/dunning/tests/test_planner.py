"""The planner and the outbox writer: which stage, which channel, once."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from betaalreis.dunning.models import Stage
from betaalreis.dunning.planner import PlannedMessage, plan_day
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning import writer
from betaalreis.dunning.writer import _StageEventData, write_plan
from betaalreis.ledger.models import DebtorKind, Invoice, InvoiceStatus, TimelineEvent
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 12, 4)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def creditor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


def at(day, hour=9, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=AMSTERDAM)


def plan_and_write(creditor, day=DAY, moment=None):
    plan = plan_day(day, creditor)
    written = write_plan(plan, source="test", moment=moment or at(day))
    return plan, written


def stages_of(plan):
    return sorted((message.debtor.id, message.stage.code, message.channel) for message in plan.messages)


def test_friendly_reminder_after_due_date(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))

    plan, written = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "friendly_reminder", "email")]
    assert len(written.created) == 1


def test_not_yet_due_invoice_gets_nothing(creditor):
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=2))

    plan, _ = plan_and_write(creditor)

    assert plan.messages == []


def test_second_run_same_day_creates_nothing(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=5))
    plan_and_write(creditor)

    plan, written = plan_and_write(creditor)

    assert plan.messages == []
    assert written.created == []
    assert Communication.objects.count() == 1


def test_second_run_counts_already_planned(creditor):
    for _ in range(2):
        make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=5))

    _, first = plan_and_write(creditor)
    _, second = plan_and_write(creditor)
    _, next_day = plan_and_write(creditor, DAY + dt.timedelta(days=1))

    assert first.already_planned == 0
    assert second.already_planned == 2
    assert next_day.already_planned == 0


def test_gap_sends_only_stage_due_now(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, due=DAY - dt.timedelta(days=20))

    plan, _ = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "reminder", "sms")]
    invoice.refresh_from_db()
    assert invoice.dunning_stage == "reminder"
    assert invoice.dunning_stage_date == DAY


def test_fourteen_day_letter_never_skipped(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=65), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=40))

    plan, _ = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "fourteen_day_letter", "letter")]


def mark_sent(communications, day):
    moment = at(day, 10)
    Communication.objects.filter(pk__in=[c.pk for c in communications]).update(
        status=CommunicationStatus.SENT, sent_at=moment
    )


def test_final_notice_waits_for_fourteen_day_term(creditor):
    debtor = make_debtor(creditor)
    letter_day = dt.date(2026, 12, 4)
    invoice = make_invoice(debtor, due=letter_day - dt.timedelta(days=35), dunning_stage="reminder",
                           dunning_stage_date=letter_day - dt.timedelta(days=16))
    plan, written = plan_and_write(creditor, letter_day)
    assert stages_of(plan) == [(debtor.pk, "fourteen_day_letter", "letter")]
    mark_sent(written.created, letter_day)

    # Posted Friday 4 December 2026: presumed received Tuesday 8 December, so
    # the term runs 9 up to and including 22 December.
    plan, _ = plan_and_write(creditor, dt.date(2026, 12, 22))
    assert plan.messages == []
    assert plan.waiting_for_legal_term == 1

    plan, _ = plan_and_write(creditor, dt.date(2026, 12, 23))
    assert stages_of(plan) == [(debtor.pk, "final_notice", "email")]
    invoice.refresh_from_db()
    assert invoice.dunning_stage == "final_notice"


def test_unsent_fourteen_day_letter_holds_escalation(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=90), dunning_stage="fourteen_day_letter",
                 dunning_stage_date=DAY - dt.timedelta(days=40))

    plan, _ = plan_and_write(creditor)

    assert plan.messages == []
    assert plan.waiting_for_legal_term == 1


def test_fourteen_day_letter_names_all_overdue_invoices(creditor):
    debtor = make_debtor(creditor)
    old = make_invoice(debtor, "150.00", due=DAY - dt.timedelta(days=30), dunning_stage="reminder",
                       dunning_stage_date=DAY - dt.timedelta(days=15))
    recent = make_invoice(debtor, "200.00", due=DAY - dt.timedelta(days=4))
    not_due = make_invoice(debtor, "75.00", due=DAY + dt.timedelta(days=5))

    plan, written = plan_and_write(creditor)

    assert [(m.stage.code, sorted(m.invoice_ids)) for m in plan.messages] == [
        ("fourteen_day_letter", sorted([old.pk, recent.pk]))
    ]
    assert written.created[0].total_amount == Decimal("350.00")
    not_due.refresh_from_db()
    assert not_due.dunning_stage == ""


def test_invoices_of_one_debtor_share_one_message(creditor):
    debtor = make_debtor(creditor)
    first = make_invoice(debtor, "100.00", due=DAY - dt.timedelta(days=4))
    second = make_invoice(debtor, "50.50", due=DAY - dt.timedelta(days=6))

    plan, written = plan_and_write(creditor)

    assert len(plan.messages) == 1
    assert sorted(plan.messages[0].invoice_ids) == sorted([first.pk, second.pk])
    communication = written.created[0]
    assert communication.total_amount == Decimal("150.50")
    assert sorted(communication.items.values_list("invoice_id", flat=True)) == sorted([first.pk, second.pk])


def test_message_lists_invoices_by_due_date_and_number(creditor):
    debtor = make_debtor(creditor)
    due = DAY - dt.timedelta(days=5)
    lower_b = make_invoice(debtor, "10.00", due=due, number="b-1")
    upper_b = make_invoice(debtor, "20.00", due=due, number="B-2")
    lower_a = make_invoice(debtor, "30.00", due=due, number="a-3")
    oldest = make_invoice(debtor, "40.00", due=due - dt.timedelta(days=1), number="z-4")

    plan, _ = plan_and_write(creditor)

    # Numbers compare by code point on both engines, so "B" sorts before "a".
    assert plan.messages[0].invoice_ids == [oldest.pk, upper_b.pk, lower_a.pk, lower_b.pk]
    assert plan.messages[0].open_amounts == [
        Decimal("40.00"), Decimal("20.00"), Decimal("30.00"), Decimal("10.00"),
    ]


@pytest.mark.parametrize(
    "status",
    [InvoiceStatus.PAID, InvoiceStatus.DISPUTED, InvoiceStatus.PAYMENT_PLAN,
     InvoiceStatus.CREDITED, InvoiceStatus.WRITTEN_OFF, InvoiceStatus.HANDED_OVER],
)
def test_closed_statuses_never_chased(creditor, status):
    make_invoice(make_debtor(creditor), due=DAY - dt.timedelta(days=10), status=status)

    plan, _ = plan_and_write(creditor)

    assert plan.messages == []


def test_zero_open_amount_and_credit_note_never_chased(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "80.00", due=DAY - dt.timedelta(days=10), open_amount=Decimal("0.00"))
    make_invoice(debtor, "-25.00", due=DAY - dt.timedelta(days=10))

    plan, _ = plan_and_write(creditor)

    assert plan.messages == []


def test_opt_out_and_preference_choose_channel(creditor):
    opted_out = make_debtor(creditor, opted_out_channels=["email"])
    prefers_letter = make_debtor(creditor, preferred_channel="letter")
    post_only = make_debtor(creditor, email="", mobile="")
    unreachable = make_debtor(creditor, email="", mobile="", street="")
    for debtor in (opted_out, prefers_letter, post_only, unreachable):
        make_invoice(debtor, due=DAY - dt.timedelta(days=3))

    plan, written = plan_and_write(creditor)

    assert stages_of(plan) == sorted([
        (opted_out.pk, "friendly_reminder", "sms"),
        (prefers_letter.pk, "friendly_reminder", "letter"),
        (post_only.pk, "friendly_reminder", "letter"),
        (unreachable.pk, "friendly_reminder", None),
    ])
    assert written.unreachable == 1
    assert len(written.created) == 3
    assert not Invoice.objects.filter(debtor=unreachable, dunning_progress__stage="friendly_reminder").exists()


def test_call_task_needs_minimum_amount(creditor):
    small = make_debtor(creditor)
    large = make_debtor(creditor)
    for debtor, amount in ((small, "20.00"), (large, "400.00")):
        make_invoice(debtor, amount, due=DAY - dt.timedelta(days=57), dunning_stage="final_notice",
                     dunning_stage_date=DAY - dt.timedelta(days=8))

    plan, _ = plan_and_write(creditor)

    assert stages_of(plan) == [(large.pk, "call_task", "phone")]
    assert plan.below_minimum == 1


def test_call_task_skipped_without_phone(creditor):
    debtor = make_debtor(creditor, mobile="", phone="")
    invoice = make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=57), dunning_stage="final_notice",
                           dunning_stage_date=DAY - dt.timedelta(days=8))

    plan, written = plan_and_write(creditor)

    assert plan.messages == []
    assert written.unreachable == 0
    invoice.refresh_from_db()
    assert invoice.dunning_stage == "final_notice"


def test_handover_follows_final_notice_without_phone(creditor):
    debtor = make_debtor(creditor, mobile="", phone="")
    make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=72), dunning_stage="final_notice",
                 dunning_stage_date=DAY - dt.timedelta(days=23))

    plan, _ = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "handover", "letter")]


def test_gap_never_skips_required_final_notice(creditor):
    consumer = make_debtor(creditor, mobile="", phone="")
    business = make_debtor(creditor, kind=DebtorKind.BUSINESS, mobile="", phone="")
    make_invoice(consumer, "300.00", due=DAY - dt.timedelta(days=35), dunning_stage="reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=16))
    make_invoice(business, "300.00", due=DAY - dt.timedelta(days=80), dunning_stage="second_reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=50))
    plan, written = plan_and_write(creditor)
    assert stages_of(plan) == [
        (consumer.pk, "fourteen_day_letter", "letter"),
        (business.pk, "final_notice", "letter"),
    ]
    mark_sent(written.created, DAY)

    # 60 days later the handover offset has passed for both invoices, but
    # only the business invoice has had its final notice.
    plan, _ = plan_and_write(creditor, DAY + dt.timedelta(days=60))

    assert stages_of(plan) == [
        (consumer.pk, "final_notice", "email"),
        (business.pk, "handover", "email"),
    ]


def test_unreachable_reason_names_missing_data(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS, email="", street="", phone="")
    make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=80), dunning_stage="second_reminder",
                 dunning_stage_date=DAY - dt.timedelta(days=50))

    plan, written = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "final_notice", None)]
    assert plan.messages[0].unreachable_reason == "voeg een postadres of e-mailadres toe"
    with translation.override("en"):
        assert plan.messages[0].unreachable_reason == "add a postal address or email address"
    assert written.unreachable == 1


def test_handover_marks_invoices_handed_over(creditor):
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "300.00", due=DAY - dt.timedelta(days=75), dunning_stage="call_task",
                           dunning_stage_date=DAY - dt.timedelta(days=15))

    _, written = plan_and_write(creditor)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.HANDED_OVER
    assert written.handed_over_invoices == 1


def test_business_gets_courtesy_reminder_before_due(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    make_invoice(debtor, due=DAY + dt.timedelta(days=3))

    plan, _ = plan_and_write(creditor)

    assert stages_of(plan) == [(debtor.pk, "friendly_reminder", "email")]


def test_other_creditor_invoices_untouched(creditor):
    other = make_creditor("other")
    seed_default_policies(other)
    make_invoice(make_debtor(other), due=DAY - dt.timedelta(days=3))

    plan, _ = plan_and_write(creditor)

    assert plan.messages == []
    assert plan.invoices_considered == 0


def test_stage_change_written_to_timeline(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, "12.34", due=DAY - dt.timedelta(days=3))

    _, written = plan_and_write(creditor)

    event = TimelineEvent.objects.get(debtor=debtor)
    assert event.kind == "stage"
    assert event.source == "test"
    assert event.invoice_id is None
    assert event.at == at(DAY)
    assert event.data["communication_id"] == written.created[0].pk
    assert event.data["invoice_ids"] == [written.created[0].items.get().invoice_id]
    assert event.data["total"] == "12.34"
    assert "Vriendelijke herinnering" in event.summary


@pytest.mark.parametrize(
    ("stage_code", "channel", "currency", "invoice_ids", "total"),
    [
        ("herinnering", "email", "EUR", [7], Decimal("12.34")),
        ("aanmaning", "letter", "USD", [3, 11, 205], Decimal("1000.00")),
        ('quote"back\\slash', "sms", "EUR", [1, 2], Decimal("-0.50")),
        ("één-fase", "whatsapp", "GBP", [], Decimal("0.00")),
    ],
)
def test_stage_event_data_matches_json_dumps(stage_code, channel, currency, invoice_ids, total):
    build = _StageEventData()
    message = PlannedMessage(
        debtor=None, stage=Stage(code=stage_code), channel=channel, currency=currency, invoice_ids=invoice_ids
    )
    expected = {
        "communication_id": 42,
        "stage": stage_code,
        "channel": channel,
        "invoice_ids": invoice_ids,
        "total": str(total),
        "currency": currency,
    }

    text = build(42, message, total)
    # A second message with the same stage uses the parts encoded for the first.
    again = build(43, message, total)

    assert text == json.dumps(expected)
    assert json.loads(again) == {**expected, "communication_id": 43}


def test_link_lines_match_link_rows(monkeypatch):
    monkeypatch.setattr(writer, "_LINK_LINES_PER_CHUNK", 2)
    messages = [
        PlannedMessage(
            debtor=None, stage=Stage(code="herinnering"), channel="email", currency="EUR",
            invoice_ids=invoice_ids, open_amounts=[Decimal(amount) for amount in amounts],
        )
        for invoice_ids, amounts in [([1, 2, 3], ["10.00", "0.05", "1234.56"]), ([4], ["-7.10"]), ([5, 6], ["1", "2.50"])]
    ]
    written = [(100 + index, {}, message) for index, message in enumerate(messages)]

    chunks = list(writer._link_lines(written))

    # A chunk ends after the message that brings it to two lines or more.
    assert chunks == [
        "100\t1\t10.00\n100\t2\t0.05\n100\t3\t1234.56\n",
        "101\t4\t-7.10\n102\t5\t1\n102\t6\t2.50\n",
    ]
    rows = [line.split("\t") for line in "".join(chunks).splitlines()]
    assert rows == [[str(value) for value in row] for row in writer._link_rows(written)]


def test_run_on_sunday_held_until_monday_morning(creditor):
    sunday = dt.date(2026, 12, 6)
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=sunday - dt.timedelta(days=3))

    _, written = plan_and_write(creditor, sunday)

    communication = written.created[0]
    assert communication.not_before == at(dt.date(2026, 12, 7), 7)
    held = TimelineEvent.objects.get(debtor=debtor, kind="held")
    assert "zondag" in held.summary
    assert written.held == 1


def test_evening_run_held_until_next_morning(creditor):
    debtor = make_debtor(creditor)
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))

    _, written = plan_and_write(creditor, DAY, moment=at(DAY, 21, 30))

    assert written.created[0].not_before == at(DAY + dt.timedelta(days=1), 7)
    assert "buiten de contacturen" in written.created[0].hold_reason


def test_weekly_contact_maximum_holds_fourth_contact(creditor):
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    monday = dt.date(2026, 11, 30)
    for offset in range(3):
        Communication.objects.create(
            creditor=creditor, debtor=debtor, channel="email", stage=f"earlier-{offset}",
            language="nl", idempotency_key=f"earlier-{offset}", run_date=monday,
            total_amount=Decimal("1.00"), status=CommunicationStatus.SENT,
        )
    make_invoice(debtor, due=DAY - dt.timedelta(days=1))

    _, written = plan_and_write(creditor)

    assert written.created[0].not_before == at(dt.date(2026, 12, 7), 7)
    assert "maximum" in written.created[0].hold_reason


def write_policy(tmp_path, stage_lines: str) -> "Path":
    path = tmp_path / "policy.toml"
    path.write_text(
        'name = "Test"\ndebtor_kind = "consumer"\n\n[[stages]]\ncode = "letter"\n'
        'name_nl = "Brief"\nname_en = "Letter"\nis_fourteen_day_letter = true\n' + stage_lines,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("stage_lines", "problem"),
    [
        ('offset_days = 0\nchannels = ["letter"]\nstates_claim = true\n', "in default"),
        ('offset_days = 14\nchannels = ["sms"]\nstates_claim = true\n', "day of receipt"),
        ('offset_days = 14\nchannels = ["letter"]\n', "states_claim"),
    ],
)
def test_policy_rejects_unlawful_fourteen_day_stage(tmp_path, stage_lines, problem):
    from betaalreis.dunning.policies import read_policy_file
    from betaalreis.errors import InvalidInput

    with translation.override("en"), pytest.raises(InvalidInput, match=problem):
        read_policy_file(write_policy(tmp_path, stage_lines))


def test_policy_rejects_stage_without_claim_after_claim(tmp_path):
    from betaalreis.dunning.policies import read_policy_file
    from betaalreis.errors import InvalidInput

    path = write_policy(
        tmp_path,
        'offset_days = 14\nchannels = ["letter"]\nstates_claim = true\n\n[[stages]]\ncode = "nudge"\n'
        'name_nl = "Duwtje"\nname_en = "Nudge"\noffset_days = 30\nchannels = ["email"]\n',
    )

    with translation.override("en"), pytest.raises(InvalidInput, match="set states_claim = true on it too"):
        read_policy_file(path)


def test_policy_command_loads_and_shows(tmp_path):
    import io

    from django.core.management import call_command

    creditor = make_creditor("zon")
    path = tmp_path / "consumer.toml"
    path.write_text(
        'name = "Kort"\ndebtor_kind = "consumer"\n\n[[stages]]\ncode = "only"\n'
        'name_nl = "Enige"\nname_en = "Only"\noffset_days = 5\nchannels = ["email"]\n',
        encoding="utf-8",
    )
    output = io.StringIO()

    call_command("policy", "load", str(path), "--creditor", "zon", stdout=output)

    assert list(creditor.policies.get().stages.values_list("code", flat=True)) == ["only"]
    assert "Kort" in output.getvalue()
    assert "Enige (only)" in output.getvalue()


def test_policy_show_in_dutch_and_english(creditor):
    import io

    from django.core.management import call_command

    dutch, english = io.StringIO(), io.StringIO()

    call_command("policy", "show", "--creditor", creditor.slug, stdout=dutch)
    call_command("policy", "show", "--creditor", creditor.slug, "--lang", "en", stdout=english)

    dutch_text, english_text = " ".join(dutch.getvalue().split()), " ".join(english.getvalue().split())
    for heading in ("fase", "kanalen", "minimumbedrag", "vordering", "actie"):
        assert heading in dutch_text, heading
    assert "Veertiendagenbrief (fourteen_day_letter)" in dutch_text
    assert "(Consument)" in dutch_text
    assert "channels" not in dutch_text
    assert "stage" not in dutch_text
    for heading in ("stage", "channels", "claim", "action"):
        assert heading in english_text, heading
    assert "Fourteen-day letter (fourteen_day_letter)" in english_text
    assert "(Consumer)" in english_text


@pytest.fixture
def whatsapp_creditor(creditor):
    from django.utils import timezone

    from betaalreis.channels.consent import do_enable_whatsapp
    from betaalreis.channels.models import WhatsAppTemplate
    from betaalreis.dunning.models import Stage

    Stage.objects.filter(policy__creditor=creditor, code="friendly_reminder").update(
        channels=["whatsapp", "email"]
    )
    do_enable_whatsapp(creditor, source="test")
    WhatsAppTemplate.objects.create(
        creditor=creditor, stage_code="friendly_reminder", language="nl", name="herinnering_v1",
        status="APPROVED", category="UTILITY", verified_at=timezone.now(),
    )
    return creditor


def test_whatsapp_chosen_when_ready_and_opted_in(whatsapp_creditor):
    from betaalreis.channels.consent import do_opt_in

    debtor = make_debtor(whatsapp_creditor)
    do_opt_in(debtor, "whatsapp", source="test", evidence="portal checkbox")
    make_invoice(debtor, due=DAY - dt.timedelta(days=3))

    plan, _ = plan_and_write(whatsapp_creditor)

    assert stages_of(plan) == [(debtor.pk, "friendly_reminder", "whatsapp")]


def test_whatsapp_skipped_without_opt_in_or_template(whatsapp_creditor):
    from betaalreis.channels.consent import do_opt_in

    no_opt_in = make_debtor(whatsapp_creditor)
    english = make_debtor(whatsapp_creditor, language="en")
    do_opt_in(english, "whatsapp", source="test", evidence="portal checkbox")
    for debtor in (no_opt_in, english):
        make_invoice(debtor, due=DAY - dt.timedelta(days=3))

    plan, _ = plan_and_write(whatsapp_creditor)

    assert stages_of(plan) == sorted([
        (no_opt_in.pk, "friendly_reminder", "email"),
        (english.pk, "friendly_reminder", "email"),
    ])


@pytest.mark.parametrize(
    ("extra_stage", "problem"),
    [
        ('code = "call"\nname_nl = "Bellen"\nname_en = "Call"\noffset_days = 30\n'
         'channels = ["phone"]\naction = "call_task"\nrequired = true\n', "only a message stage"),
        ('code = "handover"\nname_nl = "Overdracht"\nname_en = "Handover"\noffset_days = 30\n'
         'channels = ["letter"]\naction = "handover"\n', "final notice first"),
        ('code = "final"\nname_nl = "Laatste"\nname_en = "Final"\noffset_days = 30\n'
         'channels = ["letter"]\nrequired = "yes"\n', "true or false"),
    ],
)
def test_policy_rejects_misused_required_stage(tmp_path, extra_stage, problem, english_reports):
    from betaalreis.dunning.policies import read_policy_file
    from betaalreis.errors import InvalidInput

    path = write_policy(tmp_path, 'offset_days = 14\nchannels = ["letter"]\nstates_claim = true\n')
    path.write_text(path.read_text(encoding="utf-8") + "\n[[stages]]\n" + extra_stage, encoding="utf-8")

    with pytest.raises(InvalidInput, match=problem):
        read_policy_file(path)


def test_default_policies_require_final_notice(creditor):
    from betaalreis.dunning.models import Stage

    required = Stage.objects.filter(policy__creditor=creditor, required=True)

    assert sorted(required.values_list("policy__debtor_kind", "code")) == [
        ("business", "final_notice"),
        ("consumer", "final_notice"),
    ]
