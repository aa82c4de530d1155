"""Per-creditor settings of the claim law, stored beside the creditor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from itertools import permutations
from types import MappingProxyType

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from betaalreis.ledger.models import Creditor
from betaalreis.legal.policy import (
    STATUTORY_ALLOCATION_ORDER,
    BusinessCostMode,
    LegalSettings,
    parse_allocation_order,
)

# The context keeps "kosten" apart from the outbox's sending cost, which has the same Dutch word.
_PART_NAMES = {
    "costs": pgettext_lazy("toerekening", "kosten"),
    "interest": pgettext_lazy("toerekening", "rente"),
    "principal": pgettext_lazy("toerekening", "hoofdsom"),
}


def _order_choices() -> list[tuple[str, Promise]]:
    choices = []
    for order in permutations(STATUTORY_ALLOCATION_ORDER):
        value = ",".join(order)
        label = format_lazy("{} → {} → {}", *(_PART_NAMES[part] for part in order))
        choices.append((value, label))
    return choices


class CreditorLegalSettings(models.Model):
    """Claim law settings of one creditor. A creditor without a row gets the defaults."""

    creditor = models.OneToOneField(
        Creditor, verbose_name=_("crediteur"),
        on_delete=models.CASCADE, related_name="legal_settings"
    )
    business_cost_mode = models.CharField(
        _("incassokosten zakelijk"),
        max_length=10,
        choices=[
            (BusinessCostMode.SCALE.value, _("Wettelijke staffel")),
            (BusinessCostMode.FIXED_40.value, _("Vast € 40")),
        ],
        default=BusinessCostMode.SCALE.value,
        help_text=_("Wat zakelijke debiteuren aan incassokosten betalen, volgens uw voorwaarden."),
    )
    consumer_interest_start_offset_days = models.PositiveSmallIntegerField(
        _("rente consument vanaf dag na vervaldatum"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_(
            "1 = de dag na de vervaldatum. Hoger als uw voorwaarden eerst een "
            "ingebrekestelling vragen."
        ),
    )
    allocation_order = models.CharField(
        _("toerekening van betalingen"),
        max_length=40,
        choices=_order_choices(),
        default=",".join(STATUTORY_ALLOCATION_ORDER),
        help_text=_("De wet (art. 6:44 BW): eerst kosten, dan rente, dan hoofdsom."),
    )
    receipt_days_letter = models.PositiveSmallIntegerField(
        _("ontvangstdagen brief"),
        default=2,
        validators=[MaxValueValidator(30)],
        help_text=_("Bezorgdagen na verzending, zonder zondagen, maandagen en feestdagen."),
    )
    receipt_days_email = models.PositiveSmallIntegerField(
        _("ontvangstdagen e-mail"),
        default=0,
        validators=[MaxValueValidator(30)],
        help_text=_("Kalenderdagen na aflevering; 0 = de dag van aflevering."),
    )
    contact_start = models.TimeField(_("contact vanaf"), default=dt.time(7, 0))
    contact_end = models.TimeField(_("contact tot"), default=dt.time(20, 0))
    weekly_contact_maximum = models.PositiveSmallIntegerField(
        _("maximaal contact per week"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_(
            "Berichten en belopdrachten per debiteur per kalenderweek, alle kanalen samen."
        ),
    )

    class Meta:
        verbose_name = _("juridische instellingen")
        verbose_name_plural = _("juridische instellingen")

    def __str__(self) -> str:
        return gettext("juridische instellingen van crediteur %(creditor)s") % {
            "creditor": self.creditor_id
        }

    def to_settings(self, *, vat_deductible: bool) -> LegalSettings:
        """Return these settings as the value the claim law takes."""
        return LegalSettings(
            business_cost_mode=BusinessCostMode(self.business_cost_mode),
            consumer_interest_start_offset_days=self.consumer_interest_start_offset_days,
            allocation_order=parse_allocation_order(self.allocation_order),
            receipt_days=MappingProxyType(
                {"letter": self.receipt_days_letter, "email": self.receipt_days_email}
            ),
            contact_start=self.contact_start,
            contact_end=self.contact_end,
            weekly_contact_maximum=self.weekly_contact_maximum,
            vat_deductible=vat_deductible,
        )


def legal_settings_for(creditor: Creditor) -> LegalSettings:
    """Return the creditor's legal settings, or the defaults when it has no row.

    VAT deductibility comes from `Creditor.vat_deductible`.
    """
    row = CreditorLegalSettings.objects.filter(creditor=creditor).first()
    if row is None:
        return LegalSettings(vat_deductible=creditor.vat_deductible)
    return row.to_settings(vat_deductible=creditor.vat_deductible)


def legal_settings_by_creditor(creditors: Iterable[Creditor]) -> dict[int, LegalSettings]:
    """Return the legal settings of several creditors by creditor id, in one query.

    Meant for set-based callers such as the daily run. Creditors without a row get the defaults.
    """
    creditors = list(creditors)
    rows = {
        row.creditor_id: row
        for row in CreditorLegalSettings.objects.filter(creditor__in=creditors)
    }

    result: dict[int, LegalSettings] = {}
    for creditor in creditors:
        row = rows.get(creditor.pk)
        if row is None:
            result[creditor.pk] = LegalSettings(vat_deductible=creditor.vat_deductible)
        else:
            result[creditor.pk] = row.to_settings(vat_deductible=creditor.vat_deductible)
    return result
