"""A debtor's credit from an overpayment: shown in the portal, the statement and the admin, and refunded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2
import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.banking.credit import apply_credit
from betaalreis.errors import InvalidInput
from betaalreis.ledger.actions import do_allocate_payment, unallocated_amount
from betaalreis.ledger.credit import debtor_credit, do_refund_credit
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.ledger.models import Creditor, Invoice, Payment, PaymentSource, TimelineEvent
from betaalreis.payments.models import CheckoutPayment
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def _text(content: bytes | str) -> str:
    """Return page or summary text with non-breaking spaces as plain spaces, as amounts are written."""
    text = content.decode() if isinstance(content, bytes) else content
    return text.replace("\xa0", " ").replace("&nbsp;", " ")


@pytest.fixture
def overpaid(client):
    """K3 paid EUR 120.00 by bank for invoice F2026-004 of EUR 99.95: EUR 20.05 credit."""
    debtor = make_debtor(make_creditor(), "K3")
    invoice = make_invoice(debtor, "F2026-004", "99.95")
    payment = Payment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, source=PaymentSource.BANK, external_id="s1-1",
        booking_date=timezone.localdate(), amount=Decimal("120.00"),
    )
    do_allocate_payment(payment, [invoice], source="bank", reason="reference F2026-004")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor, payment


def test_overview_shows_credit(client, overpaid):
    page = _text(client.get(reverse("portal:overview")).content)

    assert "U heeft een tegoed van € 20,05" in page
    assert "geen openstaande facturen" in page


def test_statement_shows_credit(client, overpaid):
    debtor, _ = overpaid

    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))

    text = pypdfium2.PdfDocument(statement.content)[0].get_textpage().get_text_range()
    assert "Uw tegoed" in text
    assert "20,05" in text


def test_statement_shows_credit_in_english(client, overpaid, settings):
    debtor, _ = overpaid
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    statement = client.get(reverse("portal:statement_pdf", kwargs={"debtor_id": debtor.pk}))

    text = pypdfium2.PdfDocument(statement.content)[0].get_textpage().get_text_range()
    assert "Your credit" in text
    assert "20.05" in text


def test_refund_records_row_and_event(overpaid):
    debtor, payment = overpaid

    refund = do_refund_credit(debtor, refunded_on=dt.date(2026, 12, 5), source="user:cm")

    assert refund.amount == Decimal("20.05")
    assert refund.credit_left == Decimal("0.00")
    (row,) = refund.refunds
    assert row.amount == Decimal("-20.05")
    assert row.reverses_id == payment.pk
    assert unallocated_amount(payment) == Decimal("0.00")
    assert debtor_credit([debtor.pk]) == {}
    event = TimelineEvent.objects.get(debtor=debtor, summary__startswith="Tegoed terugbetaald")
    assert "€ 20,05" in _text(event.summary)
    assert event.source == "user:cm"
    english = summary_in_language(event.summary, event.data, "en")
    assert english.startswith("Credit refunded: €20.05 on ")
    assert "tegoed" not in english


def test_partial_refund_leaves_rest(overpaid):
    debtor, payment = overpaid

    refund = do_refund_credit(debtor, amount=Decimal("5.00"), refunded_on=timezone.localdate(), source="user:cm")

    assert refund.credit_left == Decimal("15.05")
    assert debtor_credit([debtor.pk]) == {debtor.pk: {"EUR": Decimal("15.05")}}


def test_refund_beyond_credit_rejected(overpaid):
    debtor, _ = overpaid

    with pytest.raises(InvalidInput) as raised:
        do_refund_credit(debtor, amount=Decimal("20.06"), refunded_on=timezone.localdate(), source="user:cm")

    assert raised.value.code == "refund_amount"
    assert Payment.objects.filter(amount__lt=0).count() == 0


def test_refunded_credit_pays_no_later_invoice(overpaid):
    debtor, _ = overpaid
    do_refund_credit(debtor, refunded_on=timezone.localdate(), source="user:cm")
    later = make_invoice(debtor, "F2026-010", "30.00")

    apply_credit(debtor.creditor)

    later.refresh_from_db()
    assert later.open_amount == Decimal("30.00")


def test_kept_credit_pays_later_invoice(overpaid):
    debtor, _ = overpaid
    later = make_invoice(debtor, "F2026-010", "30.00")

    apply_credit(debtor.creditor)

    later.refresh_from_db()
    assert later.open_amount == Decimal("9.95")


def test_admin_shows_credit_and_records_refund(admin_client, overpaid):
    debtor, payment = overpaid
    url = reverse("admin:ledger_debtor_change", args=[debtor.pk])

    page = _text(admin_client.get(url).content)
    response = admin_client.post(
        reverse("admin:ledger_debtor_changelist"),
        {"action": "record_credit_refund", "_selected_action": [debtor.pk]},
        follow=True,
    )

    assert "€ 20,05" in page
    assert "1 terugbetaling van tegoed vastgelegd." in response.content.decode()
    assert unallocated_amount(payment) == Decimal("0.00")
    assert TimelineEvent.objects.filter(debtor=debtor, summary__startswith="Tegoed terugbetaald").count() == 1


def test_return_page_names_credit(client, settings):
    settings.BETAALREIS_PAYMENT_PROVIDER = "test"
    debtor = make_debtor(make_creditor(), "K1")
    invoice = make_invoice(debtor, "F2026-001", "150.58")
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [invoice.pk]})
    checkout = CheckoutPayment.objects.get()
    # The invoice was paid another way just before the provider reported the payment.
    Invoice.objects.filter(pk=invoice.pk).update(open_amount=0, status="paid")

    response = client.post(checkout.checkout_url, {"outcome": "paid"}, follow=True)

    assert "U heeft € 150,58 meer betaald dan er openstond" in _text(response.content)


@pytest.mark.parametrize(
    ("language", "ending", "offset_text"),
    [
        ("nl", "neem dan contact op met K3 Energie B.V.</p>", "met uw openstaande facturen, de oudste eerst"),
        ("en", "please contact K3 Energie B.V.</p>", "against your open invoices, oldest first"),
    ],
)
def test_credit_notice_wording(client, settings, overpaid, language, ending, offset_text):
    debtor, _payment = overpaid
    # A legal name that ends with a full stop gets no second one after it.
    Creditor.objects.filter(pk=debtor.creditor_id).update(legal_name="K3 Energie B.V.", trade_name="", email="")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = client.get(reverse("portal:overview")).content.decode()

    assert ending in page
    assert "B.V.." not in page
    assert offset_text in page


def test_fully_allocated_payment_leaves_no_credit():
    # 0.01 + 0.01 + 0.15 summed as binary floats is 2.8e-17 short of 0.17,
    # which SQLite used to report as credit.
    debtor = make_debtor(make_creditor(), "K7")
    invoices = [make_invoice(debtor, f"F2026-07{index}", amount) for index, amount in enumerate(["0.01", "0.01", "0.15"])]
    payment = Payment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, source=PaymentSource.BANK, external_id="s7-1",
        booking_date=timezone.localdate(), amount=Decimal("0.17"),
    )

    do_allocate_payment(payment, invoices, source="bank", reason="three invoices")

    assert debtor_credit([debtor.pk]) == {}


def test_credit_is_whole_cents():
    debtor = make_debtor(make_creditor(), "K8")
    invoices = [make_invoice(debtor, f"F2026-08{index}", amount) for index, amount in enumerate(["0.10", "0.10"])]
    payment = Payment.objects.create(
        creditor_id=debtor.creditor_id, debtor=debtor, source=PaymentSource.BANK, external_id="s8-1",
        booking_date=timezone.localdate(), amount=Decimal("0.30"),
    )

    do_allocate_payment(payment, invoices, source="bank", reason="two invoices")

    credit = debtor_credit([debtor.pk])[debtor.pk]["EUR"]
    assert credit == Decimal("0.10")
    assert credit.as_tuple().exponent == -2
