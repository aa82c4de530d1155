"""The payments, portal, channels, legal and imports models read Dutch in the back office, English in en.

Payments and portal have admin screens of their own. The channels, legal
and imports models have none, so the creditor's delete confirmation, which
lists every related row under its model's name, shows their labels.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from betaalreis.channels.models import (
    ConsentRecord,
    CreditorChannelSettings,
    Delivery,
    DeliveryEvent,
    InvalidAddress,
    WebhookLog,
    WhatsAppTemplate,
)
from betaalreis.imports.models import ImportedInvoice
from betaalreis.ledger.models import Channel, Creditor
from betaalreis.legal.models import CreditorLegalSettings
from betaalreis.payments.models import (
    CheckoutPayment,
    Instalment,
    PaymentPlan,
    PlanStatus,
    WebhookEvent,
    WebhookOutcome,
)
from betaalreis.portal.models import (
    ContactKind,
    Dispute,
    DisputeReason,
    PortalSettings,
    Promise,
    ShortLink,
    SignInCode,
    VerifiedContact,
)
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)

# Labels Django derives from the attribute and class names when a model or
# field has no verbose_name, so they show only while a label is missing.
ENGLISH_LABELS = [
    "Checkout payment", "Webhook event", "Payment plan", "Instalment", "Portal settings",
    "Verified contact", "Sign in code", "Short link", "Webhook log", "Delivery event",
    "Invalid address", "Consent record", "Creditor channel settings", "WhatsApp template",
    "Creditor legal settings", "Imported invoice",
    "Provider id", "Provider secondary id", "Public token", "Checkout url", "Amount refunded",
    "Amount charged back", "Ledger payment", "Created at", "Updated at", "Paid at", "Received at",
    "First instalment now", "Outside limits reason", "Interest excluded", "Costs excluded",
    "Decided at", "Decided by", "Due date", "Reminded at", "Previous invoice status",
    "Resolved at", "Code hash", "Failed attempts", "Expires at", "Idempotency key",
    "Dedupe key", "Vendor status", "Body parameters", "Has payment button", "Imported at",
    "Fingerprint",
]

# The payments and portal models that have an admin screen, by model name.
ADMIN_MODELS = ["checkoutpayment", "webhookevent", "paymentplan", "portalsettings", "promise", "dispute"]


@pytest.fixture
def admin_client(client: Client) -> Client:
    admin = get_user_model().objects.create_superuser("beheer", "beheer@example.nl", "x" * 12)
    client.force_login(admin)
    return client


@pytest.fixture
def creditor() -> Creditor:
    """Create a creditor with one row of every payments, portal, channels, legal and imports model."""
    creditor = make_creditor()
    debtor = make_debtor(creditor)
    invoice = make_invoice(debtor, "100.00", due=DAY)
    now = timezone.now()

    checkout = CheckoutPayment.objects.create(
        creditor=creditor, debtor=debtor, provider="test", provider_id="tr_1",
        amount=Decimal("100.00"), description="Factuur",
    )
    WebhookEvent.objects.create(
        provider="test", body="{}", outcome=WebhookOutcome.APPLIED, checkout=checkout
    )
    plan = PaymentPlan.objects.create(
        creditor=creditor, debtor=debtor, status=PlanStatus.ACTIVE, total=Decimal("100.00"), terms=2
    )
    Instalment.objects.create(plan=plan, number=1, due_date=DAY, amount=Decimal("50.00"))

    PortalSettings.objects.create(creditor=creditor)
    Promise.objects.create(creditor=creditor, debtor=debtor, promised_date=DAY, amount=Decimal("100.00"))
    Dispute.objects.create(
        creditor=creditor, debtor=debtor, invoice=invoice, reason=DisputeReason.QUESTION,
        message="Klopt dit bedrag?", previous_invoice_status="open",
    )
    VerifiedContact.objects.create(debtor=debtor, kind=ContactKind.EMAIL, value=debtor.email)
    SignInCode.objects.create(
        debtor=debtor, kind=ContactKind.EMAIL, sent_to=debtor.email, code_hash="x",
        expires_at=now + dt.timedelta(minutes=10),
    )
    ShortLink.objects.create(code="abc123", debtor=debtor, expires_at=now + dt.timedelta(days=7))

    delivery = Delivery.objects.create(
        idempotency_key="k1", creditor=creditor, debtor=debtor, channel=Channel.EMAIL,
        provider="test", recipient=debtor.email,
    )
    webhook = WebhookLog.objects.create(provider="test", creditor=creditor, method="POST", path="/hook/")
    DeliveryEvent.objects.create(
        delivery=delivery, provider="test", provider_reference="m1", dedupe_key="e1",
        status="delivered", occurred_at=now, webhook=webhook,
    )
    InvalidAddress.objects.create(
        creditor=creditor, debtor=debtor, channel=Channel.EMAIL, address=debtor.email, reason="bounce"
    )
    ConsentRecord.objects.create(
        creditor=creditor, debtor=debtor, channel=Channel.WHATSAPP, granted=True, source="portaal"
    )
    CreditorChannelSettings.objects.create(creditor=creditor)
    WhatsAppTemplate.objects.create(creditor=creditor, stage_code="reminder", language="nl", name="herinnering")

    CreditorLegalSettings.objects.create(creditor=creditor)
    ImportedInvoice.objects.create(creditor=creditor, invoice=invoice, fingerprint="f", source="facturen.csv")
    return creditor


def page_text(client: Client, url: str, language: str) -> str:
    # LocaleMiddleware leaves the request's language active in this thread. The override puts
    # the previous one back, so later tests on the same worker keep Dutch.
    with translation.override(language):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200, url
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def admin_urls(app_model: str) -> list[str]:
    model_class = {
        "checkoutpayment": CheckoutPayment, "webhookevent": WebhookEvent, "paymentplan": PaymentPlan,
        "portalsettings": PortalSettings, "promise": Promise, "dispute": Dispute,
    }[app_model]
    app = model_class._meta.app_label
    row = model_class.objects.get()
    return [
        reverse(f"admin:{app}_{app_model}_changelist"),
        reverse(f"admin:{app}_{app_model}_change", args=[row.pk]),
    ]


def english_labels_in(text: str) -> list[str]:
    lowered = text.lower()
    return [label for label in ENGLISH_LABELS if label.lower() in lowered]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_admin_pages_dutch(admin_client: Client, creditor: Creditor, model: str):
    for url in admin_urls(model):
        text = page_text(admin_client, url, "nl")

        assert english_labels_in(text) == [], url


def test_admin_pages_show_dutch_labels(admin_client: Client, creditor: Creditor):
    plan = page_text(admin_client, admin_urls("paymentplan")[1], "nl")
    checkouts = page_text(admin_client, admin_urls("checkoutpayment")[0], "nl")
    webhooks = page_text(admin_client, admin_urls("webhookevent")[0], "nl")
    disputes = page_text(admin_client, admin_urls("dispute")[1], "nl")

    assert "Aantal termijnen" in plan
    assert "Termijnen" in plan
    assert "Herinnerd op" in plan
    assert "Id bij provider" in checkouts
    assert "Webhookverzoeken van betaalproviders" in webhooks
    assert "Vorige factuurstatus" in disputes


def without_online_payments(creditor: Creditor) -> Creditor:
    """Delete the creditor's online payments, which are read-only evidence that blocks deleting the creditor."""
    CheckoutPayment.objects.filter(creditor=creditor).delete()
    return creditor


def test_delete_page_names_related_models_dutch(admin_client: Client, creditor: Creditor):
    url = reverse("admin:ledger_creditor_delete", args=[without_online_payments(creditor).pk])

    text = page_text(admin_client, url, "nl")

    assert english_labels_in(text) == []
    for dutch in (
        "Termijn", "Inlogcode", "Geverifieerd contactgegeven", "Afleverstatusmelding",
        "WhatsApp-sjabloon", "Juridische instellingen", "Geïmporteerde factuur", "Kanaalinstellingen",
    ):
        assert dutch in text, dutch


def test_delete_page_english_in_en(admin_client: Client, creditor: Creditor):
    url = reverse("admin:ledger_creditor_delete", args=[without_online_payments(creditor).pk])

    text = page_text(admin_client, url, "en")

    for english in (
        "Instalment", "Sign-in code", "Verified contact", "Delivery event", "WhatsApp template",
        "Legal settings", "Imported invoice", "Channel settings", "Payment provider webhook request",
    ):
        assert english in text, english


@pytest.mark.parametrize(("language", "blocked"), [("nl", "online betaling"), ("en", "online payment")])
def test_delete_page_names_evidence(admin_client: Client, creditor: Creditor, language: str, blocked: str):
    url = reverse("admin:ledger_creditor_delete", args=[creditor.pk])

    text = page_text(admin_client, url, language)

    assert blocked in text


def test_admin_pages_english_in_en(admin_client: Client, creditor: Creditor):
    plan = page_text(admin_client, admin_urls("paymentplan")[1], "en")
    checkouts = page_text(admin_client, admin_urls("checkoutpayment")[0], "en")
    dispute = page_text(admin_client, admin_urls("dispute")[1], "en")

    assert "Number of instalments" in plan
    assert "Instalments" in plan
    assert "Reminded at" in plan
    assert "Aantal termijnen" not in plan
    assert "Provider id" in checkouts
    assert "Previous invoice status" in dispute
