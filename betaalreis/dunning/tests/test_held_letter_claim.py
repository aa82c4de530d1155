"""A 14-day letter held over a Sunday states the claim of the day it goes out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
import zxingcpp

from betaalreis.dunning.policies import seed_default_policies
from betaalreis.dunning.run import run_cycle
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Payment, PaymentSource, TimelineEvent, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.outbox.models import Communication, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

SUNDAY = dt.date(2026, 11, 15)
MONDAY = dt.date(2026, 11, 16)


def money(amount: Decimal) -> str:
    return format_money(amount, "EUR", "nl").replace("\xa0", " ")


def test_held_letter_states_claim_after_partial_payment(betaalreis_home):
    creditor = make_creditor()
    seed_default_policies(creditor)
    debtor = make_debtor(creditor, email="", mobile="")
    invoice = make_invoice(debtor, "107.50", due=dt.date(2026, 10, 8))
    run_cycle(dt.date(2026, 11, 3), creditor)
    run_cycle(SUNDAY, creditor)
    letter = Communication.objects.get(stage="fourteen_day_letter")
    assert letter.status == CommunicationStatus.PENDING

    payment = Payment.objects.create(
        creditor=creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="partial",
        booking_date=MONDAY, amount=Decimal("50.00"),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="partial payment")
    run_cycle(MONDAY, creditor)

    letter.refresh_from_db()
    claim = claim_for_debtor(debtor, MONDAY)
    demanded = claim.principal_outstanding + claim.interest_outstanding
    assert letter.status == CommunicationStatus.SENT
    assert letter.total_amount == demanded
    # The interest up to the payment was paid first, so the letter requests more
    # than the ledger's open amount of 57.50.
    assert demanded == Decimal("57.96")

    (path,) = (betaalreis_home / "outbox" / "letter").rglob("*fourteen_day_letter_letter*.pdf")
    document = pdfium.PdfDocument(path.read_bytes())
    text = document[0].get_textpage().get_text_range().replace("\xa0", " ")
    assert f"Aanmaning: betaal {money(demanded)}" in text
    to_pay = next(line for line in text.splitlines() if line.startswith("Totaal te betalen"))
    assert to_pay.endswith(money(demanded)), to_pay
    assert f"Bedrag {money(demanded)}" in text
    assert "16 november 2026" in text
    words = " ".join(text.split())
    assert "nog niet volledig ontvangen" in words
    assert f"Het nog openstaande bedrag van de factuur (de hoofdsom) is {money(demanded)}" in words
    assert money(Decimal("107.95")) not in text
    image = document[0].render(scale=200 / 72).to_pil()
    (code,) = [result.bytes for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert code.decode("utf-8").split("\n")[7] == f"EUR{demanded}"

    term = TimelineEvent.objects.get(kind=TimelineKind.LEGAL, data__communication_id=letter.pk)
    assert term.data["amount_demanded"] == str(demanded)
    assert term.data["claim"]["principals"] == {invoice.number: str(claim.principal_outstanding)}
    assert term.data["claim"]["costs"] == str(claim.costs.if_unpaid)
    assert term.data["claim"]["total"] == str(demanded)
    assert term.data["sent_on"] == MONDAY.isoformat()
