"""Costs and interest beside the ledger's principal: payments, reminders and closed invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from betaalreis.banking.allocation import PlannedAllocation, allocate_in_bulk
from betaalreis.banking.models import MatchRule
from betaalreis.dunning.models import InvoiceStage, Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.actions import (
    do_allocate_payment,
    do_apply_credit_note,
    do_set_invoice_status,
    unallocated_amount,
)
from betaalreis.ledger.models import (
    Allocation,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
    TimelineEvent,
)
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import render_communication
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DUE = dt.date(2026, 9, 1)
LETTER_DAY = dt.date(2026, 9, 21)
# The letter's term (with receipt days) has ended by then, so costs are owed.
LATER = dt.date(2026, 11, 20)
PATHS = ("single", "bulk")


@pytest.fixture
def debtor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return make_debtor(creditor)


def send_letter(debtor, invoice) -> None:
    sent_at = dt.datetime.combine(LETTER_DAY, dt.time(10), tzinfo=AMSTERDAM)
    letter = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter",
        language="nl", idempotency_key=f"letter-{invoice.pk}", status=CommunicationStatus.SENT,
        run_date=LETTER_DAY, sent_at=sent_at, total_amount=invoice.open_amount,
    )
    CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=invoice.open_amount)
    InvoiceStage.objects.create(invoice=invoice, stage="fourteen_day_letter", stage_date=LETTER_DAY)


def render(debtor, invoice, stage_code: str, channel: str, on: dt.date):
    communication = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel=channel, stage=stage_code, language="nl",
        idempotency_key=f"{stage_code}-{channel}-{on}", run_date=on, total_amount=invoice.open_amount,
    )
    items = [CommunicationInvoice.objects.create(
        communication=communication, invoice=invoice, open_amount=invoice.open_amount
    )]
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind=debtor.kind, code=stage_code)
    return render_communication(communication, items, stage, today=on)


def pay(debtor, invoice, amount: Decimal, on: dt.date, path: str, key: str = "P1") -> Payment:
    payment = Payment.objects.create(
        creditor=debtor.creditor, source=PaymentSource.BANK, external_id=key,
        booking_date=on, amount=amount,
    )
    if path == "single":
        do_allocate_payment(payment, [invoice], source="test", reason="why")
    else:
        plan = PlannedAllocation(payment.pk, [invoice.pk], "why", MatchRule.INVOICE_NUMBER, 90)
        allocate_in_bulk(debtor.creditor_id, [plan], source="test")
    return payment


def parts(payment: Payment) -> dict[str, Decimal]:
    return dict(Allocation.objects.filter(payment=payment).values_list("part", "amount"))


def credit_events(debtor):
    return TimelineEvent.objects.filter(debtor=debtor, data__has_key="credit")


def waived_events(debtor):
    return TimelineEvent.objects.filter(debtor=debtor, data__reason="charges_waived")


@pytest.mark.parametrize("path", PATHS)
def test_letter_amount_paid_closes_without_credit(debtor, path):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    requested = Decimal(render(debtor, invoice, "fourteen_day_letter", "letter", LETTER_DAY).metadata["amount_due"])
    assert requested > Decimal("300.00")

    payment = pay(debtor, invoice, requested, LETTER_DAY, path)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.open_amount == Decimal("0.00")
    assert parts(payment) == {"principal": Decimal("300.00"), "interest": requested - Decimal("300.00")}
    assert unallocated_amount(payment) == Decimal("0.00")
    assert not credit_events(debtor).exists()
    assert not waived_events(debtor).exists()


@pytest.mark.parametrize("path", PATHS)
def test_final_notice_amount_pays_costs_and_interest(debtor, path):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    claim = claim_for_debtor(debtor, LATER, fourteen_day_term_end=dt.date(2026, 10, 9))
    requested = Decimal(render(debtor, invoice, "final_notice", "email", LATER).metadata["amount_due"])
    assert requested == claim.total_outstanding

    payment = pay(debtor, invoice, requested + Decimal("5.00"), LATER, path)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert parts(payment) == {
        "principal": Decimal("300.00"),
        "costs": claim.costs.total,
        "interest": claim.interest_outstanding,
    }
    # Only money beyond the whole claim is a credit.
    (credit,) = credit_events(debtor)
    assert credit.data["credit"] == "5.00"
    assert not waived_events(debtor).exists()


@pytest.mark.parametrize("path", PATHS)
def test_euro_costs_close_beside_other_currency(debtor, path):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    dollars = make_invoice(debtor, "500.00", due=DUE, currency="USD")
    send_letter(debtor, invoice)
    send_letter(debtor, dollars)
    claim = claim_for_debtor(debtor, LATER, fourteen_day_term_end=dt.date(2026, 10, 9))
    requested = Decimal(render(debtor, invoice, "final_notice", "email", LATER).metadata["amount_due"])
    assert requested == claim.total_outstanding

    payment = pay(debtor, invoice, requested, LATER, path)

    invoice.refresh_from_db()
    dollars.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert dollars.open_amount == Decimal("500.00")
    assert parts(payment) == {
        "principal": Decimal("300.00"),
        "costs": claim.costs.total,
        "interest": claim.interest_outstanding,
    }
    assert not credit_events(debtor).exists()


@pytest.mark.parametrize("path", PATHS)
def test_plain_invoice_overpaid_is_credit(debtor, path):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    payment = pay(debtor, invoice, Decimal("310.00"), LATER, path)

    assert parts(payment) == {"principal": Decimal("300.00")}
    (credit,) = credit_events(debtor)
    assert credit.data["credit"] == "10.00"
    assert not waived_events(debtor).exists()


@pytest.mark.parametrize("channel", ["email", "sms", "letter"])
def test_reminder_after_partial_payment_states_portal_amount(debtor, channel):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    InvoiceStage.objects.create(invoice=invoice, stage="reminder", stage_date=DUE + dt.timedelta(days=14))
    pay(debtor, invoice, Decimal("100.00"), DUE + dt.timedelta(days=10), "single")
    invoice.refresh_from_db()

    message = render(debtor, invoice, "reminder", channel, DUE + dt.timedelta(days=20))
    (account,) = load_accounts([debtor.pk], DUE + dt.timedelta(days=20))

    assert Decimal(message.metadata["amount_due"]) == account.total_due
    assert account.total_due == Decimal("200.00")
    assert account.interest == Decimal("0.00")


@pytest.mark.parametrize("path", PATHS)
def test_principal_only_payment_records_waiver(debtor, path):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    claim = claim_for_debtor(debtor, LATER, fourteen_day_term_end=dt.date(2026, 10, 9))

    pay(debtor, invoice, Decimal("300.00"), LATER, path)

    (waived,) = waived_events(debtor)
    assert waived.invoice_id == invoice.pk
    assert waived.data["closed_by"] == "payment"
    assert Decimal(waived.data["costs"]) == claim.costs.total
    assert Decimal(waived.data["interest"]) == claim.interest_outstanding
    assert "kwijtgescholden" in waived.summary


def test_credit_note_closing_records_waiver(debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    credit_note = Invoice.objects.create(
        creditor=debtor.creditor, debtor=debtor, number="C-1", kind=InvoiceKind.CREDIT_NOTE,
        issue_date=LATER, due_date=LATER, total=Decimal("-300.00"), open_amount=Decimal("-300.00"),
    )

    do_apply_credit_note(credit_note, invoice, source="test")

    (waived,) = waived_events(debtor)
    assert waived.data["closed_by"] == "credit_note"
    assert Decimal(waived.data["interest"]) > Decimal("0.00")


def test_closing_invoice_without_charges_records_nothing(debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    InvoiceStage.objects.create(invoice=invoice, stage="reminder", stage_date=DUE + dt.timedelta(days=14))

    pay(debtor, invoice, Decimal("300.00"), LATER, "single")

    assert not waived_events(debtor).exists()


def test_write_off_records_waiver(debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    written_off_at = dt.datetime.combine(LATER, dt.time(11), tzinfo=AMSTERDAM)
    claim = claim_for_debtor(debtor, LATER, fourteen_day_term_end=dt.date(2026, 10, 9))

    do_set_invoice_status(invoice, InvoiceStatus.WRITTEN_OFF, source="test", reason="oninbaar", at=written_off_at)

    (waived,) = waived_events(debtor)
    assert waived.invoice_id == invoice.pk
    assert waived.data["closed_by"] == "write_off"
    assert Decimal(waived.data["costs"]) == claim.costs.total
    assert Decimal(waived.data["interest"]) == claim.interest_outstanding
    assert waived.at == written_off_at


def test_dispute_waives_nothing(debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)

    do_set_invoice_status(invoice, InvoiceStatus.DISPUTED, source="test", reason="betwist")

    assert not waived_events(debtor).exists()


def change_form_data(form) -> dict[str, object]:
    """Return the POST data of an unchanged admin form, with split widgets as their parts."""
    from django.forms import MultiWidget

    data: dict[str, object] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if value is None:
            continue
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = part
        else:
            data[name] = value
    return data


def test_admin_write_off_records_waiver(debtor, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    invoice = make_invoice(debtor, "300.00", due=DUE)
    send_letter(debtor, invoice)
    client.force_login(get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12))
    url = reverse("admin:ledger_invoice_change", args=[invoice.pk])
    form = client.get(url).context["adminform"].form
    data = change_form_data(form)
    data["status"] = InvoiceStatus.WRITTEN_OFF

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    (waived,) = waived_events(debtor)
    assert waived.data["closed_by"] == "write_off"
    assert waived.source == "admin:beheer"
    status_event = TimelineEvent.objects.get(debtor=debtor, data__to=InvoiceStatus.WRITTEN_OFF)
    assert status_event.data["from"] == InvoiceStatus.OPEN


@pytest.mark.parametrize("path", PATHS)
def test_disputed_invoice_payment_pays_interest(debtor, path):
    invoice = make_invoice(debtor, "150.00", due=DUE)
    send_letter(debtor, invoice)
    requested = Decimal(render(debtor, invoice, "fourteen_day_letter", "letter", LETTER_DAY).metadata["amount_due"])
    interest = requested - Decimal("150.00")
    assert interest > Decimal("0.00")
    do_set_invoice_status(invoice, InvoiceStatus.DISPUTED, source="portal", reason="dispute")

    payment = pay(debtor, invoice, requested, LETTER_DAY, path)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert parts(payment) == {"principal": Decimal("150.00"), "interest": interest}
    assert unallocated_amount(payment) == Decimal("0.00")
    assert not credit_events(debtor).exists()
    assert not waived_events(debtor).exists()


def test_disputed_invoice_stays_in_claim(debtor):
    invoice = make_invoice(debtor, "150.00", due=DUE)
    send_letter(debtor, invoice)
    do_set_invoice_status(invoice, InvoiceStatus.DISPUTED, source="portal", reason="dispute")

    claim = claim_for_debtor(debtor, LATER)

    assert claim is not None
    (item,) = claim.items
    assert item.invoice_number == invoice.number
    assert item.interest > Decimal("0.00")


def test_granted_dispute_waives_charges(debtor):
    invoice = make_invoice(debtor, "150.00", due=DUE)
    send_letter(debtor, invoice)
    do_set_invoice_status(invoice, InvoiceStatus.DISPUTED, source="portal", reason="dispute")

    do_set_invoice_status(invoice, InvoiceStatus.WRITTEN_OFF, source="admin", reason="dispute granted")

    (event,) = waived_events(debtor)
    assert Decimal(event.data["interest"]) > Decimal("0.00")
