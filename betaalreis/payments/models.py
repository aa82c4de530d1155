"""Online payments at a payment provider and the payment plans they pay.

A `CheckoutPayment` is one attempt by a debtor to pay chosen invoices at a
provider (Mollie, Stripe or the built-in test provider). When the provider
reports it paid, a ledger `Payment` (source psp) is created and allocated to
those invoices. A refund or chargeback reverses that ledger payment.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import MONEY, Creditor, Debtor, Invoice, Payment


def new_public_token() -> str:
    return secrets.token_urlsafe(24)


class CheckoutStatus(models.TextChoices):
    """Our payment vocabulary; every provider's statuses map onto it."""

    CREATED = "created", _("Aangemaakt")
    OPEN = "open", _("Open")
    PENDING = "pending", _("In behandeling")
    AUTHORIZED = "authorized", _("Geautoriseerd")
    PAID = "paid", _("Betaald")
    FAILED = "failed", _("Mislukt")
    EXPIRED = "expired", _("Verlopen")
    CANCELED = "canceled", _("Geannuleerd")
    REFUNDED = "refunded", _("Terugbetaald")
    CHARGED_BACK = "charged_back", _("Teruggeboekt (chargeback)")
    # Closed by Betaalreis because an invoice it covers was paid another way.
    # The provider is asked to cancel it but may refuse, so a later report from it still applies.
    SUPERSEDED = "superseded", _("Vervallen: factuur al betaald")


# Statuses after which nothing but a refund or chargeback can follow.
FINAL_STATUSES = frozenset(
    {
        CheckoutStatus.PAID,
        CheckoutStatus.FAILED,
        CheckoutStatus.EXPIRED,
        CheckoutStatus.CANCELED,
        CheckoutStatus.REFUNDED,
        CheckoutStatus.CHARGED_BACK,
    }
)


class CheckoutPayment(models.Model):
    """One payment a debtor started at a provider for chosen invoices."""

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"),
        on_delete=models.CASCADE, related_name="checkout_payments"
    )
    provider = models.CharField(_("provider"), max_length=20)
    provider_id = models.CharField(_("id bij provider"), max_length=200, blank=True)
    # A second id some providers report events under (Stripe: the PaymentIntent).
    provider_secondary_id = models.CharField(
        _("tweede id bij provider"), max_length=200, blank=True, db_index=True
    )
    public_token = models.CharField(
        _("openbaar token"), max_length=64, unique=True, default=new_public_token
    )
    status = models.CharField(
        _("status"), max_length=16, choices=CheckoutStatus.choices, default=CheckoutStatus.CREATED
    )
    amount = models.DecimalField(_("bedrag"), **MONEY)
    currency = models.CharField(_("valuta"), max_length=3, default="EUR")
    description = models.CharField(_("omschrijving"), max_length=255)
    invoices = models.ManyToManyField(
        Invoice, verbose_name=_("facturen"), related_name="checkout_payments"
    )
    plan = models.ForeignKey(
        "PaymentPlan", verbose_name=_("betalingsregeling"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="payments"
    )
    checkout_url = models.URLField(_("URL betaalpagina"), max_length=1000, blank=True)
    method = models.CharField(_("betaalmethode"), max_length=40, blank=True)
    amount_refunded = models.DecimalField(_("terugbetaald bedrag"), **MONEY, default=0)
    amount_charged_back = models.DecimalField(_("teruggeboekt bedrag"), **MONEY, default=0)
    ledger_payment = models.ForeignKey(
        Payment, verbose_name=_("betaling in debiteurenadministratie"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="checkouts"
    )
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    updated_at = models.DateTimeField(_("gewijzigd op"), auto_now=True)
    paid_at = models.DateTimeField(_("betaald op"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_id"],
                condition=~models.Q(provider_id=""),
                name="checkout_unique_provider_id",
            ),
        ]
        indexes = [models.Index(fields=["debtor", "status"])]
        verbose_name = _("online betaling")
        verbose_name_plural = _("online betalingen")

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_id or self.pk} {self.status}"

    @property
    def invoice_numbers(self) -> str:
        """Comma-separated numbers of the invoices this checkout pays."""
        return ", ".join(sorted(invoice.number for invoice in self.invoices.all()))


class WebhookOutcome(models.TextChoices):
    APPLIED = "applied", _("Verwerkt")
    IGNORED = "ignored", _("Genegeerd")
    REJECTED = "rejected", _("Geweigerd")
    FAILED = "failed", _("Mislukt")


class WebhookEvent(models.Model):
    """A webhook call as received, kept raw for the record and for replays."""

    provider = models.CharField(_("provider"), max_length=20)
    received_at = models.DateTimeField(_("ontvangen op"), default=timezone.now, db_index=True)
    body = models.TextField(_("inhoud"))
    headers = models.JSONField(_("headers"), default=dict)
    outcome = models.CharField(_("uitkomst"), max_length=10, choices=WebhookOutcome.choices)
    detail = models.CharField(_("details"), max_length=500, blank=True)
    checkout = models.ForeignKey(
        CheckoutPayment, verbose_name=_("online betaling"),
        null=True, blank=True, on_delete=models.SET_NULL, related_name="webhooks"
    )

    class Meta:
        verbose_name = _("webhookverzoek van betaalprovider")
        verbose_name_plural = _("webhookverzoeken van betaalproviders")

    def __str__(self) -> str:
        return f"{self.provider} {self.received_at:%Y-%m-%d %H:%M:%S} {self.outcome}"


class PlanStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("Wacht op goedkeuring")
    ACTIVE = "active", _("Actief")
    COMPLETED = "completed", _("Afgerond")
    BROKEN = "broken", _("Niet nagekomen")
    REJECTED = "rejected", _("Afgewezen")


class PaymentPlan(models.Model):
    """A payment plan: the listed invoices are paid in monthly instalments.

    While a plan is active its invoices have status payment_plan, so the
    dunning run skips them. The plan counts as paid up to the amount by which
    the open amounts of its invoices went down since it started. It covers
    the principal only: the interest and collection costs the portal showed
    beyond it are stored, waived when the plan is completed, and owed again
    when it breaks, because its invoices then return to the claim.
    """

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="payment_plans"
    )
    invoices = models.ManyToManyField(
        Invoice, verbose_name=_("facturen"), related_name="payment_plans"
    )
    status = models.CharField(_("status"), max_length=20, choices=PlanStatus.choices)
    total = models.DecimalField(_("totaal"), **MONEY)
    currency = models.CharField(_("valuta"), max_length=3, default="EUR")
    terms = models.PositiveSmallIntegerField(_("aantal termijnen"))
    first_instalment_now = models.BooleanField(_("eerste termijn direct"), default=True)
    outside_limits_reason = models.CharField(_("reden buiten limieten"), max_length=300, blank=True)
    # The claim beyond the ledger's open amounts when the plan was requested, left out of it.
    interest_excluded = models.DecimalField(_("rente buiten regeling"), **MONEY, default=0)
    costs_excluded = models.DecimalField(_("incassokosten buiten regeling"), **MONEY, default=0)
    # Principal the claim still counts because earlier payments went to interest and costs first (BW 6:44).
    principal_excluded = models.DecimalField(_("hoofdsom buiten regeling (art. 6:44 BW)"), **MONEY, default=0)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    decided_at = models.DateTimeField(_("besloten op"), null=True, blank=True)
    decided_by = models.CharField(_("besloten door"), max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["creditor", "status"])]
        verbose_name = _("betalingsregeling")
        verbose_name_plural = _("betalingsregelingen")

    def __str__(self) -> str:
        return gettext("regeling %(pk)s (%(terms)s termijnen, %(status)s)") % {
            "pk": self.pk, "terms": self.terms, "status": self.get_status_display()
        }


class Instalment(models.Model):
    """One term of a payment plan, due on its own date."""

    plan = models.ForeignKey(
        PaymentPlan, verbose_name=_("betalingsregeling"),
        on_delete=models.CASCADE, related_name="instalments"
    )
    number = models.PositiveSmallIntegerField(_("termijnnummer"))
    due_date = models.DateField(_("vervaldatum"))
    amount = models.DecimalField(_("bedrag"), **MONEY)
    reminded_at = models.DateTimeField(_("herinnerd op"), null=True, blank=True)
    reminder = models.OneToOneField(
        "outbox.Communication", verbose_name=_("herinnering"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="instalment",
        help_text=_("Het bericht dat de debiteur aan deze termijn herinnerde."),
    )

    class Meta:
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="instalment_unique_number"),
        ]
        verbose_name = _("termijn")
        verbose_name_plural = _("termijnen")

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.number} {self.due_date} {self.amount}"
