"""Collection costs are fixed once per 14-day letter and shared by messages and the portal on the same day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from betaalreis.dunning.models import Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Allocation, AllocationPart, DebtorKind, InvoiceStatus, Payment, PaymentSource
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import claim_for_message, load_batch_claim_data, render_communication
from betaalreis.portal.services import amount_to_charge, load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 11, 20)
DUE = dt.date(2026, 9, 1)
LETTER_SENT = dt.datetime(2026, 9, 21, 10, 0, tzinfo=AMSTERDAM)
D = Decimal


def send_letter(debtor, invoices, key: str = "letter-1"):
    letter = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter",
        language="nl", idempotency_key=key, status=CommunicationStatus.SENT,
        run_date=LETTER_SENT.date(), sent_at=LETTER_SENT, total_amount=sum(i.open_amount for i in invoices),
    )
    for invoice in invoices:
        CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=invoice.open_amount)


def message(debtor, invoices, *, stage_code: str = "final_notice", channel: str = "email"):
    """Return a planned message for `invoices` with its items and stage."""
    communication = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel=channel, stage=stage_code, language="nl",
        idempotency_key=f"{stage_code}-{channel}-{'-'.join(i.number for i in invoices)}", run_date=DAY,
        total_amount=sum(i.open_amount for i in invoices),
    )
    items = [
        CommunicationInvoice.objects.create(communication=communication, invoice=i, open_amount=i.open_amount)
        for i in invoices
    ]
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind=debtor.kind, code=stage_code)
    return communication, items, stage


def message_costs(debtor, invoices, **kwargs) -> Decimal:
    communication, items, stage = message(debtor, invoices, **kwargs)
    return claim_for_message(communication, items, stage, DAY).costs_outstanding


@pytest.fixture
def creditor():
    """A creditor with the default dunning policies, whose stages the messages use."""
    creditor = make_creditor()
    seed_default_policies(creditor)
    return creditor


@pytest.fixture
def debtor(creditor):
    return make_debtor(creditor)


@pytest.fixture
def invoices(debtor):
    # The letter named three invoices of EUR 250.58 together, so it fixed
    # costs of 15 % = 37.59, raised to the EUR 40 minimum.
    invoices = [
        make_invoice(debtor, amount, due=DUE, dunning_stage="final_notice", dunning_stage_date=DAY)
        for amount in ("100.00", "80.00", "70.58")
    ]
    send_letter(debtor, invoices)
    return invoices


def test_single_invoice_notices_share_letter_costs(debtor, invoices):
    requested = [message_costs(debtor, [invoice]) for invoice in invoices]

    assert requested == [D("15.96"), D("12.77"), D("11.27")]
    assert sum(requested, D(0)) == D("40.00")


def test_batch_and_single_render_agree(debtor, invoices):
    planned = [message(debtor, [invoice]) for invoice in invoices[:2]]
    batch = load_batch_claim_data(planned, today=DAY)

    for communication, items, stage in planned:
        alone = claim_for_message(communication, items, stage, DAY)
        assert claim_for_message(communication, items, stage, DAY, batch_data=batch) == alone


def test_email_states_share(debtor, invoices):
    communication, items, stage = message(debtor, [invoices[0]])
    text = render_communication(communication, items, stage, today=DAY).text.replace("\xa0", " ")

    assert "€ 15,96" in text
    assert "€ 40,00" not in text


def test_portal_line_matches_message(debtor, invoices):
    (account,) = load_accounts([debtor.pk], DAY)
    lines = {line.invoice.pk: line for line in account.open_lines}

    assert account.costs == D("40.00")
    for invoice in invoices:
        claim = claim_for_message(*message(debtor, [invoice]), DAY)
        assert lines[invoice.pk].costs == claim.costs_outstanding
        assert amount_to_charge(account, {invoice.pk}) == claim.total


def test_portal_whole_claim_charges_letter_costs(debtor, invoices):
    (account,) = load_accounts([debtor.pk], DAY)

    assert account.online_total.costs == D("40.00")
    assert amount_to_charge(account, {i.pk for i in invoices}) == account.total_due


def test_paying_one_invoice_books_its_share(debtor, invoices):
    first = invoices[0]
    (account,) = load_accounts([debtor.pk], DAY)
    amount = amount_to_charge(account, {first.pk})
    payment = Payment.objects.create(
        creditor=debtor.creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="one",
        booking_date=DAY, amount=amount,
    )

    do_allocate_payment(payment, [first], source="test", reason="pays one invoice")

    first.refresh_from_db()
    booked = Allocation.objects.get(invoice=first, part=AllocationPart.COSTS)
    assert first.status == InvoiceStatus.PAID
    assert booked.amount == D("15.96")
    (account,) = load_accounts([debtor.pk], DAY)
    assert account.costs == D("24.04")
    assert [line.costs for line in account.open_lines] == [D("12.77"), D("11.27")]


def test_closing_without_share_waives_it(debtor, invoices):
    first = invoices[0]
    payment = Payment.objects.create(
        creditor=debtor.creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="principal",
        booking_date=DAY, amount=D("100.00"),
    )

    do_allocate_payment(payment, [first], source="test", reason="pays the principal only")

    (account,) = load_accounts([debtor.pk], DAY)
    assert [line.costs for line in account.open_lines] == [D("12.77"), D("11.27")]


def test_handed_over_invoice_keeps_its_share(debtor, invoices):
    handed_over = invoices[2]
    handed_over.status = InvoiceStatus.HANDED_OVER
    handed_over.save(update_fields=["status"])

    (account,) = load_accounts([debtor.pk], DAY)
    online = account.online_total

    assert online.costs == D("28.73")
    assert account.handed_over_costs == D("11.27")
    assert online.costs + account.handed_over_costs == account.costs == D("40.00")
    assert account.total_due == online.total + sum(line.amount_due for line in account.handed_over_lines)
    assert message_costs(debtor, [handed_over], stage_code="handover") == D("11.27")


def test_unnamed_invoice_has_no_consumer_costs(debtor, invoices):
    later = make_invoice(debtor, "500.00", due=dt.date(2026, 10, 1), dunning_stage="final_notice",
                         dunning_stage_date=DAY)

    (account,) = load_accounts([debtor.pk], DAY)
    lines = {line.invoice.pk: line for line in account.open_lines}

    assert lines[later.pk].costs == D("0.00")
    assert account.costs == D("40.00")
    assert message_costs(debtor, [later]) == D("0.00")


def test_business_notice_shares_claim_costs():
    creditor = make_creditor("zakelijk")
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, kind=DebtorKind.BUSINESS)
    first, second = (
        make_invoice(debtor, amount, due=DUE, dunning_stage="final_notice", dunning_stage_date=DAY)
        for amount in ("1000.00", "2000.00")
    )

    (account,) = load_accounts([debtor.pk], DAY)
    lines = {line.invoice.pk: line for line in account.open_lines}
    whole = message_costs(debtor, [first, second])

    assert whole == account.costs
    assert message_costs(debtor, [first]) == lines[first.pk].costs
    assert lines[first.pk].costs + lines[second.pk].costs == whole
