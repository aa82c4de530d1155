"""Email, letter, SMS and portal state the same claim for one debtor on one day after a partial payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
import zxingcpp

from betaalreis.dunning.models import Stage
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.actions import do_allocate_payment
from betaalreis.ledger.models import Payment, PaymentSource
from betaalreis.ledger.money import format_money
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.outbox.render import render_communication
from betaalreis.portal.services import load_accounts
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = dt.date(2026, 11, 20)
LETTER_SENT = dt.datetime(2026, 9, 21, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def debtor():
    creditor = make_creditor()
    seed_default_policies(creditor)
    return make_debtor(creditor)


@pytest.fixture
def invoice(debtor):
    invoice = make_invoice(debtor, "300.00", due=dt.date(2026, 9, 1))
    # The 14-day letter went out in September, so its term has passed and
    # the collection costs are owed.
    letter = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel="letter", stage="fourteen_day_letter",
        language="nl", idempotency_key="letter-1", status=CommunicationStatus.SENT,
        run_date=LETTER_SENT.date(), sent_at=LETTER_SENT, total_amount=Decimal("300.00"),
    )
    CommunicationInvoice.objects.create(communication=letter, invoice=invoice, open_amount=Decimal("300.00"))
    payment = Payment.objects.create(
        creditor=debtor.creditor, debtor=debtor, source=PaymentSource.MANUAL, external_id="partial",
        booking_date=dt.date(2026, 10, 20), amount=Decimal("100.00"),
    )
    do_allocate_payment(payment, [invoice], source="test", reason="partial payment")
    invoice.refresh_from_db()
    return invoice


def render(debtor, invoice, channel: str):
    communication = Communication.objects.create(
        creditor=debtor.creditor, debtor=debtor, channel=channel, stage="final_notice", language="nl",
        idempotency_key=f"final-{channel}", run_date=DAY, total_amount=invoice.open_amount,
    )
    items = [CommunicationInvoice.objects.create(
        communication=communication, invoice=invoice, open_amount=invoice.open_amount
    )]
    stage = Stage.objects.get(policy__creditor=debtor.creditor, policy__debtor_kind=debtor.kind, code="final_notice")
    return render_communication(communication, items, stage, today=DAY)


def money(amount: Decimal) -> str:
    return format_money(amount, "EUR", "nl").replace("\xa0", " ")


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\r", "")


def pdf_text(content: bytes) -> str:
    return plain("\n".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(content)))


def qr_amount(content: bytes) -> str:
    image = pdfium.PdfDocument(content)[0].render(scale=200 / 72).to_pil()
    (code,) = [result.bytes for result in zxingcpp.read_barcodes(image)
               if result.format == zxingcpp.BarcodeFormat.QRCode]
    # Line 8 of an EPC QR payload is the currency and amount.
    return code.decode("utf-8").split("\n")[7]


@pytest.fixture
def claim(debtor, invoice):
    claim = claim_for_debtor(debtor, DAY, fourteen_day_term_end=dt.date(2026, 10, 9))
    # The payment paid the interest accrued by then before the principal, so
    # the claim's principal is more than the ledger's open amount.
    assert claim.principal_outstanding > invoice.open_amount == Decimal("200.00")
    assert claim.costs.status == "due"
    return claim


def test_portal_shows_claim(debtor, claim):
    (account,) = load_accounts([debtor.pk], DAY)

    assert account.principal == claim.principal_outstanding
    assert account.interest == claim.interest_outstanding
    assert account.costs == claim.costs.outstanding
    assert account.total_due == claim.total_outstanding
    assert account.total_due == account.principal + account.interest + account.costs


def line_starting(text: str, prefix: str) -> str:
    """Return the first line of `text` that starts with `prefix` after its indent."""
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(prefix))


def test_email_lines_add_up_to_claim(debtor, invoice, claim):
    message = render(debtor, invoice, "email")
    text = plain(message.text)

    assert money(claim.total_outstanding) in message.subject.replace("\xa0", " ")
    assert f"{invoice.number}, vervaldatum 01-09-2026: {money(claim.principal_outstanding)}" in text
    # The debtor paid part, so each part shows what is still open of it.
    assert line_starting(text, "Wettelijke rente:").endswith(f"nog open {money(claim.interest_outstanding)}")
    assert line_starting(text, "Incassokosten:").endswith(f"nog open {money(claim.costs.outstanding)}")
    assert f"Totaal te betalen: {money(claim.total_outstanding)}" in text
    assert money(invoice.open_amount) not in text
    assert message.metadata["amount_due"] == str(claim.total_outstanding)


def test_letter_pdf_and_qr_match_claim(debtor, invoice, claim):
    message = render(debtor, invoice, "letter")
    text = pdf_text(message.attachments[0].content)

    assert f"{invoice.number} 18-08-2026 01-09-2026 {money(claim.principal_outstanding)}" in text
    assert line_starting(text, "Totaal te betalen").endswith(money(claim.total_outstanding))
    assert f"Bedrag {money(claim.total_outstanding)}" in text
    assert money(invoice.open_amount) not in text
    assert qr_amount(message.attachments[0].content) == f"EUR{claim.total_outstanding}"


def test_sms_asks_claim_total(debtor, invoice, claim):
    message = render(debtor, invoice, "sms")

    assert money(claim.total_outstanding) in plain(message.text)


def test_all_views_agree(debtor, invoice, claim):
    (account,) = load_accounts([debtor.pk], DAY)
    amounts = {
        "portal": account.total_due,
        **{channel: Decimal(render(debtor, invoice, channel).metadata["amount_due"])
           for channel in ("email", "letter", "sms")},
    }

    assert set(amounts.values()) == {claim.total_outstanding}, amounts


@pytest.mark.parametrize("channel", ["sms", "whatsapp"])
def test_short_message_names_payment(debtor, invoice, claim, channel):
    (payment,) = claim.payments
    assert payment.to_costs > 0
    assert payment.to_interest > 0

    message = render(debtor, invoice, channel)

    text = plain(message.text)
    assert f"Wij ontvingen {money(payment.amount)} van u. Dat ging eerst naar kosten en rente." in text
    assert f"Er staat nog {money(claim.total_outstanding)} open" in text
