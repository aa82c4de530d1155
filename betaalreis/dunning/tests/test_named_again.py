"""The next stage of an invoice that a later 14-day letter names again.

Invoice A got its own 14-day letter on 29 September 2026 (by email, term up
to and including 13 October). Invoice B fell due later, and its letter of
18 October names A again (art. 6:96 lid 7 BW: one reminder for all claims),
with a term up to and including 2 November. That second term decides when
the costs over A and B together are owed, but A's own dunning goes on after
its own term: its final notice is due 49 days after its due date. B goes
along with A's final notice once B's own term has ended.
"""

from __future__ import annotations

import datetime as dt

import pytest

from betaalreis.dunning.letter_costs import letter_costs, stated_letter_costs
from betaalreis.dunning.planner import plan_day
from betaalreis.ledger.models import Invoice
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.models import legal_settings_for
from betaalreis.testing import make_debtor, make_invoice, make_sent_letter

pytestmark = pytest.mark.django_db

FIRST_LETTER_DAY = dt.date(2026, 9, 29)
SECOND_LETTER_DAY = dt.date(2026, 10, 18)
# 49 days after A's due date, while the second letter's term runs.
FINAL_NOTICE_DAY = dt.date(2026, 10, 20)


def _two_letters(creditor) -> tuple[Invoice, Invoice]:
    debtor = make_debtor(creditor, mobile="", phone="")
    first = make_invoice(
        debtor, "300.00", due=dt.date(2026, 9, 1),
        dunning_stage="fourteen_day_letter", dunning_stage_date=FIRST_LETTER_DAY,
    )
    make_sent_letter(debtor, [first], FIRST_LETTER_DAY, channel="email")
    # The second letter names A again and leaves its stage as it was.
    second = make_invoice(
        debtor, "200.00", due=dt.date(2026, 9, 20),
        dunning_stage="fourteen_day_letter", dunning_stage_date=SECOND_LETTER_DAY,
    )
    make_sent_letter(debtor, [first, second], SECOND_LETTER_DAY, channel="email")
    return first, second


def _planned(plan) -> dict[int, str]:
    return {invoice_id: message.stage.code for message in plan.messages for invoice_id in message.invoice_ids}


def test_named_again_keeps_own_term(creditor):
    first, second = _two_letters(creditor)

    plan = plan_day(FINAL_NOTICE_DAY, creditor)

    assert _planned(plan) == {first.pk: "final_notice"}


@pytest.mark.parametrize(
    ("day", "planned"),
    [
        # A's own term runs to 13 October, and its final notice is not due before 20 October.
        (dt.date(2026, 10, 19), set()),
        (dt.date(2026, 11, 2), {"A"}),
        # B's term has ended, so B goes along with A's final notice before its own offset.
        (dt.date(2026, 11, 7), {"A", "B"}),
        (dt.date(2026, 11, 8), {"A", "B"}),
    ],
)
def test_final_notice_days(creditor, day, planned):
    first, second = _two_letters(creditor)
    names = {first.pk: "A", second.pk: "B"}

    plan = plan_day(day, creditor)

    assert {names[invoice_id] for invoice_id in _planned(plan)} == planned


def test_stated_letters_match_outbox(creditor):
    # `betaalreis claim` takes the letters by hand and must set the same terms as the outbox does.
    first, second = _two_letters(creditor)
    settings = legal_settings_for(creditor)
    numbers = {first.pk: first.number, second.pk: second.number}
    terms = [
        (fourteen_day_term(FIRST_LETTER_DAY, "email", settings).term_end, [first.number]),
        (fourteen_day_term(SECOND_LETTER_DAY, "email", settings).term_end, [first.number, second.number]),
    ]

    from_outbox = letter_costs(creditor, settings, {"claim": (first.debtor_id, list(numbers))}, numbers)["claim"]
    stated = stated_letter_costs(terms, list(numbers.values()), settings)

    assert stated == from_outbox
    assert [term.term_end for term in stated.letter_terms] == [dt.date(2026, 10, 13), dt.date(2026, 11, 2)]


@pytest.mark.parametrize(("day", "planned"), [(FINAL_NOTICE_DAY, set()), (dt.date(2026, 11, 3), {"A", "B"})])
def test_failed_own_letter_uses_next(creditor, day, planned):
    # A's own letter failed for good, but the second letter reached the debtor, so its term counts for A.
    # B's term of the same letter has ended too, so B goes along with A's final notice.
    first, second = _two_letters(creditor)
    own = Communication.objects.get(items__invoice=first, run_date=FIRST_LETTER_DAY)
    own.status = CommunicationStatus.FAILED
    own.save(update_fields=["status"])
    names = {first.pk: "A", second.pk: "B"}

    plan = plan_day(day, creditor)

    assert {names[invoice_id] for invoice_id in _planned(plan)} == planned
