"""Bank statements, their transactions and the review candidates of payments.

Money in from a bank becomes a `ledger.Payment`. The bank's own data that the
ledger does not keep is stored here: entry references, bank transaction code,
charges, the original currency amount, batch id, return reason and balances.
Each payment from a statement links back to the line it came from. The
match decision itself (rule, score, reason, who confirmed it) is stored on
the payment (`ledger.Payment.match_rule` and the fields beside it).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import MONEY, Creditor, Debtor, Invoice, MatchRule, Payment


class BankStatement(models.Model):
    """One statement (camt.053 Stmt, camt.054 Ntfctn or MT940 message) as imported."""

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, related_name="bank_statements", verbose_name=_("crediteur"))
    format = models.CharField(_("formaat"), max_length=20)
    file_name = models.CharField(_("bestandsnaam"), max_length=300)
    file_sha256 = models.CharField(_("SHA-256 van het bestand"), max_length=64)
    index_in_file = models.PositiveIntegerField(_("volgnummer in het bestand"), default=0)
    statement_id = models.CharField(_("afschriftnummer"), max_length=100, blank=True)
    account = models.CharField(_("rekening"), max_length=40)
    currency = models.CharField(_("valuta"), max_length=3, blank=True)
    opening_balance = models.DecimalField(_("beginsaldo"), null=True, blank=True, **MONEY)
    opening_date = models.DateField(_("datum beginsaldo"), null=True, blank=True)
    closing_balance = models.DecimalField(_("eindsaldo"), null=True, blank=True, **MONEY)
    closing_date = models.DateField(_("datum eindsaldo"), null=True, blank=True)
    entry_count = models.PositiveIntegerField(_("aantal posten"), default=0)
    is_notification = models.BooleanField(
        _("melding"), default=False,
        help_text=_("Een camt.054-melding (debit/credit notification) in plaats van een afschrift."),
    )
    imported_at = models.DateTimeField(_("geïmporteerd op"), default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "file_sha256", "index_in_file"], name="bank_statement_unique_file"
            ),
        ]
        verbose_name = _("bankafschrift")
        verbose_name_plural = _("bankafschriften")

    def __str__(self) -> str:
        return f"{self.account} {self.statement_id}"


class BankTransaction(models.Model):
    """One transaction of a statement entry; a batch entry has one row per transaction.

    `payment` is set for credits and reversals, except on a row that repeats
    a transaction imported earlier from another file (`duplicate_of`).
    Debits that are not reversals are kept for the record with no payment.
    """

    # No index of its own: the unique constraint in Meta starts with this
    # column. No foreign key constraint in the database, for the reason
    # given at ledger.models.Payment.creditor.
    creditor = models.ForeignKey(
        Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"), db_index=False, db_constraint=False
    )
    statement = models.ForeignKey(
        BankStatement, on_delete=models.CASCADE, related_name="transactions", verbose_name=_("afschrift")
    )
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="bank_transaction", verbose_name=_("betaling")
    )
    external_id = models.CharField(_("extern id"), max_length=200)
    position = models.CharField(
        _("positie"), max_length=40, help_text=_("Plaats van de post in het bestand: regelnummer of postnummer.")
    )
    booking_date = models.DateField(_("boekdatum"))
    value_date = models.DateField(_("valutadatum"), null=True, blank=True)
    amount = models.DecimalField(_("bedrag"), **MONEY)
    currency = models.CharField(_("valuta"), max_length=3)
    is_reversal = models.BooleanField(_("terugboeking"), default=False)
    bank_transaction_code = models.CharField(_("transactiecode bank"), max_length=60, blank=True)
    entry_reference = models.CharField(_("referentie post"), max_length=100, blank=True)
    bank_reference = models.CharField(_("referentie bank"), max_length=100, blank=True)
    end_to_end_id = models.CharField(_("end-to-end-id"), max_length=100, blank=True)
    mandate_id = models.CharField(_("machtigingskenmerk"), max_length=100, blank=True)
    batch_id = models.CharField(_("batch-id"), max_length=100, blank=True)
    batch_size = models.PositiveIntegerField(_("aantal in batch"), null=True, blank=True)
    return_reason = models.CharField(_("reden terugboeking"), max_length=10, blank=True)
    charges = models.DecimalField(_("kosten"), null=True, blank=True, **MONEY)
    original_amount = models.DecimalField(
        _("oorspronkelijk bedrag"), null=True, blank=True, max_digits=18, decimal_places=4,
        help_text=_("Opgedragen bedrag in de valuta van de betaler, als die afwijkt."),
    )
    original_currency = models.CharField(_("oorspronkelijke valuta"), max_length=3, blank=True)
    counterparty_name = models.CharField(_("naam tegenpartij"), max_length=200, blank=True)
    counterparty_iban = models.CharField(_("IBAN tegenpartij"), max_length=34, blank=True)
    counterparty_bic = models.CharField(_("BIC tegenpartij"), max_length=11, blank=True)
    raw = models.TextField(_("ruwe tekst"), blank=True)
    # Set when a file of another kind (camt.054 against camt.053 or MT940)
    # contained this transaction before; such a row has no payment of its own.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates",
        verbose_name=_("dubbel met"),
        help_text=_("De eerder ingelezen banktransactie met dezelfde betaling uit een ander bestand."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["creditor", "external_id"], name="bank_transaction_unique_external_id"
            ),
        ]
        verbose_name = _("banktransactie")
        verbose_name_plural = _("banktransacties")

    def __str__(self) -> str:
        return f"{self.booking_date} {self.currency} {self.amount}"


class MatchCandidate(models.Model):
    """A possible debtor, and optionally invoices, for a payment in the review queue."""

    # No foreign key constraint in the database, for the reason given at ledger.models.Payment.creditor.
    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE, verbose_name=_("crediteur"), db_constraint=False)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="match_candidates", verbose_name=_("betaling"))
    debtor = models.ForeignKey(Debtor, on_delete=models.CASCADE, verbose_name=_("debiteur"))
    invoices = models.ManyToManyField(Invoice, blank=True, verbose_name=_("facturen"))
    # Set for a reversal in review: the earlier payment it may reverse.
    original_payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("teruggeboekte betaling")
    )
    rule = models.CharField(_("regel"), max_length=30, choices=MatchRule.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    # Text without a length limit, because a reason names every invoice it
    # matched and can end in an instruction to the credit manager.
    reason = models.TextField(_("reden"), blank=True)

    class Meta:
        ordering = ["payment", "-score", "id"]
        verbose_name = _("kandidaat")
        verbose_name_plural = _("kandidaten")

    def __str__(self) -> str:
        return f"{self.debtor} ({self.score})"


class MatchDecision(Payment):
    """Payments with a match decision, as the admin lists them: rule, score, reason and who confirmed it."""

    class Meta:
        proxy = True
        verbose_name = _("betalingskoppeling")
        verbose_name_plural = _("betalingskoppelingen")


class ReviewPayment(Payment):
    """Payments in the review queue, as the admin lists them."""

    class Meta:
        proxy = True
        verbose_name = _("te beoordelen betaling")
        verbose_name_plural = _("te beoordelen betalingen")
