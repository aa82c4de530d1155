"""Provider-side records of the channels app: deliveries, their events,
raw webhook payloads, consent, invalid addresses and per-creditor channel
settings.

Provider secrets are never stored here; they come from settings or the
environment (`betaalreis.channels.accounts`).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import Channel, Creditor, Debtor


class DeliveryStatus(models.TextChoices):
    """One delivery vocabulary for every provider and channel."""

    QUEUED = "queued", _("In wachtrij bij provider")
    SENT = "sent", _("Verzonden")
    DEFERRED = "deferred", _("Vertraagd")
    DELIVERED = "delivered", _("Afgeleverd")
    OPENED = "opened", _("Geopend")
    READ = "read", _("Gelezen")
    CLICKED = "clicked", _("Link aangeklikt")
    FAILED = "failed", _("Niet afgeleverd")
    BOUNCED = "bounced", _("Gebounced")
    REJECTED = "rejected", _("Geweigerd door provider")
    COMPLAINED = "complained", _("Als spam gemeld")
    UNSUBSCRIBED = "unsubscribed", _("Afgemeld")
    UNKNOWN = "unknown", _("Onbekend")


class SubmissionState(models.TextChoices):
    """State of the hand-over of one message to its provider."""

    SUBMITTING = "submitting", _("Wordt aangeboden")
    ACCEPTED = "accepted", _("Aangenomen door provider")
    REJECTED = "rejected", _("Geweigerd door provider")
    # The request may or may not have reached the provider (a read timeout),
    # so a retry could send the message twice.
    UNCERTAIN = "uncertain", _("Uitkomst onbekend")
    RETRYABLE = "retryable", _("Tijdelijke fout")


class Delivery(models.Model):
    """One message handed to one provider, keyed by the communication's key.

    The unique `idempotency_key` is what makes a second `send` of the same
    message return the first result instead of sending it again.
    """

    idempotency_key = models.CharField(_("idempotentiesleutel"), max_length=200, unique=True)
    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="deliveries"
    )
    communication = models.ForeignKey(
        "outbox.Communication", verbose_name=_("bericht"),
        null=True, blank=True, on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices)
    provider = models.CharField(_("provider"), max_length=60)
    # The ESP name as anymail gives it in its events ("Postmark"), set when an
    # anymail delivery is handed over. Empty for other providers and for
    # anymail deliveries made before the field existed.
    esp = models.CharField(_("ESP"), max_length=60, blank=True)
    recipient = models.CharField(_("ontvanger"), max_length=254)
    state = models.CharField(
        _("aanbiedstatus"),
        max_length=12,
        choices=SubmissionState.choices,
        default=SubmissionState.SUBMITTING,
    )
    provider_reference = models.CharField(_("referentie provider"), max_length=500, blank=True)
    attempts = models.PositiveIntegerField(_("pogingen"), default=0)
    submitted_at = models.DateTimeField(_("aangeboden op"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("aangenomen op"), null=True, blank=True)
    status = models.CharField(
        _("afleverstatus"), max_length=12, choices=DeliveryStatus.choices, blank=True
    )
    status_at = models.DateTimeField(_("afleverstatus op"), null=True, blank=True)
    error_code = models.CharField(_("foutcode"), max_length=60, blank=True)
    last_error = models.TextField(_("laatste fout"), blank=True)
    encoding = models.CharField(
        _("codering"), max_length=10, blank=True, help_text=_("gsm7 of ucs2, bij sms.")
    )
    segments = models.PositiveSmallIntegerField(_("sms-delen"), null=True, blank=True)
    cost = models.DecimalField(
        _("verzendkosten"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    cost_currency = models.CharField(_("valuta verzendkosten"), max_length=3, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["provider", "provider_reference"]),
            models.Index(fields=["creditor", "channel", "created_at"]),
        ]
        verbose_name = _("aflevering")
        verbose_name_plural = _("afleveringen")

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_reference or self.idempotency_key} ({self.state})"


class WebhookLog(models.Model):
    """A webhook request exactly as received, kept whether it was valid or not."""

    class Outcome(models.TextChoices):
        PROCESSED = "processed", _("Verwerkt")
        DUPLICATE = "duplicate", _("Dubbel")
        IGNORED = "ignored", _("Genegeerd")
        UNMATCHED = "unmatched", _("Niet te koppelen")
        REJECTED = "rejected", _("Afgewezen")
        ERROR = "error", _("Fout")

    provider = models.CharField(_("provider"), max_length=60)
    creditor = models.ForeignKey(
        Creditor, verbose_name=_("crediteur"), null=True, blank=True, on_delete=models.CASCADE
    )
    received_at = models.DateTimeField(_("ontvangen op"), default=timezone.now, db_index=True)
    method = models.CharField(_("HTTP-methode"), max_length=8)
    path = models.CharField(_("pad"), max_length=1000)
    headers = models.JSONField(_("headers"), default=dict, blank=True)
    body = models.TextField(_("inhoud"), blank=True)
    verified = models.BooleanField(_("geverifieerd"), default=False)
    outcome = models.CharField(_("uitkomst"), max_length=10, choices=Outcome.choices, blank=True)
    detail = models.CharField(_("details"), max_length=500, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("webhookverzoek")
        verbose_name_plural = _("webhookverzoeken")

    def __str__(self) -> str:
        return f"{self.provider} {self.received_at:%Y-%m-%d %H:%M:%S} {self.outcome}"


class DeliveryEvent(models.Model):
    """One status report from a provider, mapped to `DeliveryStatus`.

    `dedupe_key` is unique per provider, so a webhook delivered twice is
    stored and acted on once.
    """

    delivery = models.ForeignKey(
        Delivery, verbose_name=_("aflevering"),
        null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    provider = models.CharField(_("provider"), max_length=60)
    provider_reference = models.CharField(_("referentie provider"), max_length=500)
    dedupe_key = models.CharField(_("ontdubbelsleutel"), max_length=200)
    status = models.CharField(_("status"), max_length=12, choices=DeliveryStatus.choices)
    vendor_status = models.CharField(_("status bij provider"), max_length=60, blank=True)
    error_code = models.CharField(_("foutcode"), max_length=60, blank=True)
    description = models.CharField(_("omschrijving"), max_length=500, blank=True)
    occurred_at = models.DateTimeField(_("tijdstip bij provider"))
    received_at = models.DateTimeField(_("ontvangen op"), default=timezone.now)
    webhook = models.ForeignKey(
        WebhookLog, verbose_name=_("webhookverzoek"),
        null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "dedupe_key"], name="delivery_event_once"),
        ]
        indexes = [models.Index(fields=["provider", "provider_reference"])]
        verbose_name = _("afleverstatusmelding")
        verbose_name_plural = _("afleverstatusmeldingen")

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_reference} {self.status}"


class InvalidAddress(models.Model):
    """An email address or phone number that a provider reported as unreachable."""

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"),
        on_delete=models.CASCADE, related_name="invalid_addresses"
    )
    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("adres"), max_length=254)
    reason = models.CharField(_("reden"), max_length=300)
    provider = models.CharField(_("provider"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["debtor", "channel", "address"], name="invalid_address_once"
            ),
        ]
        verbose_name = _("onbereikbaar adres")
        verbose_name_plural = _("onbereikbare adressen")

    def __str__(self) -> str:
        return f"{self.channel}:{self.debtor_id} ({self.reason})"


class ConsentRecord(models.Model):
    """A debtor's opt-in or opt-out for one channel, with its evidence.

    The latest record per debtor and channel is the one in force.
    """

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("toestemming gegeven"))
    address = models.CharField(_("adres"), max_length=254, blank=True)
    source = models.CharField(_("bron"), max_length=300)
    evidence = models.CharField(
        _("bewijs"), max_length=500, blank=True,
        help_text=_(
            "Hoe de keuze is gemaakt: formulier, tekst van een inkomend bericht, "
            "melding van de provider."
        ),
    )
    at = models.DateTimeField(_("tijdstip"), default=timezone.now)

    class Meta:
        ordering = ["debtor", "channel", "at", "id"]
        indexes = [models.Index(fields=["debtor", "channel", "at"])]
        verbose_name = _("toestemming")
        verbose_name_plural = _("toestemmingen")

    def __str__(self) -> str:
        choice = gettext("aangemeld") if self.granted else gettext("afgemeld")
        return f"{self.debtor_id} {self.get_channel_display()} {choice}"


class CreditorChannelSettings(models.Model):
    """Per-creditor choices for provider channels."""

    creditor = models.OneToOneField(
        Creditor, verbose_name=_("crediteur"),
        on_delete=models.CASCADE, related_name="channel_settings"
    )
    whatsapp_enabled = models.BooleanField(_("WhatsApp aan"), default=False)
    whatsapp_enabled_at = models.DateTimeField(_("WhatsApp aangezet op"), null=True, blank=True)
    sms_sender = models.CharField(
        _("SMS-afzender"), max_length=16, blank=True,
        help_text=_("Alfanumeriek (max. 11 tekens) of een nummer in E.164-notatie."),
    )

    class Meta:
        verbose_name = _("kanaalinstellingen")
        verbose_name_plural = _("kanaalinstellingen")

    def __str__(self) -> str:
        return gettext("kanalen van crediteur %(creditor)s") % {"creditor": self.creditor_id}


class WhatsAppTemplate(models.Model):
    """A Meta-approved WhatsApp template a creditor uses for one stage and language."""

    creditor = models.ForeignKey(
        Creditor, verbose_name=_("crediteur"),
        on_delete=models.CASCADE, related_name="whatsapp_templates"
    )
    stage_code = models.CharField(_("aanmaningsfase"), max_length=40)
    language = models.CharField(
        _("taal"), max_length=10, help_text=_("Taalcode van Meta, bijvoorbeeld nl of en_US.")
    )
    name = models.CharField(_("naam"), max_length=512)
    body_parameters = models.JSONField(
        _("parameters van de tekst"), default=list, blank=True,
        help_text=_(
            "Namen van de waarden die de variabelen in de tekst op volgorde vullen: "
            "debtor_name, invoice_numbers, total, due_date."
        ),
    )
    has_payment_button = models.BooleanField(_("met betaalknop"), default=True)
    status = models.CharField(
        _("status"), max_length=20, blank=True, help_text=_("Status zoals Meta die meldt.")
    )
    category = models.CharField(_("categorie"), max_length=20, blank=True)
    verified_at = models.DateTimeField(_("geverifieerd op"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "stage_code", "language"], name="whatsapp_template_per_stage"
            ),
        ]
        verbose_name = _("WhatsApp-sjabloon")
        verbose_name_plural = _("WhatsApp-sjablonen")

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def is_usable(self) -> bool:
        return self.verified_at is not None and self.status == "APPROVED" and self.category == "UTILITY"
