"""The values the last import read for each invoice, so a re-import can tell what changed."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from betaalreis.ledger.models import Creditor, Invoice


class ImportedInvoice(models.Model):
    """The source values of an invoice as its last import read them.

    An import compares a file with these values, not with the ledger, so
    importing an old file again does not undo payments that Betaalreis
    allocated since: only what changed in the source is applied.
    """

    creditor = models.ForeignKey(Creditor, on_delete=models.CASCADE)
    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="import_state")
    fingerprint = models.CharField(max_length=64)
    values = models.JSONField(default=dict)
    source = models.CharField(max_length=300)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["creditor", "invoice"])]

    def __str__(self) -> str:
        return f"{self.invoice_id} from {self.source}"
