"""A disputed invoice can be paid online when the debtor ticks it, but is neither ticked nor in the default total."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from betaalreis.ledger.models import Allocation, AllocationPart, InvoiceStatus, Payment, TimelineEvent
from betaalreis.payments.models import CheckoutPayment
from betaalreis.portal import services
from betaalreis.portal.links import make_portal_token
from betaalreis.portal.models import DisputeReason
from betaalreis.portal.tests.factories import give_claim_stage, make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode().replace("\xa0", " ")


def _checkbox(page: str, invoice) -> str:
    return re.search(rf'<input type="checkbox" name="invoices" value="{invoice.pk}"[^>]*>', page).group(0)


def _dispute(debtor, invoice) -> None:
    services.do_open_dispute(debtor, invoice, reason=DisputeReason.WRONG_AMOUNT, message="Dit klopt niet.")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.DISPUTED


@pytest.fixture
def disputed(client):
    """A debtor with an open invoice of EUR 100.00 and a disputed one of EUR 50.00, signed in."""
    debtor = make_debtor(make_creditor())
    open_invoice = make_invoice(debtor, "F-001", "100.00")
    contested = make_invoice(debtor, "F-002", "50.00")
    _dispute(debtor, contested)
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor, open_invoice, contested


def test_disputed_invoice_not_ticked(client, disputed):
    debtor, open_invoice, contested = disputed

    page = _text(client.get(reverse("portal:overview")))

    assert "checked" in _checkbox(page, open_invoice)
    assert "checked" not in _checkbox(page, contested)
    assert "Totaal te betalen: <strong>€ 100,00</strong>" in page
    assert "U heeft deze factuur betwist, dus we hebben het vakje niet aangevinkt." in page
    assert (
        "Betwiste facturen zijn niet aangevinkt, dus ze tellen niet mee in het totaal. "
        "Vinkt u er een aan, dan betaalt u die factuur erbij."
    ) in _flat(page)


def test_disputed_note_in_english(client, disputed):
    debtor, open_invoice, contested = disputed
    debtor.language = "en"
    debtor.save(update_fields=["language"])
    client.cookies["django_language"] = "en"

    page = _text(client.get(reverse("portal:overview"), HTTP_ACCEPT_LANGUAGE="en"))

    assert "Total due: <strong>€100.00</strong>" in page
    assert "You disputed this invoice, so we did not tick it." in page
    assert "Disputed invoices are not ticked, so they are not in the total." in page


def test_default_pay_leaves_out_disputed(client, disputed):
    debtor, open_invoice, contested = disputed

    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [open_invoice.pk]})

    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == Decimal("100.00")
    assert [invoice.number for invoice in checkout.invoices.all()] == ["F-001"]


def test_ticked_disputed_invoice_is_paid(client, disputed):
    debtor, open_invoice, contested = disputed

    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [open_invoice.pk, contested.pk]})

    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == Decimal("150.00")
    assert sorted(invoice.number for invoice in checkout.invoices.all()) == ["F-001", "F-002"]


@pytest.fixture
def claim_with_dispute(client):
    """A business debtor whose claim had two charged invoices, one of them now disputed."""
    debtor = make_debtor(make_creditor(), kind="business")
    kept = give_claim_stage(make_invoice(debtor, "F-001", "3000.00", days_overdue=40))
    contested = give_claim_stage(make_invoice(debtor, "F-002", "2000.00", days_overdue=40))
    (before,) = services.load_accounts([debtor.pk], timezone.localdate())
    _dispute(debtor, contested)
    client.get(reverse("portal:account", kwargs={"token": make_portal_token(debtor)}))
    return debtor, kept, contested, before


def test_disputed_invoice_stays_in_claim(client, claim_with_dispute):
    # Interest and costs keep running while a dispute is open. The default
    # total charges the kept invoice's share of the costs, not the disputed one's.
    debtor, kept, contested, before = claim_with_dispute
    today = timezone.localdate()

    (account,) = services.load_accounts([debtor.pk], today)

    assert account.claim_invoice_ids == {kept.pk, contested.pk}
    assert account.costs == before.costs
    (kept_line,) = [line for line in account.open_lines if line.invoice.pk == kept.pk]
    (contested_line,) = [line for line in account.open_lines if line.invoice.pk == contested.pk]
    assert contested_line.interest > Decimal("0.00")
    assert account.online_total.total == kept_line.amount_due
    assert account.online_total.costs == kept_line.costs
    assert kept_line.costs + contested_line.costs == account.costs
    assert services.amount_to_charge(account, {kept.pk, contested.pk}) == (
        kept_line.amount_due + contested_line.amount_due
    )


def test_default_total_matches_checkout_and_ledger(client, claim_with_dispute):
    debtor, kept, contested, before = claim_with_dispute
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    page = _text(client.get(reverse("portal:overview")))
    shown = account.online_total

    start = client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [kept.pk]})
    client.post(start["Location"], {"outcome": "paid"})

    expected = f"€ {shown.total:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    assert f"Totaal te betalen: <strong>{expected}</strong>" in page
    checkout = CheckoutPayment.objects.get()
    assert checkout.amount == shown.total
    payment = Payment.objects.get(debtor=debtor)
    booked = {
        part: sum(Allocation.objects.filter(payment=payment, part=part).values_list("amount", flat=True), Decimal("0"))
        for part in AllocationPart.values
    }
    assert booked[AllocationPart.PRINCIPAL] == kept.open_amount
    assert booked[AllocationPart.COSTS] == shown.costs
    assert booked[AllocationPart.INTEREST] == shown.interest
    assert not Allocation.objects.filter(invoice=contested).exists()
    contested.refresh_from_db()
    assert contested.open_amount == Decimal("2000.00")
    assert not TimelineEvent.objects.filter(debtor=debtor, summary__contains="tegoed").exists()


def _flat(page: str) -> str:
    """Return the page with each run of white space as one space, so a sentence split over template lines matches."""
    return " ".join(page.split())


def test_disputed_note_names_interest(client, claim_with_dispute):
    debtor, kept, contested, before = claim_with_dispute
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    assert account.disputed_costs > Decimal("0.00")

    page = _flat(_text(client.get(reverse("portal:overview"))))

    assert "zonder rente" not in page
    assert (
        "Betwiste facturen zijn niet aangevinkt, dus ze tellen niet mee in het totaal. Vinkt u er een aan, "
        "dan betaalt u die factuur erbij, met de wettelijke rente en het deel van de incassokosten die erbij staan."
    ) in page


def test_disputed_note_names_interest_in_english(client, claim_with_dispute):
    debtor, kept, contested, before = claim_with_dispute
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    client.cookies["django_language"] = "en"

    page = _flat(_text(client.get(reverse("portal:overview"), HTTP_ACCEPT_LANGUAGE="en")))

    assert account.disputed_costs > Decimal("0.00")
    assert "without interest" not in page
    assert (
        "If you tick one, you pay that invoice as well, with the statutory interest and the share "
        "of the collection costs shown with it."
    ) in page


def test_ticked_disputed_invoice_charges_interest(client, claim_with_dispute):
    debtor, kept, contested, before = claim_with_dispute
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())
    (contested_line,) = [line for line in account.open_lines if line.invoice.pk == contested.pk]

    client.post(reverse("portal:pay"), {"debtor": debtor.pk, "invoices": [contested.pk]})

    checkout = CheckoutPayment.objects.get()
    assert contested_line.interest > Decimal("0.00")
    assert checkout.amount == contested.open_amount + contested_line.interest + contested_line.costs


def test_checkboxes_carry_charged_amounts(client, claim_with_dispute):
    # The portal's script sums these attributes, so they must be what the checkout charges.
    debtor, kept, contested, before = claim_with_dispute
    (account,) = services.load_accounts([debtor.pk], timezone.localdate())

    page = _text(client.get(reverse("portal:overview")))

    assert account.costs > Decimal("0.00")
    for line in account.open_lines:
        box = re.search(rf'<input type="checkbox" name="invoices" value="{line.invoice.pk}"[^>]*>', page).group(0)
        assert f'data-principal="{line.open_amount}"' in box
        assert f'data-interest="{line.interest}"' in box
        assert f'data-costs="{line.costs}"' in box
