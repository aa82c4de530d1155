"""A message that goes out after its planned day states the claim, date and term of the day it is sent."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from django.utils import timezone

from betaalreis.channels.backends.letter import FileLetterBackend
from betaalreis.channels.base import OutgoingMessage, SendResult
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.legal.fourteen_day import fourteen_day_term
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.outbox.dispatch import dispatch
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
FRIDAY = dt.date(2026, 12, 4)
MONDAY = dt.date(2026, 12, 7)
FRIDAY_TEN = dt.datetime(2026, 12, 4, 10, 0, tzinfo=AMSTERDAM)
SUNDAY_NIGHT = dt.datetime(2026, 12, 6, 1, 4, tzinfo=AMSTERDAM)
MONDAY_TEN = dt.datetime(2026, 12, 7, 10, 0, tzinfo=AMSTERDAM)
# The consumer policy's 14-day letter is due 28 days after the due date.
LETTER_OFFSET = 28


class PostingLetterBackend(FileLetterBackend):
    """A print service that posts each letter when it gets it, so it reaches the debtor.

    It keeps the PDF in the file outbox and reports the hand-over at the
    time that django.utils.timezone.now() gives, as a vendor adapter does.
    """

    provider = "posting-test"
    reaches_debtor = True

    def send(self, message: OutgoingMessage) -> SendResult:
        return replace(super().send(message), sent_at=timezone.now())


@pytest.fixture
def posted_letters(settings):
    dotted = f"{__name__}.PostingLetterBackend"
    settings.BETAALREIS_CHANNEL_BACKENDS = {**settings.BETAALREIS_CHANNEL_BACKENDS, "letter": dotted}


def money(amount: Decimal) -> str:
    return format_money(amount, "EUR", "nl").replace("\xa0", " ")


def letter_text(betaalreis_home) -> str:
    (path,) = (betaalreis_home / "outbox" / "letter").rglob("*.pdf")
    document = pdfium.PdfDocument(path.read_bytes())
    return " ".join(document[0].get_textpage().get_text_range().replace("\xa0", " ").split())


# Each case: the real moments of the run for Friday and of a later dispatch
# (None for none), the day the letter goes out, and its presumed receipt and
# last day to pay. A posted letter counts as received on the second day
# after posting, not counting Sundays and Mondays, and the term runs 14 days
# from the day after receipt.
CASES = {
    "sent on its planned day": (FRIDAY_TEN, None, FRIDAY, dt.date(2026, 12, 8), dt.date(2026, 12, 22)),
    "catch-up on Monday": (MONDAY_TEN, None, MONDAY, dt.date(2026, 12, 9), dt.date(2026, 12, 23)),
    "held over Sunday": (SUNDAY_NIGHT, MONDAY_TEN, MONDAY, dt.date(2026, 12, 9), dt.date(2026, 12, 23)),
}


@pytest.mark.parametrize(("run_at", "dispatch_at", "sent_on", "received_on", "term_end"), list(CASES.values()),
                         ids=list(CASES))
def test_letter_states_send_day(
    creditor, betaalreis_home, real_now, posted_letters, run_at, dispatch_at, sent_on, received_on, term_end,
):
    debtor = make_debtor(creditor, email="", mobile="")
    invoice = make_invoice(debtor, "1000.00", due=FRIDAY - dt.timedelta(days=LETTER_OFFSET))
    real_now(run_at)
    run_cycle(FRIDAY, creditor)
    if dispatch_at is not None:
        real_now(dispatch_at)
        dispatch(creditor=creditor)

    letter = Communication.objects.get(debtor=debtor)
    assert letter.stage == "fourteen_day_letter"
    assert letter.status == CommunicationStatus.SENT
    assert letter.run_date == FRIDAY
    assert letter.sent_at.astimezone(AMSTERDAM).date() == sent_on

    claim = claim_for_debtor(debtor, sent_on)
    friday_claim = claim_for_debtor(debtor, FRIDAY)
    assert max(period.end for period in claim.interest_periods) == sent_on
    demanded = claim.principal_outstanding + claim.interest_outstanding
    assert letter.total_amount == demanded

    text = letter_text(betaalreis_home)
    assert invoice.number in text
    assert f"{sent_on.day} december 2026" in text
    assert f"Daarbij komt tot nu toe {money(claim.interest_outstanding)} wettelijke rente" in text
    assert f"Aanmaning: betaal {money(demanded)}" in text
    if sent_on != FRIDAY:
        assert claim.interest_outstanding > friday_claim.interest_outstanding
        assert "4 december 2026" not in text
        assert money(friday_claim.interest_outstanding) not in text

    term = TimelineEvent.objects.get(kind=TimelineKind.LEGAL, data__communication_id=letter.pk)
    assert term.at.astimezone(AMSTERDAM).date() == sent_on
    assert term.data["sent_on"] == sent_on.isoformat()
    assert term.data["received_on"] == received_on.isoformat()
    assert term.data["term_end"] == term_end.isoformat()
    assert fourteen_day_term(sent_on, "letter").term_end == term_end
    assert term.data["amount_demanded"] == str(demanded)

    sent_row = TimelineEvent.objects.get(kind=TimelineKind.COMMUNICATION, data__communication_id=letter.pk)
    assert sent_row.at.astimezone(AMSTERDAM).date() == sent_on

    (account,) = load_accounts([debtor.pk], sent_on)
    assert account.term_end == term_end
    assert account.interest == claim.interest_outstanding
