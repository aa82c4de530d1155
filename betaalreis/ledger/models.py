"""The ledger: creditors (tenants), their debtors, invoices and payments.

Every row below `Creditor` carries a `creditor` foreign key, and every query
in the services filters on it, so one tenant never sees another's data.
Amounts are `Decimal` with an ISO 4217 currency beside them.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.logos import logo_upload_path
from betaalreis.ledger.match_keys import NormalisedKeyField
from betaalreis.ledger.postal_codes import InvalidPostalCode, normalize_postal_code
from betaalreis.ledger.timeline_text import summary_in_language
from betaalreis.ledger.validators import (
    bic_mismatch,
    normalize_vat_id,
    validate_bic,
    validate_brand_colour,
    validate_e164,
    validate_iban,
)

MONEY = {"max_digits": 14, "decimal_places": 2}


class Language(models.TextChoices):
    DUTCH = "nl", "Nederlands"
    ENGLISH = "en", "English"


class Channel(models.TextChoices):
    """Channels a communication can go out on."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    LETTER = "letter", _("Brief")
    PHONE = "phone", _("Belopdracht")
    WHATSAPP = "whatsapp", _("WhatsApp")


def opted_out_of_every_channel(opted_out_channels: Iterable[str]) -> bool:
    """Return whether the opt-outs name every channel of `Channel`."""
    return set(opted_out_channels) >= set(Channel.values)


def opt_out_blocks(channel: str, opted_out_channels: Iterable[str]) -> bool:
    """Return whether the debtor's opt-outs rule out messages on `channel`.

    An opt-out of every channel still leaves the letter by post, because a
    dunning letter by post about an unpaid invoice remains lawful, and with
    no channel at all dunning would stop without anyone noticing. The portal
    explains this to the debtor, and the timeline and the run summary flag such
    debtors for the credit manager.
    """
    if channel not in opted_out_channels:
        return False
    return not (channel == Channel.LETTER and opted_out_of_every_channel(opted_out_channels))


class DebtorKind(models.TextChoices):
    CONSUMER = "consumer", _("Consument")
    BUSINESS = "business", _("Zakelijk")


# Error codes of `Creditor.clean` for an IBAN or VAT id that another creditor
# already has. Their messages leave that creditor out, because a staff user
# may not see it. `OTHER_CREDITOR_NAMED` contains the messages that name it (its
# slug, as parameter `other`), for users who see every creditor.
IBAN_IN_USE = "iban_in_use"
VAT_ID_IN_USE = "vat_id_in_use"
OTHER_CREDITOR_NAMED = {
    IBAN_IN_USE: _(
        "Dit IBAN hoort al bij crediteur %(other)s. Rekeningafschriften vinden hun crediteur "
        "via het IBAN, dus elke crediteur heeft een eigen rekening nodig."
    ),
    VAT_ID_IN_USE: _(
        "Btw-id %(vat_id)s hoort al bij crediteur %(other)s. Elke crediteur is een eigen bedrijf "
        "met een eigen btw-id: verbeter het btw-id of laat het leeg."
    ),
}


def normalize_postal_code_field(address: Creditor | Debtor) -> str | None:
    """Store the postal code of `address` in its normal form, and return why it is invalid, or None.

    A Dutch address gets the check and the form `1234 AB` that imports use,
    so an address typed in a form prints in a letter's window as an imported one does.
    """
    if not address.postal_code:
        return None
    try:
        address.postal_code = normalize_postal_code(address.postal_code, address.country)
    except InvalidPostalCode as exc:
        return f"{address.postal_code}: {exc}"
    return None


class Creditor(models.Model):
    """The company owed money, and the tenant every other row belongs to."""

    slug = models.SlugField(unique=True, verbose_name=_("korte naam"))
    legal_name = models.CharField(_("statutaire naam"), max_length=200)
    trade_name = models.CharField(_("handelsnaam"), max_length=200, blank=True)
    kvk_number = models.CharField(_("KvK-nummer"), max_length=8, blank=True)
    vat_id = models.CharField(_("btw-id"), max_length=20, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, validators=[validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    street = models.CharField(_("straat en huisnummer"), max_length=200, blank=True)
    postal_code = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("plaats"), max_length=100, blank=True)
    country = models.CharField(_("land"), max_length=2, default="NL")
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("telefoon"), max_length=32, blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.FileField(
        _("logo"),
        upload_to=logo_upload_path,
        max_length=500,
        blank=True,
        help_text=_("Een PNG- of JPEG-afbeelding van ten hoogste 1 MB en 4000 pixels breed en hoog."),
    )
    brand_color = models.CharField(_("huisstijlkleur"), max_length=7, default="#1f4e79")
    default_language = models.CharField(
        _("standaardtaal"), max_length=2, choices=Language.choices, default=Language.DUTCH
    )
    is_collection_agency = models.BooleanField(_("incassobureau"), default=False)
    handover_agency = models.CharField(
        _("incassobureau voor overdracht"),
        max_length=200,
        blank=True,
        help_text=_(
            "Naam van het incassobureau waaraan u onbetaalde facturen overdraagt. De overdrachtsbrief en "
            "-berichten noemen het; leeg laten geeft \"een incassobureau\"."
        ),
    )
    vat_deductible = models.BooleanField(
        _("btw aftrekbaar"),
        default=True,
        help_text=_(
            "Zet dit alleen uit als een incassodienst btw rekent die u niet kunt aftrekken, "
            "en u dat aan de debiteur meldt: alleen dan komt btw op de incassokosten."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        ordering = ["slug"]
        verbose_name = _("crediteur")
        verbose_name_plural = _("crediteuren")
        constraints = [
            # A UBL invoice names its supplier by KvK number, so two creditors
            # with one number would make its creditor ambiguous.
            models.UniqueConstraint(
                fields=["kvk_number"],
                condition=~Q(kvk_number=""),
                name="creditor_kvk_number_unique",
                violation_error_message=_(
                    "Een andere crediteur heeft dit KvK-nummer al. Elke crediteur is een eigen bedrijf "
                    "met een eigen KvK-nummer: verbeter het nummer of laat het leeg."
                ),
            ),
            # For the same reason, and the id is stored in its compact form (see clean).
            models.UniqueConstraint(
                fields=["vat_id"],
                condition=~Q(vat_id=""),
                name="creditor_vat_id_unique",
                violation_error_message=_(
                    "Een andere crediteur heeft dit btw-id al. Elke crediteur is een eigen bedrijf "
                    "met een eigen btw-id: verbeter het btw-id of laat het leeg."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        errors: dict[str, str | ValidationError] = {}
        if self.iban and self.bic:
            mismatch = bic_mismatch(self.iban, self.bic)
            if mismatch:
                errors["bic"] = mismatch

        # Bank statements find their creditor by IBAN, and letters ask debtors
        # to pay into it, so two creditors must never share one.
        if self.iban:
            other = other_creditor_with_iban(self.iban, pk=self.pk)
            if other is not None:
                errors["iban"] = ValidationError(
                    _(
                        "Een andere crediteur heeft dit IBAN al. Rekeningafschriften vinden hun crediteur "
                        "via het IBAN, dus elke crediteur heeft een eigen rekening nodig."
                    ),
                    code=IBAN_IN_USE,
                    params={"other": other},
                )

        vat_problem = self._normalize_vat_id()
        if vat_problem:
            errors["vat_id"] = vat_problem

        postal_code_problem = normalize_postal_code_field(self)
        if postal_code_problem:
            errors["postal_code"] = postal_code_problem

        # Checked here, not by a field validator, which would change the migration state.
        try:
            validate_brand_colour(self.brand_color)
        except ValidationError as exc:
            errors["brand_color"] = exc.messages[0]
        if errors:
            raise ValidationError(errors)

    def _normalize_vat_id(self) -> str | ValidationError | None:
        """Store the VAT id in its compact form, and return why it is invalid or taken, or None."""
        if not self.vat_id:
            return None
        try:
            self.vat_id = normalize_vat_id(self.vat_id)
        except ValueError:
            return gettext(
                "%(value)s is geen geldig btw-id uit de EU. Schrijf de landcode en het nummer, zoals "
                "NL004495445B01, of laat het leeg."
            ) % {"value": self.vat_id}

        # A UBL invoice names its supplier by VAT id, so two creditors with one
        # id would make the creditor of such an invoice ambiguous.
        other = other_creditor_with_vat_id(self.vat_id, pk=self.pk)
        if other is not None:
            return ValidationError(
                _(
                    "Een andere crediteur heeft btw-id %(vat_id)s al. Elke crediteur is een eigen bedrijf "
                    "met een eigen btw-id: verbeter het btw-id of laat het leeg."
                ),
                code=VAT_ID_IN_USE,
                params={"vat_id": self.vat_id, "other": other},
            )
        return None

    @property
    def display_name(self) -> str:
        return self.trade_name or self.legal_name


def other_creditor_with_iban(iban: str, **excluded: object) -> str | None:
    """Return the slug of a creditor whose IBAN is `iban`, leaving out the creditor that `excluded` selects, or None.

    `iban` may contain spaces and lower case, as typed in a form. Pass
    `pk=` for a saved creditor, whose slug may be changing, and `slug=`
    for one that may not be saved yet.
    """
    compact = compact_iban(iban)
    return Creditor.objects.filter(iban=compact).exclude(**excluded).values_list("slug", flat=True).first()


def other_creditor_with_vat_id(vat_id: str, **excluded: object) -> str | None:
    """Return the slug of a creditor whose VAT id is `vat_id` (compact form), leaving out `excluded`, or None."""
    return Creditor.objects.filter(vat_id=vat_id).exclude(**excluded).values_list("slug", flat=True).first()


class CreditorAccess(models.Model):
    """A back-office user's access to one creditor's data.

    A staff user sees in the admin only the rows of the creditors linked
    here, and a superuser sees every creditor. `betaalreis creditor grant`
    and `revoke` and the user screen of the admin (for superusers) manage
    these rows.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="creditor_access",
        verbose_name=_("gebruiker"),
    )
    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, related_name="user_access", verbose_name=_("crediteur")
    )
    granted_at = models.DateTimeField(_("toegang gegeven op"), default=timezone.now)
    granted_by = models.CharField(_("toegang gegeven door"), max_length=150, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "creditor"], name="creditor_access_unique_user")]
        verbose_name = _("toegang tot crediteur")
        verbose_name_plural = _("toegang tot crediteuren")

    def __str__(self) -> str:
        return f"{self.user} → {self.creditor.slug}"


class AccessChange(models.TextChoices):
    GRANTED = "granted", _("toegang gegeven")
    REVOKED = "revoked", _("toegang ingetrokken")


class CreditorAccessEvent(models.Model):
    """An audit record of one grant or revoke of a user's access to a creditor's data.

    `do_grant_creditor_access` and `do_revoke_creditor_access` write it. The
    user name and creditor slug are copied, so the record stays readable
    after the user or creditor is deleted or renamed.
    """

    creditor = models.ForeignKey(
        Creditor, null=True, blank=True, on_delete=models.SET_NULL, related_name="access_events",
        verbose_name=_("crediteur"),
    )
    creditor_slug = models.CharField(_("korte naam crediteur"), max_length=50)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="creditor_access_events", verbose_name=_("gebruiker"),
    )
    username = models.CharField(_("gebruikersnaam"), max_length=150)
    change = models.CharField(_("wijziging"), max_length=10, choices=AccessChange.choices)
    at = models.DateTimeField(_("tijdstip"), default=timezone.now, db_index=True)
    by = models.CharField(
        _("door"), max_length=150, help_text=_("Wie de wijziging deed, zoals command:beheer of admin:anna."),
    )

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("wijziging van toegang tot crediteur")
        verbose_name_plural = _("wijzigingen van toegang tot crediteuren")

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_change_display()}: {self.username} → {self.creditor_slug}"


class Debtor(models.Model):
    """A customer who owes a creditor money."""

    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, related_name="debtors", verbose_name=_("crediteur")
    )
    customer_number = models.CharField(_("klantnummer"), max_length=64)
    kind = models.CharField(
        _("soort"), max_length=10, choices=DebtorKind.choices, default=DebtorKind.CONSUMER
    )
    name = models.CharField(_("naam"), max_length=200)
    # Derived from `name` on save; bank matching compares payer names with it.
    name_key = NormalisedKeyField(
        source="name", normaliser="name", max_length=200, verbose_name=_("zoeksleutel naam")
    )
    contact_person = models.CharField(_("contactpersoon"), max_length=200, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    extra_emails = models.JSONField(
        _("extra e-mailadressen"), default=list, blank=True,
        help_text=_("Krijgen een kopie van elke e-mail."),
    )
    mobile = models.CharField(
        _("mobiel nummer"), max_length=20, blank=True, validators=[validate_e164],
        help_text=_("In E.164-notatie, bijvoorbeeld +31612345678."),
    )
    phone = models.CharField(_("telefoon"), max_length=20, blank=True, validators=[validate_e164])
    street = models.CharField(_("straat en huisnummer"), max_length=200, blank=True)
    postal_code = models.CharField(_("postcode"), max_length=16, blank=True)
    city = models.CharField(_("plaats"), max_length=100, blank=True)
    country = models.CharField(_("land"), max_length=2, default="NL")
    language = models.CharField(
        _("taal"), max_length=2, choices=Language.choices, default=Language.DUTCH
    )
    preferred_channel = models.CharField(
        _("voorkeurskanaal"), max_length=10, choices=Channel.choices, blank=True
    )
    opted_out_channels = models.JSONField(
        _("afgemelde kanalen"), default=list, blank=True,
        help_text=_("Kanalen waarop deze debiteur geen berichten wil ontvangen."),
    )
    vat_id = models.CharField(_("btw-id"), max_length=20, blank=True)
    kvk_number = models.CharField(_("KvK-nummer"), max_length=8, blank=True)
    # A consumer's 14-day letter goes by e-mail only with this agreement,
    # because the creditor must prove that the letter was received (see
    # `betaalreis.ledger.electronic_agreement`).
    electronic_agreement = models.BooleanField(
        _("akkoord met elektronische communicatie"), default=False,
        help_text=_(
            "De debiteur heeft ingestemd met aanmaningen per e-mail, ook de veertiendagenbrief. "
            "Zonder dit akkoord gaat de veertiendagenbrief aan een consument per post."
        ),
    )
    electronic_agreement_at = models.DateTimeField(
        _("akkoord gegeven op"), null=True, blank=True,
        help_text=_("Wanneer het akkoord met elektronische communicatie is gegeven. Leeg zonder akkoord."),
    )
    electronic_agreement_source = models.CharField(
        _("bron akkoord"), max_length=300, blank=True,
        help_text=_("Waar het akkoord vandaan komt: een importbestand, de beheeromgeving of het portaal."),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("gewijzigd op"))

    class Meta:
        ordering = ["creditor", "customer_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "customer_number"], name="debtor_unique_customer_number"
            ),
        ]
        verbose_name = _("debiteur")
        verbose_name_plural = _("debiteuren")

    def __str__(self) -> str:
        return f"{self.customer_number} {self.name}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        unknown = set(self.opted_out_channels) - set(Channel.values)
        if unknown:
            errors["opted_out_channels"] = f"Unknown channels: {sorted(unknown)}"

        postal_code_problem = normalize_postal_code_field(self)
        if postal_code_problem:
            errors["postal_code"] = postal_code_problem

        if errors:
            raise ValidationError(errors)

    def accepts(self, channel: str) -> bool:
        """Return whether a message on `channel` can reach this debtor."""
        if opt_out_blocks(channel, self.opted_out_channels):
            return False
        if channel == Channel.EMAIL:
            return bool(self.email)
        if channel in (Channel.SMS, Channel.WHATSAPP):
            return bool(self.mobile)
        if channel == Channel.LETTER:
            return bool(self.street and self.postal_code and self.city)
        if channel == Channel.PHONE:
            return bool(self.phone or self.mobile)
        return False


class DebtorBankAccount(models.Model):
    """An IBAN known to belong to a debtor, used to match bank payments."""

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"))
    debtor = models.ForeignKey(
        Debtor, on_delete=models.CASCADE, related_name="bank_accounts", verbose_name=_("debiteur")
    )
    iban = models.CharField(max_length=34, validators=[validate_iban], verbose_name=_("IBAN"))
    source = models.CharField(
        max_length=20, default="import",
        help_text=_("Herkomst van de koppeling: import, handmatige koppeling of portaal."),
        verbose_name=_("bron"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creditor", "iban", "debtor"], name="bank_account_unique"),
        ]
        indexes = [models.Index(fields=["creditor", "iban"])]
        verbose_name = _("bankrekening van debiteur")
        verbose_name_plural = _("bankrekeningen van debiteuren")

    def __str__(self) -> str:
        return f"{self.iban} → {self.debtor_id}"


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Factuur")
    CREDIT_NOTE = "credit_note", _("Creditnota")


class InvoiceStatus(models.TextChoices):
    OPEN = "open", _("Openstaand")
    PAID = "paid", _("Betaald")
    CREDITED = "credited", _("Gecrediteerd")
    DISPUTED = "disputed", _("Betwist")
    PAYMENT_PLAN = "payment_plan", _("In betalingsregeling")
    HANDED_OVER = "handed_over", _("Uit handen gegeven")
    WRITTEN_OFF = "written_off", _("Afgeboekt")


# Only these statuses take part in dunning; every other status is never chased.
DUNNABLE_STATUSES = (InvoiceStatus.OPEN,)

# Statuses in which an invoice can still receive money.
PAYABLE_STATUSES = (
    InvoiceStatus.OPEN,
    InvoiceStatus.DISPUTED,
    InvoiceStatus.PAYMENT_PLAN,
    InvoiceStatus.HANDED_OVER,
)
# The condition of the partial (creditor, status, due_date) index: one
# equality per payable status. SQLite uses a partial index only for a query
# that repeats the condition or contains one of its OR terms, such as
# `status = 'open'`. `status IN (...)` is not matched, so a query that selects
# several payable statuses adds this condition (see `Invoice.Meta.indexes`).
PAYABLE_STATUS_CONDITION = reduce(operator.or_, (Q(status=status) for status in PAYABLE_STATUSES))


class Invoice(models.Model):
    """An invoice or credit note, with what is still open of it.

    A credit note has a negative total and open amount; it lowers the claim
    of its debtor and is never chased itself.
    """

    # No index of their own: the indexes in Meta start with these columns.
    # The daily run updates up to every open invoice, and each index costs
    # an entry per updated row.
    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, related_name="invoices", db_index=False,
        verbose_name=_("crediteur")
    )
    debtor = models.ForeignKey(
        Debtor,
        on_delete=models.CASCADE,
        related_name="invoices",
        db_index=False,
        verbose_name=_("debiteur"),
    )
    number = models.CharField(_("factuurnummer"), max_length=64)
    # Derived from `number` and `payment_reference` on save; bank matching
    # looks invoices up by these (see ledger.match_keys).
    number_key = NormalisedKeyField(verbose_name=_("zoeksleutel factuurnummer"))
    number_digits = NormalisedKeyField(
        normaliser="digits", verbose_name=_("cijfers van het factuurnummer")
    )
    reference_key = NormalisedKeyField(
        source="payment_reference", max_length=35, verbose_name=_("zoeksleutel betalingskenmerk")
    )
    kind = models.CharField(
        _("soort"), max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE
    )
    # None when the source gives no invoice date. Letters and the portal then show no invoice date.
    issue_date = models.DateField(_("factuurdatum"), null=True, blank=True)
    due_date = models.DateField(_("vervaldatum"))
    currency = models.CharField(_("valuta"), max_length=3, default="EUR")
    total = models.DecimalField(_("totaal"), **MONEY)
    open_amount = models.DecimalField(_("openstaand"), **MONEY)
    payment_reference = models.CharField(_("betalingskenmerk"), max_length=35, blank=True)
    description = models.CharField(_("omschrijving"), max_length=500, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    corrects = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="credit_notes",
        help_text=_("De factuur die deze creditnota corrigeert."), db_index=False,
        verbose_name=_("corrigeert factuur"),
    )
    # Set on a credit note whose allocations Betaalreis undid because an
    # import showed different open amounts on the invoices it had paid,
    # while the file did not list the credit note itself. The books may
    # already have used it, so the daily run leaves it alone until an import
    # lists the credit note and so states what is still open of it.
    allocation_held = models.BooleanField(
        _("niet zelf verrekenen"), default=False,
        help_text=_("Betaalreis verrekent deze creditnota pas weer als een import het openstaande bedrag ervan noemt."),
    )
    source = models.CharField(_("bron"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("gewijzigd op"))

    class Meta:
        ordering = ["creditor", "due_date", "number"]
        constraints = [
            models.UniqueConstraint(fields=["creditor", "number"], name="invoice_unique_number"),
        ]
        # Bank matching updates the open amount and status of up to every
        # open invoice, and SQLite then rewrites the entry of each index that
        # contains one of them. The status index leaves out the settled
        # statuses, so paying an invoice deletes its entry and adds none.
        # The debtor index has no status, because a debtor has few invoices.
        # PostgreSQL adds an entry to every other index for such an update,
        # because a partial index condition on the status rules out a HOT update.
        indexes = [
            models.Index(
                fields=["creditor", "status", "due_date"], condition=PAYABLE_STATUS_CONDITION,
                name="invoice_payable_status_idx",
            ),
            models.Index(fields=["debtor"], name="invoice_debtor_idx"),
            models.Index(fields=["creditor", "number_key"]),
            models.Index(fields=["creditor", "number_digits"]),
            models.Index(fields=["creditor", "reference_key"]),
            models.Index(fields=["creditor", "open_amount"]),
            # Only credit notes set it, so the index leaves out the other rows.
            models.Index(
                fields=["corrects"], condition=Q(corrects__isnull=False), name="invoice_corrects_idx"
            ),
        ]
        verbose_name = _("factuur")
        verbose_name_plural = _("facturen")

    def __str__(self) -> str:
        return self.number

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    # Dunning progress lives in its own table (dunning.InvoiceStage). These read
    # it, one query per invoice unless the query selected `dunning_progress`.
    @property
    def dunning_stage(self) -> str:
        """The code of the highest dunning stage given, or "" before the first."""
        try:
            return self.dunning_progress.stage
        except ObjectDoesNotExist:
            return ""

    @property
    def dunning_stage_date(self) -> dt.date | None:
        """The run day that gave the current dunning stage, or None before the first."""
        try:
            return self.dunning_progress.stage_date
        except ObjectDoesNotExist:
            return None


class PaymentSource(models.TextChoices):
    BANK = "bank", _("Bankafschrift")
    PSP = "psp", _("Betaalprovider")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Handmatig")


class PaymentStatus(models.TextChoices):
    NEW = "new", _("Nieuw")
    MATCHED = "matched", _("Gematcht")
    PARTLY_MATCHED = "partly_matched", _("Deels gematcht")
    REVIEW = "review", _("Te beoordelen")
    IGNORED = "ignored", _("Genegeerd")
    REVERSED = "reversed", _("Teruggeboekt")


class MatchRule(models.TextChoices):
    """The bank matching rule (or person) that decided a payment, kept in Payment.match_rule."""

    REVERSAL = "reversal", _("Terugboeking")
    STRUCTURED_REFERENCE = "structured_reference", _("Betalingskenmerk")
    INVOICE_NUMBER = "invoice_number", _("Factuurnummer")
    INVOICE_NUMBER_TYPO = "invoice_number_typo", _("Factuurnummer met typfout")
    PAYER_IBAN = "payer_iban", _("Bekende IBAN")
    PAYER_NAME = "payer_name", _("Naam betaler")
    MANUAL = "manual", _("Handmatig")
    NONE = "none", _("Geen match")


class Payment(models.Model):
    """Money received from (or returned to) a debtor.

    `amount` is positive for money in. A reversal (storno, R-transaction) is
    its own row with a negative amount that points at the payment it undoes.
    `external_id` makes imports idempotent: the same bank entry or PSP payment
    is stored once per creditor.
    """

    # No index of its own: the unique constraint and the index in Meta start
    # with this column, and an import writes every new payment twice (insert,
    # then the matching outcome).
    # No foreign key constraint in the database either, and neither on the
    # creditor of the other rows a bank import writes (allocations, timeline
    # events, bank transactions and review candidates). PostgreSQL
    # checks such a constraint at commit with one query per row. In
    # bench.bank_match (1,000,000 invoices, 100,000 entries, 2-core AMD EPYC
    # under load) these checks took about 0.6 s of server CPU in the store
    # step and 1.2 s in the match step. Django deletes the rows with their
    # creditor, and every query selects rows by an existing creditor, so a
    # row left behind by a raw SQL delete is never read.
    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, related_name="payments", db_index=False, db_constraint=False,
        verbose_name=_("crediteur"),
    )
    debtor = models.ForeignKey(
        Debtor, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments",
        verbose_name=_("debiteur")
    )
    source = models.CharField(max_length=10, choices=PaymentSource.choices, verbose_name=_("bron"))
    external_id = models.CharField(max_length=200, verbose_name=_("externe id"))
    booking_date = models.DateField(_("boekdatum"))
    value_date = models.DateField(_("valutadatum"), null=True, blank=True)
    amount = models.DecimalField(_("bedrag"), **MONEY)
    currency = models.CharField(_("valuta"), max_length=3, default="EUR")
    payer_name = models.CharField(_("naam betaler"), max_length=200, blank=True)
    payer_iban = models.CharField(_("IBAN betaler"), max_length=34, blank=True)
    structured_reference = models.CharField(_("gestructureerd kenmerk"), max_length=35, blank=True)
    remittance_info = models.TextField(_("omschrijving"), blank=True)
    status = models.CharField(
        max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.NEW,
        verbose_name=_("status")
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reversals",
        verbose_name=_("draait terug")
    )
    # Text without a length limit: a review reason that lists many invoices
    # (each handed-over invoice adds one) must keep its last instruction.
    match_reason = models.TextField(_("reden match"), blank=True)
    # The decision of bank matching or of a person in the review queue, on
    # the payment's own row: bank matching updates this row anyway, and a
    # separate decision row cost an insert and a foreign key check per
    # payment. `match_rule` is empty until a decision is made. The review
    # candidates stay in banking.MatchCandidate.
    match_rule = models.CharField(_("regel match"), max_length=30, choices=MatchRule.choices, blank=True)
    match_score = models.PositiveSmallIntegerField(_("score match"), default=0)
    match_decided_at = models.DateTimeField(_("match besloten op"), null=True, blank=True)
    # Indexed only where set (Meta.indexes), so the import's inserts and
    # matching's updates of unconfirmed payments write no entry for it.
    match_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        db_index=False, verbose_name=_("match bevestigd door"),
    )
    match_confirmed_at = models.DateTimeField(_("match bevestigd op"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        ordering = ["creditor", "booking_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "source", "external_id"], name="payment_unique_external_id"
            ),
        ]
        indexes = [
            models.Index(fields=["creditor", "status"]),
            models.Index(
                fields=["match_confirmed_by"], condition=Q(match_confirmed_by__isnull=False),
                name="payment_confirmed_by_idx",
            ),
        ]
        verbose_name = _("betaling")
        verbose_name_plural = _("betalingen")

    def __str__(self) -> str:
        return f"{self.booking_date} {self.currency} {self.amount}"


class AllocationPart(models.TextChoices):
    """The part of an invoice's claim that an allocation pays."""

    PRINCIPAL = "principal", _("Hoofdsom")
    COSTS = "costs", _("Incassokosten")
    INTEREST = "interest", _("Rente")


class Allocation(models.Model):
    """The part of a payment (or credit note) applied to one invoice.

    Only allocations to the principal lower the invoice's open amount. Money
    beyond the principal pays the collection costs and interest of the
    invoice's claim (see `betaalreis.dunning.charges`), with `part` set to
    match.
    """

    # No foreign key constraint in the database, for the reason given at Payment.creditor.
    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, db_constraint=False, verbose_name=_("crediteur"))
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations",
        verbose_name=_("betaling")
    )
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.CASCADE, related_name="credit_allocations",
        verbose_name=_("creditnota")
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("factuur")
    )
    amount = models.DecimalField(**MONEY, verbose_name=_("bedrag"))
    # The database default lets the bulk inserts of banking.allocation leave
    # the column out for allocations to the principal.
    part = models.CharField(
        _("deel"), max_length=10, choices=AllocationPart.choices,
        default=AllocationPart.PRINCIPAL, db_default=AllocationPart.PRINCIPAL,
    )
    reason = models.CharField(max_length=300, blank=True, verbose_name=_("reden"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(payment__isnull=False) | models.Q(credit_note__isnull=False),
                name="allocation_has_source",
            ),
        ]
        verbose_name = _("toewijzing")
        verbose_name_plural = _("toewijzingen")

    def __str__(self) -> str:
        return f"{self.amount} → {self.invoice_id}"


class TimelineKind(models.TextChoices):
    IMPORT = "import", _("Import")
    INVOICE_CHANGED = "invoice_changed", _("Factuur gewijzigd")
    COMMUNICATION = "communication", _("Bericht")
    COMMUNICATION_CANCELLED = "communication_cancelled", _("Bericht vervallen")
    PAYMENT = "payment", _("Betaling")
    STAGE = "stage", _("Fase")
    LEGAL = "legal", _("Wettelijke termijn")
    HELD = "held", _("Tegengehouden")
    NOTE = "note", _("Notitie")
    PREFERENCE = "preference", _("Voorkeur")
    # Work for the credit manager, such as a 14-day letter the run cannot
    # send (see `betaalreis.dunning.manual_tasks`).
    TASK = "task", _("Taak")


class TimelineEvent(models.Model):
    """One thing that happened to a debtor, in order: the debtor's timeline.

    Every state change (`do_*` action) writes one row, so the timeline is also
    the audit log. `source` names what caused it (a file, a run, a person).
    """

    # No foreign key constraint in the database, for the reason given at Payment.creditor.
    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, db_constraint=False, verbose_name=_("crediteur"))
    # Indexed by the indexes in Meta only: (debtor, at) serves lookups by
    # debtor, and most events (each planned message has one) name no invoice.
    # Neither has a foreign key constraint in the database. The dunning run
    # and bank matching write one event per message and per payment, and
    # PostgreSQL checks each constraint at commit with one query per row.
    # In the first run of bench.plan (20,000 events, 2-core AMD EPYC under
    # load) the checks took 0.065 s of server CPU. Django deletes the events
    # with their debtor and clears the invoice when it is deleted, as it
    # does for the creditor above.
    debtor = models.ForeignKey(
        Debtor,
        on_delete=models.CASCADE,
        related_name="timeline",
        db_index=False,
        db_constraint=False,
        verbose_name=_("debiteur"),
    )
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="timeline",
        db_index=False, db_constraint=False, verbose_name=_("factuur"),
    )
    kind = models.CharField(max_length=24, choices=TimelineKind.choices, verbose_name=_("soort"))
    at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("tijdstip"))
    source = models.CharField(max_length=300, verbose_name=_("bron"))
    summary = models.CharField(max_length=500, verbose_name=_("samenvatting"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("gegevens"))

    class Meta:
        ordering = ["debtor", "at", "id"]
        indexes = [
            models.Index(fields=["debtor", "at"]),
            models.Index(
                fields=["invoice"], condition=Q(invoice__isnull=False), name="timeline_invoice_idx"
            ),
            # Each run reads the creditor's task rows, which are few among
            # its message and payment rows.
            models.Index(fields=["creditor", "debtor"], condition=Q(kind="task"), name="timeline_task_idx"),
        ]
        verbose_name = _("tijdlijnregel")
        verbose_name_plural = _("tijdlijn")

    def __str__(self) -> str:
        # The admin shows this beside each row of a debtor's timeline, so it
        # uses the local time zone, and the kind and summary in the active language.
        summary = summary_in_language(self.summary, self.data, creditor_id=self.creditor_id)
        return f"{timezone.localtime(self.at):%Y-%m-%d %H:%M} {self.get_kind_display()}: {summary}"


ZERO = Decimal("0.00")
