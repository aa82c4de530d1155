"""A creditor's legal settings as a plain value, so the claim law stays free of the database.

`betaalreis.legal.models.legal_settings_for(creditor)` builds one from the
stored row; code without a creditor uses `LegalSettings()` for the defaults.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput


class BusinessCostMode(enum.StrEnum):
    """Method of charging collection costs to a business debtor."""

    # The fixed EUR 40 that BW 6:96 lid 4 grants without any reminder.
    FIXED_40 = "fixed40"
    # The BIK scale, which applies to businesses too unless agreed otherwise.
    SCALE = "scale"


class ClaimPart(enum.StrEnum):
    """The parts of a claim that a payment can be applied to."""

    COSTS = "costs"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class DayCount(enum.StrEnum):
    """Convention that converts days of interest to a fraction of a year."""

    # Every day is 1/365 of a year, leap years included: common Dutch practice.
    ACTUAL_365 = "actual/365"
    # A day in a leap year is 1/366 of a year, other days 1/365.
    ACTUAL_ACTUAL = "actual/actual"


# BW 6:44 lid 1: costs first, then accrued interest, then principal.
STATUTORY_ALLOCATION_ORDER: tuple[ClaimPart, ...] = (
    ClaimPart.COSTS,
    ClaimPart.INTEREST,
    ClaimPart.PRINCIPAL,
)

# Presumed days from sending to receipt of a 14-day letter, per channel code.
# The letter default follows what courts presume for ordinary post: the second
# day after posting, not counting Sundays, Mondays and Atw holidays.
DEFAULT_RECEIPT_DAYS: Mapping[str, int] = MappingProxyType({"letter": 2, "email": 0})

# Channels whose receipt days skip Sundays, Mondays and Atw holidays, because
# Dutch mail is not delivered on those days.
POSTAL_CHANNELS = frozenset({"letter"})


@dataclass(frozen=True, slots=True)
class LegalSettings:
    """The settings of one creditor that the claim law depends on."""

    # NOTE: open for legal review: with the scale as default a business owes the
    # full scale from the first day late, with no reminder or proof of
    # collection work. BW 6:96 lid 4 grants only the EUR 40 without those.
    business_cost_mode: BusinessCostMode = BusinessCostMode.SCALE
    # Days after the due date on which a consumer's statutory interest starts.
    # 1 means the day after the due date, because a fixed payment date puts
    # the consumer in default (BW 6:83 sub a). Creditors whose terms require a
    # notice of default first set a later day.
    consumer_interest_start_offset_days: int = 1
    allocation_order: tuple[ClaimPart, ...] = STATUTORY_ALLOCATION_ORDER
    receipt_days: Mapping[str, int] = field(
        default_factory=lambda: DEFAULT_RECEIPT_DAYS, hash=False
    )
    # Contacts are allowed from contact_start up to contact_end, Amsterdam time.
    # The defaults are the hours the Bki (art. 4.2) sets for collection agencies.
    contact_start: dt.time = dt.time(7, 0)
    contact_end: dt.time = dt.time(20, 0)
    # Maximum contacts per debtor per calendar week (Monday to Sunday) over all
    # channels. No statute sets a number; 3 is a cautious default of ours.
    weekly_contact_maximum: int = 3
    # Whether the creditor can deduct VAT charged to it. Only a creditor that
    # cannot, and states this, may add VAT to collection costs (BIK art. 2 lid 3).
    vat_deductible: bool = True
    day_count: DayCount = DayCount.ACTUAL_365

    def __post_init__(self) -> None:
        if sorted(self.allocation_order) != sorted(ClaimPart):
            raise InvalidInput(gettext(
                "Ongeldige volgorde van toerekening %(order)s: noem costs, interest en principal "
                "elk één keer."
            ) % {"order": [str(part) for part in self.allocation_order]})
        if self.consumer_interest_start_offset_days < 1:
            raise InvalidInput(gettext(
                "Ongeldig aantal dagen na de vervaldatum waarop de rente van een consument begint, "
                "%(days)s: gebruik 1 of meer dagen, want de vervaldatum is de laatste dag om te "
                "betalen en de rente begint de dag erna."
            ) % {"days": self.consumer_interest_start_offset_days})
        for channel, days in self.receipt_days.items():
            if not 0 <= days <= 30:
                raise InvalidInput(gettext(
                    "Ongeldig aantal ontvangstdagen %(days)s voor kanaal %(channel)r: gebruik 0 tot "
                    "en met 30 dagen."
                ) % {"days": days, "channel": channel})
        if self.contact_start >= self.contact_end:
            raise InvalidInput(gettext(
                "Ongeldige contacturen %(start)s-%(end)s: het begin moet op dezelfde dag voor het "
                "einde liggen."
            ) % {"start": f"{self.contact_start:%H:%M}", "end": f"{self.contact_end:%H:%M}"})
        if self.weekly_contact_maximum < 1:
            raise InvalidInput(gettext(
                "Ongeldig maximum aantal contacten per week %(maximum)s: gebruik 1 of meer."
            ) % {"maximum": self.weekly_contact_maximum})


def parse_allocation_order(value: str) -> tuple[ClaimPart, ...]:
    """Parse an order such as ``"costs,interest,principal"`` into claim parts."""
    try:
        parts = tuple(ClaimPart(name.strip()) for name in value.split(","))
    except ValueError:
        raise InvalidInput(gettext(
            "Ongeldige volgorde van toerekening %(order)r: noem costs, interest en principal, "
            "gescheiden door komma's."
        ) % {"order": value}) from None
    if sorted(parts) != sorted(ClaimPart):
        raise InvalidInput(gettext(
            "Ongeldige volgorde van toerekening %(order)s: noem costs, interest en principal "
            "elk één keer."
        ) % {"order": repr(value)})
    return parts
