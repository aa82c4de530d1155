"""Debtor portal records: creditor limits, promises, disputes and sign-in codes."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import MONEY, Creditor, Debtor, Invoice
from betaalreis.portal.links import short_code_key


class PortalSettings(models.Model):
    """A creditor's limits for what debtors may arrange in the portal themselves.

    A creditor without a row gets the defaults below.
    """

    creditor = models.OneToOneField(
        Creditor, on_delete=models.CASCADE, related_name="portal_settings"
    )
    max_plan_terms = models.PositiveSmallIntegerField(_("maximum aantal termijnen"), default=6)
    min_instalment = models.DecimalField(
        _("minimaal termijnbedrag"), **MONEY, default=Decimal("25.00")
    )
    first_instalment_now = models.BooleanField(
        _("eerste termijn direct"), default=True,
        help_text=_("De eerste termijn wordt bij het afsluiten van de regeling betaald."),
    )
    max_promise_days = models.PositiveSmallIntegerField(
        _("maximaal uitstel bij betaalbelofte (dagen)"), default=14
    )
    plan_grace_days = models.PositiveSmallIntegerField(
        _("dagen na vervaldatum termijn voordat de regeling vervalt"), default=7
    )

    class Meta:
        verbose_name = _("portaalinstelling")
        verbose_name_plural = _("portaalinstellingen")

    def __str__(self) -> str:
        return gettext("portaalinstellingen van crediteur %(creditor)s") % {
            "creditor": self.creditor_id
        }


class PromiseStatus(models.TextChoices):
    ACTIVE = "active", _("Actief")
    KEPT = "kept", _("Nagekomen")
    BROKEN = "broken", _("Niet nagekomen")
    WITHDRAWN = "withdrawn", _("Ingetrokken")


class Promise(models.Model):
    """A debtor's promise to pay the open invoices by a date; dunning pauses until then."""

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="promises"
    )
    promised_date = models.DateField(_("beloofde betaaldatum"))
    amount = models.DecimalField(_("bedrag"), **MONEY)
    currency = models.CharField(_("valuta"), max_length=3, default="EUR")
    status = models.CharField(
        _("status"), max_length=10, choices=PromiseStatus.choices, default=PromiseStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    channel = models.CharField(_("kanaal"), max_length=20, default="portal")

    class Meta:
        indexes = [models.Index(fields=["creditor", "status", "promised_date"])]
        verbose_name = _("betaalbelofte")
        verbose_name_plural = _("betaalbeloftes")

    def __str__(self) -> str:
        return gettext("betaalbelofte van debiteur %(debtor)s voor %(date)s") % {
            "debtor": self.debtor_id, "date": self.promised_date
        }


class DisputeReason(models.TextChoices):
    NOT_RECEIVED = "not_received", _("Product of dienst niet ontvangen")
    WRONG_AMOUNT = "wrong_amount", _("Bedrag klopt niet")
    ALREADY_PAID = "already_paid", _("Al betaald")
    QUALITY = "quality", _("Ontevreden over product of dienst")
    QUESTION = "question", _("Vraag over de factuur")
    OTHER = "other", _("Anders")


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Afgehandeld")


def dispute_upload_path(instance: Dispute, filename: str) -> str:
    """Return the storage name of a dispute attachment, with a random part so that no name can be guessed.

    Files stored before the random part was added keep their names.
    """
    name = Path(filename)
    return f"disputes/{instance.creditor_id}/{instance.debtor_id}/{name.stem}-{secrets.token_hex(16)}{name.suffix}"


class Dispute(models.Model):
    """A debtor's dispute or question about one invoice.

    While open, the invoice has status disputed and leaves dunning.
    """

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="disputes"
    )
    invoice = models.ForeignKey(
        Invoice, verbose_name=_("factuur"), on_delete=models.CASCADE, related_name="disputes"
    )
    reason = models.CharField(_("reden"), max_length=20, choices=DisputeReason.choices)
    message = models.TextField(_("toelichting"), max_length=4000)
    attachment = models.FileField(_("bijlage"), upload_to=dispute_upload_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    previous_invoice_status = models.CharField(_("vorige factuurstatus"), max_length=16)
    resolution = models.TextField(_("afhandeling"), blank=True)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    resolved_at = models.DateTimeField(_("afgehandeld op"), null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["creditor", "status"])]
        verbose_name = _("geschil")
        verbose_name_plural = _("geschillen")

    def __str__(self) -> str:
        return gettext("geschil %(pk)s over factuur %(invoice)s") % {
            "pk": self.pk, "invoice": self.invoice_id
        }


class ContactKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Mobiel nummer")


class VerifiedContact(models.Model):
    """An email address or mobile number a debtor proved to own with a one-time code.

    Debtors, also of different creditors, that verified the same value are
    shown together after a sign-in by any of them, while their records still
    carry it (see `betaalreis.portal.codes.linked_debtor_ids`).
    """

    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"),
        on_delete=models.CASCADE, related_name="verified_contacts"
    )
    kind = models.CharField(_("soort"), max_length=5, choices=ContactKind.choices)
    value = models.CharField(_("waarde"), max_length=254)
    verified_at = models.DateTimeField(_("geverifieerd op"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["debtor", "kind", "value"], name="verified_contact_unique"),
        ]
        indexes = [models.Index(fields=["kind", "value"])]
        verbose_name = _("geverifieerd contactgegeven")
        verbose_name_plural = _("geverifieerde contactgegevens")

    def __str__(self) -> str:
        return gettext("%(kind)s van debiteur %(debtor)s") % {
            "kind": self.get_kind_display(), "debtor": self.debtor_id
        }


class SignInCode(models.Model):
    """A one-time sign-in code sent by email or SMS; only its hash is stored."""

    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="sign_in_codes"
    )
    purpose = models.CharField(_("doel"), max_length=20, default="sign_in")
    kind = models.CharField(_("soort"), max_length=5, choices=ContactKind.choices)
    sent_to = models.CharField(_("verstuurd naar"), max_length=254)
    code_hash = models.CharField(_("hash van de code"), max_length=128)
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    expires_at = models.DateTimeField(_("verloopt op"))
    used_at = models.DateTimeField(_("gebruikt op"), null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(_("mislukte pogingen"), default=0)

    class Meta:
        indexes = [models.Index(fields=["debtor", "purpose", "created_at"])]
        verbose_name = _("inlogcode")
        verbose_name_plural = _("inlogcodes")

    def __str__(self) -> str:
        return gettext("code %(pk)s voor debiteur %(debtor)s") % {
            "pk": self.pk, "debtor": self.debtor_id
        }


class ShortLink(models.Model):
    """A short code that stands for a debtor's sign-in link, for SMS and WhatsApp.

    A full signed link is about 90 characters, which makes most SMS two
    parts; `/b/<code>/` is about 30. The code is random, not derived from
    the debtor, and expires like the signed link does. The save() method
    fills `lookup_key`, which lookups of typed codes use.
    """

    code = models.CharField(_("code"), max_length=16, unique=True)
    # The code in upper case with Crockford's look-alikes mapped (O to 0, I and L to 1).
    lookup_key = models.CharField(_("zoeksleutel"), max_length=16, db_index=True, editable=False)
    debtor = models.ForeignKey(
        Debtor, verbose_name=_("debiteur"), on_delete=models.CASCADE, related_name="short_links"
    )
    created_at = models.DateTimeField(_("aangemaakt op"), default=timezone.now)
    expires_at = models.DateTimeField(_("verloopt op"))

    class Meta:
        verbose_name = _("korte link")
        verbose_name_plural = _("korte links")

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs) -> None:
        self.lookup_key = short_code_key(self.code)
        super().save(*args, **kwargs)
