"""The outbox: every communication is a row before it is a message.

The dunning run writes a `Communication` in the same transaction as the stage
change that caused it; dispatch reads the rows afterwards. The unique
`idempotency_key` (creditor, debtor, stage, channel and the run's cycle) makes
a second run of the same day a no-op, and the locked status machine in
`betaalreis.outbox.dispatch` makes a crash mid-dispatch safe to resume.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import MONEY, Channel, Creditor, Debtor, Invoice


class CommunicationStatus(models.TextChoices):
    PENDING = "pending", _("Wacht op verzending")
    HELD = "held", _("Tegengehouden")
    SENDING = "sending", _("Wordt verzonden")
    SENT = "sent", _("Verzonden")
    FAILED = "failed", _("Mislukt")
    CANCELLED = "cancelled", _("Vervallen")


# Allowed moves of the status machine; `dispatch` refuses any other.
TRANSITIONS: dict[str, frozenset[str]] = {
    CommunicationStatus.PENDING: frozenset(
        {CommunicationStatus.SENDING, CommunicationStatus.CANCELLED, CommunicationStatus.HELD}
    ),
    CommunicationStatus.HELD: frozenset(
        {CommunicationStatus.PENDING, CommunicationStatus.CANCELLED}
    ),
    CommunicationStatus.SENDING: frozenset(
        {
            CommunicationStatus.SENT,
            CommunicationStatus.FAILED,
            CommunicationStatus.PENDING,
            CommunicationStatus.CANCELLED,
        }
    ),
    CommunicationStatus.FAILED: frozenset({CommunicationStatus.PENDING}),
    CommunicationStatus.SENT: frozenset(),
    CommunicationStatus.CANCELLED: frozenset(),
}


class Communication(models.Model):
    """One message to one debtor on one channel, listing one or more invoices."""

    # The (creditor, run_date) index in Meta serves lookups by creditor.
    # Neither key has a foreign key constraint in the database. PostgreSQL
    # checks one per inserted row at commit, and in bench.plan's first run
    # (20,000 messages) the checks of both keys took about 0.10 s of the
    # server's CPU time (2-core AMD EPYC host under load). Django deletes
    # the rows with their creditor or debtor, and the product deletes
    # creditors and debtors only through Django.
    # NOTE: a row left behind by a raw SQL delete of its debtor is never
    # sent, because dispatch loads the claimed rows joined with their debtor,
    # but dispatch claims it again after every lease.
    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, db_index=False, db_constraint=False, verbose_name=_("crediteur")
    )
    debtor = models.ForeignKey(
        Debtor, on_delete=models.CASCADE, related_name="communications", db_constraint=False,
        verbose_name=_("debiteur"),
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, verbose_name=_("kanaal"))
    stage = models.CharField(max_length=40, verbose_name=_("aanmaningsfase"))
    language = models.CharField(max_length=2, verbose_name=_("taal"))
    # Unique through the constraint in Meta. On PostgreSQL `unique=True` would
    # also create a varchar_pattern_ops index for LIKE prefix queries, which
    # no query runs, and which cost every planned message an index entry.
    idempotency_key = models.CharField(max_length=200, verbose_name=_("idempotentiesleutel"))
    status = models.CharField(
        max_length=10, choices=CommunicationStatus.choices, default=CommunicationStatus.PENDING,
        verbose_name=_("status")
    )
    run_date = models.DateField(
        help_text=_("De werkdag van de run die het bericht plande."), verbose_name=_("rundatum")
    )
    not_before = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Vroegste moment waarop het bericht weg mag (contactregels)."),
        verbose_name=_("niet voor")
    )
    hold_reason = models.CharField(max_length=300, blank=True, verbose_name=_("reden tegenhouden"))
    total_amount = models.DecimalField(**MONEY, verbose_name=_("totaalbedrag"))
    currency = models.CharField(max_length=3, default="EUR", verbose_name=_("valuta"))
    subject = models.CharField(max_length=300, blank=True, verbose_name=_("onderwerp"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opgepakt op"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("pogingen"))
    # When the temporary errors of the message began. Dispatch gives up
    # BETAALREIS_DISPATCH_GIVE_UP_DAYS after it. Hand-overs with an uncertain
    # outcome do not set it.
    failing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("tijdelijke fouten sinds"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verzonden op"))
    provider = models.CharField(max_length=60, blank=True, verbose_name=_("provider"))
    provider_reference = models.CharField(
        max_length=500, blank=True, verbose_name=_("referentie provider")
    )
    last_error = models.TextField(blank=True, verbose_name=_("laatste fout"))
    cost = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, verbose_name=_("kosten")
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("aangemaakt op"))

    class Meta:
        ordering = ["creditor", "run_date", "id"]
        indexes = [
            models.Index(fields=["status", "channel"]),
            models.Index(fields=["creditor", "run_date"]),
            # Bank matching looks up the messages that requested a payment's amount.
            models.Index(fields=["creditor", "total_amount"], name="communication_requested_total"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="communication_idempotency_key_unique"),
        ]
        verbose_name = _("bericht")
        verbose_name_plural = _("berichten")

    def __str__(self) -> str:
        return f"{self.channel}/{self.stage} → {self.debtor_id} ({self.status})"


class CommunicationInvoice(models.Model):
    """An invoice listed in a communication, with its open amount when planned."""

    # The key (communication, invoice) serves lookups by communication. Dunning
    # restarts and raises after a 14-day letter mark the rows before them by
    # communication id (see `betaalreis.dunning.reopening`), so the rows need
    # no surrogate id. Without one, copying the 98,730 rows of bench.plan's
    # first run writes one index entry less per row and takes no sequence value.
    pk = models.CompositePrimaryKey("communication", "invoice")
    # Neither key has a foreign key constraint in the database. PostgreSQL
    # checks such a constraint at commit, one row at a time, and in the first
    # run of bench.plan (103,000 rows) the checks took about 0.5 s of the
    # server's CPU time (2-core AMD EPYC, under load). Django deletes the rows
    # with their communication or invoice, and readers reach them through
    # inner joins, so a row left behind by a raw SQL delete is never read.
    communication = models.ForeignKey(
        Communication, on_delete=models.CASCADE, related_name="items", db_index=False,
        db_constraint=False, verbose_name=_("bericht"),
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="communication_items", db_constraint=False,
        verbose_name=_("factuur")
    )
    open_amount = models.DecimalField(**MONEY, verbose_name=_("openstaand bedrag"))

    class Meta:
        verbose_name = _("factuur in bericht")
        verbose_name_plural = _("facturen in berichten")

    def __str__(self) -> str:
        return f"{self.communication_id}: {self.invoice_id}"
