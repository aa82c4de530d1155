"""Dunning policy as data: ordered stages per creditor and debtor kind."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import MONEY, Creditor, DebtorKind, Invoice


class StageAction(models.TextChoices):
    MESSAGE = "message", _("Bericht")
    CALL_TASK = "call_task", _("Belopdracht")
    HANDOVER = "handover", _("Uit handen geven")


class Policy(models.Model):
    """A creditor's dunning policy for one kind of debtor."""

    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, related_name="policies", verbose_name=_("crediteur")
    )
    debtor_kind = models.CharField(
        max_length=10, choices=DebtorKind.choices, verbose_name=_("soort debiteur")
    )
    name = models.CharField(max_length=100, verbose_name=_("naam"))
    source = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("Bestand waaruit het beleid is geladen."),
        verbose_name=_("bron"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["creditor", "debtor_kind"], name="policy_per_kind"),
        ]
        verbose_name = _("aanmaningsbeleid")
        verbose_name_plural = _("aanmaningsbeleid")

    def __str__(self) -> str:
        return f"{self.creditor.slug}: {self.name}"


class Stage(models.Model):
    """One step of a policy.

    An invoice reaches the stage `offset_days` after its due date (negative
    means before it), provided the previous stage was sent at least
    `min_days_after_previous` days earlier. `channels` lists channel codes in
    order of preference; the first one the debtor accepts is used.
    """

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="stages", verbose_name=_("aanmaningsbeleid")
    )
    code = models.CharField(max_length=40, verbose_name=_("code"))
    order = models.PositiveSmallIntegerField(verbose_name=_("volgorde"))
    name_nl = models.CharField(max_length=100, verbose_name=_("naam (Nederlands)"))
    name_en = models.CharField(
        max_length=100, blank=True, verbose_name=_("naam (Engels)"),
        help_text=_("Leeg laten toont de Nederlandse naam ook aan Engelstalige lezers."),
    )
    offset_days = models.IntegerField(verbose_name=_("dagen na vervaldatum"))
    min_days_after_previous = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("minimaal dagen na vorige fase")
    )
    action = models.CharField(
        max_length=10,
        choices=StageAction.choices,
        default=StageAction.MESSAGE,
        verbose_name=_("actie"),
    )
    channels = models.JSONField(default=list, verbose_name=_("kanalen"))
    min_amount = models.DecimalField(**MONEY, default=0, verbose_name=_("minimumbedrag"))
    attach_letter = models.BooleanField(
        default=False, help_text=_("Voeg de brief als PDF toe aan de e-mail van deze fase."),
        verbose_name=_("brief als bijlage")
    )
    is_fourteen_day_letter = models.BooleanField(
        default=False,
        help_text=_("De wettelijke veertiendagenbrief: incassokosten pas na afloop van de termijn."),
        verbose_name=_("veertiendagenbrief"),
    )
    states_claim = models.BooleanField(
        default=False,
        help_text=_(
            "Noem in de berichten van deze fase de vordering naar Nederlands recht: wettelijke "
            "rente en de incassokosten die verschuldigd zijn of in rekening worden gebracht."
        ),
        verbose_name=_("vermeldt vordering"),
    )
    template = models.CharField(
        max_length=40, blank=True, help_text=_("Map met sjablonen; standaard de code van de fase."),
        verbose_name=_("sjabloonmap")
    )
    required = models.BooleanField(
        default=False,
        help_text=_(
            "Wordt nooit overgeslagen: een factuur die deze fase nog niet had, krijgt haar "
            "vóór elke latere fase, ook na een onderbreking van de runs."
        ),
        verbose_name=_("verplicht"),
    )

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "code"], name="stage_unique_code"),
            models.UniqueConstraint(fields=["policy", "order"], name="stage_unique_order"),
        ]
        verbose_name = _("aanmaningsfase")
        verbose_name_plural = _("aanmaningsfasen")

    def __str__(self) -> str:
        return f"{self.order}. {self.code} (+{self.offset_days}d)"

    @property
    def template_name(self) -> str:
        return self.template or self.code

    def name_for(self, language: str) -> str:
        """Return the stage's name in `language`, the Dutch name when it has no English one."""
        return self.name_nl if language == "nl" else self.name_en or self.name_nl


class RowidOneToOneField(models.OneToOneField):
    """A one-to-one primary key that SQLite stores as the table's rowid.

    Django declares the key BIGINT, which SQLite keeps in a separate index
    beside the rowid, so each lookup and insert walks two B-trees. Declared
    INTEGER, the key is the rowid itself, which cut the planner's SQL read of
    bench.plan's 100,000 invoices from about 227 ms to 202 ms of CPU time.
    SQLite integers are 64-bit either way. Other databases get the usual type.
    """

    def db_type(self, connection) -> str | None:
        if connection.vendor == "sqlite":
            return "integer"
        return super().db_type(connection)


class InvoiceStage(models.Model):
    """The highest dunning stage an invoice was given, and the run day that gave it.

    An invoice without a row has had no stage yet. The row lives apart from
    the invoice because a run changes the stage of up to every open invoice.
    On PostgreSQL, rewriting that many wide invoice rows, each with a new
    entry in every invoice index when its page had no room, took most of a
    first run. Writing these narrow rows costs a fraction of that.
    """

    # No foreign key constraint in the database: PostgreSQL checks one per
    # inserted row at commit, which in bench.plan's first run (100,000 new
    # rows) cost about as much server time as inserting the rows. Django
    # still deletes the row with its invoice, and every read joins from the
    # invoice, so a row left behind by a raw SQL delete is never read.
    invoice = RowidOneToOneField(
        Invoice,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="dunning_progress",
        db_constraint=False,
        verbose_name=_("factuur"),
    )
    # The stage code, as in Stage.code and Communication.stage.
    stage = models.CharField(_("aanmaningsfase"), max_length=40)
    # Runs always set it. Only a stage set by hand without a date, before this
    # table existed, has none, and the planner then applies no waiting time.
    stage_date = models.DateField(_("fase sinds"), null=True, blank=True)

    class Meta:
        verbose_name = _("aanmaningsfase van een factuur")
        verbose_name_plural = _("aanmaningsfasen van facturen")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.stage} ({self.stage_date})"


class LimitationRelease(models.Model):
    """A credit manager's decision to chase an invoice that may be time-barred.

    The run holds invoices whose limitation period (art. 3:307 BW) may have
    ended by what Betaalreis knows (see `betaalreis.legal.limitation`). An
    invoice with this row is chased again, for example because a reminder
    outside Betaalreis interrupted the period. Deleting the row holds it again.
    """

    invoice = models.OneToOneField(
        Invoice, on_delete=models.CASCADE, related_name="limitation_release", verbose_name=_("factuur")
    )
    released_by = models.CharField(_("vrijgegeven door"), max_length=200)
    released_at = models.DateTimeField(_("vrijgegeven op"), default=timezone.now)
    reason = models.CharField(_("reden"), max_length=500)

    class Meta:
        verbose_name = _("vrijgave bij mogelijke verjaring")
        verbose_name_plural = _("vrijgaven bij mogelijke verjaring")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.reason}"


class ReopenCause(models.TextChoices):
    """Cause of a reopening that started an invoice's dunning and claim again."""

    IMPORT = "import", _("Import")
    CREDIT_NOTE_UNDONE = "credit_note_undone", _("Verrekening creditnota teruggedraaid")
    ADMIN = "admin", _("Handmatig in het beheer")


class DunningRestart(models.Model):
    """The latest reopening that started an invoice's dunning and claim again.

    Since the restart the invoice is claimed as `principal` falling due on
    `due_date`, so interest runs from that date. Only allocations with an id
    above `last_allocation_id`, and messages with an id above
    `last_communication_id`, count for it, so payments, stages and 14-day
    letters of the earlier cycle no longer do. What the earlier cycle paid,
    claimed or waived stays with it (see `betaalreis.dunning.reopening`). Ids
    and not times mark the cut, because ids grow with every row while a run
    replaying a past day stamps its rows with the wall clock.
    """

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"))
    invoice = models.OneToOneField(
        Invoice, on_delete=models.CASCADE, related_name="dunning_restart", verbose_name=_("factuur")
    )
    cause = models.CharField(_("oorzaak"), max_length=24, choices=ReopenCause.choices)
    restarted_at = models.DateTimeField(_("opnieuw gestart op"))
    # The open amount when the invoice reopened.
    principal = models.DecimalField(**MONEY, verbose_name=_("hoofdsom"))
    due_date = models.DateField(_("vervaldatum heropend bedrag"))
    # The highest Allocation id of the invoice at the restart, and the highest
    # id of a Communication that listed it, 0 for none.
    last_allocation_id = models.BigIntegerField(_("laatste toewijzing vóór herstart"), default=0)
    last_communication_id = models.BigIntegerField(_("laatste bericht vóór herstart"), default=0)
    source = models.CharField(_("bron"), max_length=300)

    class Meta:
        verbose_name = _("herstart van aanmaningen")
        verbose_name_plural = _("herstarts van aanmaningen")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.principal} due {self.due_date} ({self.cause})"


class RaiseAfterLetter(models.Model):
    """The part of an open consumer invoice's principal that its latest 14-day letter did not name.

    An import or an edit raised the open amount after the letter was sent.
    A consumer owes collection costs only over an amount that a 14-day letter
    named (art. 6:96 lid 6 BW), so the claim leaves `unnamed_amount` out of
    the cost base until a 14-day letter sent after the raise names it: a
    letter whose communication has an id above `last_communication_id` (see
    `betaalreis.dunning.reopening`).
    """

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"))
    invoice = models.OneToOneField(
        Invoice, on_delete=models.CASCADE, related_name="raise_after_letter", verbose_name=_("factuur")
    )
    raised_at = models.DateTimeField(_("verhoogd op"))
    # The sum of the raises since the latest 14-day letter.
    unnamed_amount = models.DecimalField(**MONEY, verbose_name=_("niet in brief genoemd bedrag"))
    # The highest id of a Communication that listed the invoice at the latest raise, 0 for none.
    last_communication_id = models.BigIntegerField(_("laatste bericht vóór verhoging"), default=0)
    source = models.CharField(_("bron"), max_length=300)

    class Meta:
        verbose_name = _("verhoging na veertiendagenbrief")
        verbose_name_plural = _("verhogingen na veertiendagenbrief")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.unnamed_amount} not named since {self.raised_at:%Y-%m-%d}"


class PrincipalRaise(models.Model):
    """An amount by which an import or an edit raised the open amount of an open invoice.

    The debtor could not pay the raised part before it was asked for, so it
    falls due on its own `due_date`, after the invoice's payment term counted
    from the raise (see `betaalreis.dunning.reopening.reopened_due_date`).
    Statutory interest on it runs from then (art. 6:119 and 6:119a BW), and
    so do a business's costs on it (art. 6:96 lid 4 BW). A dunning restart
    claims the whole open amount from its own due date and deletes the rows.
    """

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"))
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="principal_raises", verbose_name=_("factuur")
    )
    raised_at = models.DateTimeField(_("verhoogd op"))
    amount = models.DecimalField(**MONEY, verbose_name=_("verhoging"))
    due_date = models.DateField(_("vervaldatum verhoging"))
    source = models.CharField(_("bron"), max_length=300)

    class Meta:
        verbose_name = _("verhoging van de hoofdsom")
        verbose_name_plural = _("verhogingen van de hoofdsom")

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.amount} due {self.due_date}"
