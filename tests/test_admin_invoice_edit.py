"""Invoice edits in the admin: every changed amount is on the timeline, and contradicting amounts are rejected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from betaalreis.dunning.tests.test_charges import send_letter
from betaalreis.errors import InvalidInput
from betaalreis.ledger.actions import do_add_invoice, do_edit_invoice_amounts
from betaalreis.ledger.models import Debtor, Invoice, InvoiceStatus, TimelineEvent
from betaalreis.testing import admin_form_data, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DUE = dt.date(2026, 9, 1)


@pytest.fixture
def debtor() -> Debtor:
    from betaalreis.dunning.policies import seed_default_policies

    creditor = make_creditor()
    seed_default_policies(creditor)
    return make_debtor(creditor)


def post_edit(client: Client, invoice: Invoice, *, language: str = "nl", **changes: object):
    """Post the admin change form of `invoice` with `changes`, in `language`, and return the response."""
    data = admin_form_data(invoice)
    data.update(changes)
    # LocaleMiddleware leaves the request's language active, and the override puts the previous one back.
    with translation.override(language):
        return client.post(
            reverse("admin:ledger_invoice_change", args=[invoice.pk]), data, HTTP_ACCEPT_LANGUAGE=language
        )


def saved(response) -> bool:
    return response.status_code == 302


def plain(text: str) -> str:
    """Return `text` with the no-break space after the euro sign as a plain space."""
    return text.replace("\xa0", " ")


def form_errors(response) -> dict[str, list[str]]:
    errors = response.context["adminform"].form.errors
    return {field: [plain(message) for message in messages] for field, messages in errors.items()}


def amount_events(invoice: Invoice):
    return TimelineEvent.objects.filter(invoice=invoice, data__reason="amounts_edited")


def test_open_amount_edit_recorded(admin_client, debtor):
    invoice = make_invoice(debtor, "10000.00", due=DUE, status=InvoiceStatus.HANDED_OVER)

    response = post_edit(admin_client, invoice, open_amount="5000.00")

    assert saved(response), form_errors(response)
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("5000.00")
    assert invoice.status == InvoiceStatus.HANDED_OVER
    (event,) = amount_events(invoice)
    assert plain(event.summary) == f"Factuur {invoice.number} handmatig gewijzigd: openstaand € 10.000,00 → € 5.000,00"
    # pytest-django logs its admin_client in as "admin".
    assert event.source == "admin:admin"
    assert event.debtor_id == debtor.pk
    assert event.data["open_amount_from"] == "10000.00"
    assert event.data["open_amount_to"] == "5000.00"
    assert "total_from" not in event.data
    assert plain(event.data["summary_en"]) == f"Invoice {invoice.number} edited by hand: open amount €10,000.00 → €5,000.00"


def test_total_and_open_in_one_event(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, total="250.00", open_amount="200.00")

    assert saved(response), form_errors(response)
    (event,) = amount_events(invoice)
    assert "totaal € 300,00 → € 250,00" in plain(event.summary)
    assert "openstaand € 300,00 → € 200,00" in plain(event.summary)
    assert event.data["total_to"] == "250.00"


def test_unchanged_form_writes_nothing(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, description="Onderhoud")

    assert saved(response), form_errors(response)
    assert not TimelineEvent.objects.filter(invoice=invoice).exists()


def test_paid_sets_open_amount_zero(admin_client, debtor):
    invoice = make_invoice(debtor, "1234.56", due=DUE)
    send_letter(debtor, invoice)

    response = post_edit(admin_client, invoice, status=InvoiceStatus.PAID)

    assert saved(response), form_errors(response)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert invoice.open_amount == Decimal("0.00")
    status_event = TimelineEvent.objects.get(invoice=invoice, data__to=InvoiceStatus.PAID)
    assert status_event.source == "admin:admin"
    (amount_event,) = amount_events(invoice)
    assert "openstaand € 1.234,56 → € 0,00" in plain(amount_event.summary)
    # The charges are waived over the amount that was open before the edit.
    waived = TimelineEvent.objects.get(invoice=invoice, data__reason="charges_waived")
    assert waived.data["closed_by"] == "status"
    assert Decimal(waived.data["costs"]) == Decimal("185.18")


def test_paid_with_open_amount_rejected(admin_client, debtor):
    invoice = make_invoice(debtor, "1234.56", due=DUE)

    response = post_edit(admin_client, invoice, status=InvoiceStatus.PAID, open_amount="234.56")

    assert response.status_code == 200
    (message,) = form_errors(response)["open_amount"]
    assert "Openstaand is € 234,56" in message
    assert "status Betaald" in message
    assert "Zet Openstaand op 0,00" in message
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.open_amount == Decimal("1234.56")
    assert not TimelineEvent.objects.filter(invoice=invoice).exists()


def test_paid_invoice_reopened_amount_rejected(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE, status=InvoiceStatus.PAID, open_amount=Decimal("0.00"))

    response = post_edit(admin_client, invoice, open_amount="50.00")

    assert response.status_code == 200
    assert "open_amount" in form_errors(response)
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("0.00")


def test_credited_with_open_amount_rejected(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, status=InvoiceStatus.CREDITED, open_amount="100.00")

    assert response.status_code == 200
    (message,) = form_errors(response)["open_amount"]
    assert "status Gecrediteerd" in message


def test_open_above_total_rejected(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, open_amount="300.01")

    assert response.status_code == 200
    (message,) = form_errors(response)["open_amount"]
    assert message == "Openstaand € 300,01 is hoger dan het totaal € 300,00. Verlaag Openstaand of verhoog het totaal."
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("300.00")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"total": "-10.00", "open_amount": "0.00"}, "total", "Totaal € -10,00 is negatief"),
        ({"open_amount": "-5.00"}, "open_amount", "Openstaand € -5,00 is negatief"),
    ],
)
def test_negative_amount_rejected(admin_client, debtor, changes, field, words):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, **changes)

    assert response.status_code == 200
    (message,) = form_errors(response)[field]
    assert words in message
    assert not amount_events(invoice).exists()


def test_credit_note_edit_recorded(admin_client, debtor):
    credit_note = make_invoice(debtor, "-50.00", due=DUE)

    response = post_edit(admin_client, credit_note, open_amount="-30.00")

    assert saved(response), form_errors(response)
    (event,) = amount_events(credit_note)
    assert "openstaand € -50,00 → € -30,00" in plain(event.summary)


def test_credit_note_positive_rejected(admin_client, debtor):
    credit_note = make_invoice(debtor, "-50.00", due=DUE)

    response = post_edit(admin_client, credit_note, open_amount="20.00")

    assert response.status_code == 200
    (message,) = form_errors(response)["open_amount"]
    assert "creditnota is positief" in message


def test_written_off_keeps_open_amount(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, status=InvoiceStatus.WRITTEN_OFF)

    assert saved(response), form_errors(response)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    assert invoice.open_amount == Decimal("300.00")
    assert not amount_events(invoice).exists()


def test_action_rejects_open_while_paid(debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE, status=InvoiceStatus.PAID, open_amount=Decimal("0.00"))

    with pytest.raises(InvalidInput) as raised:
        do_edit_invoice_amounts(
            invoice, total=Decimal("300.00"), open_amount=Decimal("10.00"), source="test", reason="test"
        )

    assert raised.value.code == "open_while_settled"
    invoice.refresh_from_db()
    assert invoice.open_amount == Decimal("0.00")


def test_form_error_english(admin_client, debtor):
    invoice = make_invoice(debtor, "300.00", due=DUE)

    response = post_edit(admin_client, invoice, language="en", status=InvoiceStatus.PAID, open_amount="100.00")

    assert response.status_code == 200
    (message,) = form_errors(response)["open_amount"]
    assert message == (
        "Open amount is €100.00, but with status Paid nothing is open any more. "
        "Set the open amount to 0.00, or choose another status if something is still open."
    )


def post_add(client: Client, debtor: Debtor, **fields: object):
    """Post the admin's add form for a new invoice of `debtor`, in Dutch, and return the response."""
    data: dict[str, object] = {
        "creditor": debtor.creditor_id, "debtor": debtor.pk, "number": "H-001", "kind": "invoice",
        "issue_date": "2026-08-18", "due_date": DUE.isoformat(), "currency": "EUR",
        "total": "250.00", "open_amount": "250.00", "status": InvoiceStatus.OPEN,
        # The add form shows the creation moment, filled with now, as a date and a time field.
        "created_at_0": "2026-08-18", "created_at_1": "10:00:00",
    }
    data.update(fields)
    with translation.override("nl"):
        return client.post(reverse("admin:ledger_invoice_add"), data, HTTP_ACCEPT_LANGUAGE="nl")


def test_added_invoice_recorded(admin_client, debtor):
    response = post_add(admin_client, debtor)

    assert saved(response), form_errors(response)
    invoice = Invoice.objects.get(number="H-001")
    (event,) = TimelineEvent.objects.filter(invoice=invoice)
    assert event.source == "admin:admin"
    assert event.debtor_id == debtor.pk
    assert event.data["reason"] == "added_by_hand"
    assert event.data["open_amount"] == "250.00"
    assert plain(event.summary) == "Factuur H-001 handmatig toegevoegd: totaal € 250,00, openstaand € 250,00"
    assert plain(event.data["summary_en"]) == "Invoice H-001 added by hand: total €250.00, open amount €250.00"


def test_added_credit_note_recorded(admin_client, debtor):
    response = post_add(admin_client, debtor, number="H-002", kind="credit_note", total="-40.00", open_amount="-40.00")

    assert saved(response), form_errors(response)
    (event,) = TimelineEvent.objects.filter(invoice__number="H-002")
    assert plain(event.summary) == "Creditnota H-002 handmatig toegevoegd: totaal € -40,00, openstaand € -40,00"


def test_added_invoice_other_creditor_rejected(admin_client, debtor):
    other = make_creditor("ander")

    response = post_add(admin_client, debtor, creditor=other.pk)

    assert response.status_code == 200
    assert "debtor" in form_errors(response)
    assert not Invoice.objects.filter(number="H-001").exists()
    assert not TimelineEvent.objects.exists()


def test_add_action_rejects_other_creditor(debtor):
    other = make_creditor("ander")
    invoice = Invoice(creditor=other, debtor=debtor, number="H-003", due_date=DUE, total=Decimal("10.00"),
                      open_amount=Decimal("10.00"))

    with pytest.raises(InvalidInput) as raised:
        do_add_invoice(invoice, source="admin:test")

    assert raised.value.code == "debtor_of_other_creditor"
    assert invoice.pk is None
