"""A new 14-day letter for a reopened invoice while another invoice already carries costs.

Invoices A (300.00) and B (200.00) of one consumer are named by a first
14-day letter. B is paid within its term, A is not, so A carries the costs
over 300.00 (EUR 45.00). Then B opens again and its dunning restarts. Its
new 14-day letter must name A too (art. 6:96 lid 7 BW: one reminder for all
claims), and the costs are those over the summed principal (EUR 75.00 over
500.00), not a second EUR 40 minimum on top of A's EUR 45.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from betaalreis.dunning.charges import charged_invoice_ids, claim_letters
from betaalreis.dunning.letter_costs import _claim_letters, _Letter
from betaalreis.dunning.models import InvoiceStage, ReopenCause, Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.reopening import do_restart_dunning
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Debtor, Invoice, InvoiceStatus, Payment, PaymentSource
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.legal.models import legal_settings_for
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import claim_for_message, render_communication
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice, make_sent_letter

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FIRST_LETTER_DAY = dt.date(2026, 10, 21)
B_PAID_ON = dt.date(2026, 10, 28)
REOPENED_AT = dt.datetime(2026, 11, 1, 10, 0, tzinfo=AMSTERDAM)
# B's reopened amount falls due on 2026-11-02, so its 14-day letter is due 28 days later.
SECOND_LETTER_DAY = dt.date(2026, 11, 30)


def _reopened_ledger(kind: str = "consumer") -> tuple[Debtor, Invoice, Invoice]:
    """Return a debtor with A still open after its first letter and B reopened after it was paid in the term."""
    creditor = make_creditor()
    seed_default_policies(creditor)
    # No phone, so no call task is due for A on the day of the second letter.
    debtor = make_debtor(creditor, kind=kind, mobile="", phone="")
    first = make_invoice(debtor, "300.00", due=dt.date(2026, 10, 1), number="A")
    second = make_invoice(debtor, "200.00", due=dt.date(2026, 9, 1), issue_date=dt.date(2026, 8, 31), number="B")
    make_sent_letter(debtor, [first, second], FIRST_LETTER_DAY)
    InvoiceStage.objects.create(invoice=first, stage="final_notice", stage_date=dt.date(2026, 11, 19))
    InvoiceStage.objects.create(invoice=second, stage="fourteen_day_letter", stage_date=FIRST_LETTER_DAY)

    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.BANK, external_id="bank-B",
        booking_date=B_PAID_ON, amount=Decimal("200.00"),
    )
    do_allocate_payment(payment, [second], source="test", reason="invoice number in remittance")
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID

    second.status, second.open_amount = InvoiceStatus.OPEN, Decimal("200.00")
    second.save(update_fields=["status", "open_amount", "updated_at"])
    do_restart_dunning([second], cause=ReopenCause.IMPORT, source="test", at=REOPENED_AT)
    return debtor, first, second


def _costs_on(debtor: Debtor, day: dt.date) -> Decimal:
    (account,) = load_accounts([debtor.pk], day)
    return account.costs


def test_new_letter_names_invoice_with_costs():
    debtor, first, second = _reopened_ledger()
    assert _costs_on(debtor, SECOND_LETTER_DAY - dt.timedelta(days=1)) == Decimal("45.00")

    run_cycle(SECOND_LETTER_DAY, debtor.creditor)

    letter = Communication.objects.get(debtor=debtor, stage="fourteen_day_letter", run_date=SECOND_LETTER_DAY)
    assert letter.status == CommunicationStatus.SENT
    assert sorted(letter.items.values_list("invoice__number", flat=True)) == ["A", "B"]
    # A keeps its stage, and only B moves to the letter.
    assert dict(InvoiceStage.objects.filter(invoice__debtor=debtor).values_list("invoice__number", "stage")) == {
        "A": "final_notice", "B": "fourteen_day_letter",
    }


def test_new_letter_announces_costs_over_sum():
    debtor, first, second = _reopened_ledger()
    run_cycle(SECOND_LETTER_DAY, debtor.creditor)
    letter = Communication.objects.get(debtor=debtor, stage="fourteen_day_letter", run_date=SECOND_LETTER_DAY)
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind="consumer", code="fourteen_day_letter")

    stated = claim_for_message(letter, list(letter.items.select_related("invoice")), stage, SECOND_LETTER_DAY)

    # A's EUR 45 are owed now, so they are part of the amount to pay.
    assert stated.costs_due
    assert stated.costs == Decimal("45.00")
    assert stated.total == stated.principal + stated.interest + Decimal("45.00")
    assert letter.total_amount == stated.total
    # After the term: the costs over 300.00 + 200.00, not EUR 40 over B on top of A's EUR 45.
    assert stated.costs_if_unpaid == Decimal("75.00")
    assert stated.costs_increase_if_unpaid == Decimal("30.00")


@pytest.mark.parametrize(
    ("language", "owed", "after"),
    [
        ("nl", "Daarom bent u nu al € 45,00 incassokosten verschuldigd.",
         "Dan worden de incassokosten in totaal € 75,00: € 30,00 meer dan nu."),
        ("en", "You therefore already owe €45.00 in collection costs.",
         "the collection costs will come to €75.00 in total: €30.00 more than now."),
    ],
)
def test_new_letter_text_states_owed_and_after(language, owed, after):
    debtor, first, second = _reopened_ledger()
    debtor.language = language
    debtor.save(update_fields=["language"])
    run_cycle(SECOND_LETTER_DAY, debtor.creditor)
    letter = Communication.objects.get(debtor=debtor, stage="fourteen_day_letter", run_date=SECOND_LETTER_DAY)
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind="consumer", code="fourteen_day_letter")

    message = render_communication(letter, list(letter.items.select_related("invoice")), stage, today=SECOND_LETTER_DAY)

    text = " ".join(message.text.split())
    assert owed in text
    assert after in text


def test_costs_after_new_term_not_stacked():
    debtor, first, second = _reopened_ledger()
    run_cycle(SECOND_LETTER_DAY, debtor.creditor)
    letter = Communication.objects.get(debtor=debtor, stage="fourteen_day_letter", run_date=SECOND_LETTER_DAY)
    term_end = fourteen_day_term(
        letter.sent_at.astimezone(AMSTERDAM).date(), letter.channel, legal_settings_for(debtor.creditor)
    ).term_end

    # While the new term runs, A's costs from the first letter stay owed.
    assert _costs_on(debtor, term_end) == Decimal("45.00")
    # After it, the costs over the summed principal, of which A's EUR 45 are part.
    assert _costs_on(debtor, term_end + dt.timedelta(days=1)) == Decimal("75.00")


def test_business_reopen_costs_unchanged():
    debtor, first, second = _reopened_ledger(kind="business")
    day = dt.date(2026, 12, 1)

    run_cycle(SECOND_LETTER_DAY, debtor.creditor)

    # A business gets no 14-day letter and owes costs from the due dates
    # (art. 6:96 lid 4 BW) without a letter, as the claim law computes them.
    assert not Communication.objects.filter(debtor=debtor, stage="fourteen_day_letter").exclude(
        run_date=FIRST_LETTER_DAY
    ).exists()
    charged = charged_invoice_ids(debtor.creditor_id, [first.pk, second.pk])
    assert charged == {first.pk}
    assert claim_letters(debtor.creditor, legal_settings_for(debtor.creditor), debtor, {first.pk: "A"}).letter_terms == ()
    # The scale over A's 300.00. B carries no costs until it reaches a stage that states the claim again.
    assert _costs_on(debtor, day) == claim_for_debtor(debtor, day, invoice_ids=charged).costs.outstanding == Decimal("45.00")


def test_open_invoice_without_letter_loads():
    # Invoice 2 is open but no sent letter named it, as when its letter was
    # planned and then held. Looking up its latest term raised KeyError.
    letters = {10: _Letter(dt.date(2026, 11, 5), {1})}
    letters_of_invoice = {1: [10]}

    costs = _claim_letters(
        list(letters.values()), letters_of_invoice, letters, {1, 2}, {1: "A", 2: "B"}, {},
        legal_settings_for(make_creditor()),
    )

    assert costs.term_end is None
    assert [term.term_end for term in costs.letter_terms] == [dt.date(2026, 11, 5)]


def test_letter_stage_without_sent_letter():
    # Planning moves B to the letter stage when it writes the new letter,
    # but a held letter is not sent yet, so B has no counted letter. The
    # claim must still load, with A's costs from its own letter only.
    debtor, first, second = _reopened_ledger()
    InvoiceStage.objects.filter(invoice=second).update(stage="fourteen_day_letter", stage_date=SECOND_LETTER_DAY)

    costs = _costs_on(debtor, SECOND_LETTER_DAY)

    assert costs == Decimal("45.00")
