"""The values the last import read for each invoice, so a re-import can tell what changed."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.models import Creditor, Invoice


class ImportedInvoice(models.Model):
    """The source values of an invoice as its last import read them.

    An import compares a file with these values, not with the ledger, so
    importing an old file again does not undo payments that Betaalreis
    allocated since: only what changed in the source is applied.
    """

    creditor = models.ForeignKey(Creditor, verbose_name=_("crediteur"), on_delete=models.CASCADE)
    invoice = models.OneToOneField(
        Invoice, verbose_name=_("factuur"), on_delete=models.CASCADE, related_name="import_state"
    )
    fingerprint = models.CharField(_("vingerafdruk"), max_length=64)
    values = models.JSONField(_("waarden"), default=dict)
    source = models.CharField(_("bron"), max_length=300)
    imported_at = models.DateTimeField(_("geïmporteerd op"), default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["creditor", "invoice"])]
        verbose_name = _("geïmporteerde factuur")
        verbose_name_plural = _("geïmporteerde facturen")

    def __str__(self) -> str:
        return gettext("factuur %(invoice)s uit %(source)s") % {
            "invoice": self.invoice_id, "source": self.source
        }
