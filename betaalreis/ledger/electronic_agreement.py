"""A debtor's agreement to receive dunning messages by e-mail, 14-day letter included.

For a consumer the 14-day term of art. 6:96 lid 6 BW starts the day after
the debtor received the letter, and the creditor must prove that receipt.
Sending that letter by e-mail is practice only where electronic
communication was agreed, and no primary source that we found confirms
that it is enough. So the planner sends a consumer's 14-day letter by post unless this
agreement is on record (see `betaalreis.dunning.planner`). Business debtors
are outside art. 6:96 lid 6 BW, so the agreement does not change their dunning.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from betaalreis.ledger import timeline
from betaalreis.ledger.models import Debtor, TimelineKind

logger = logging.getLogger(__name__)


@transaction.atomic
def do_set_electronic_agreement(
    debtor: Debtor, agreed: bool, *, source: str, at: dt.datetime | None = None
) -> bool:
    """Give or withdraw the debtor's agreement to electronic communication, and return whether it changed.

    Giving it stores the moment (`at`, default now) and the source. Withdrawing
    clears both, and the timeline keeps the history. Each change writes one
    timeline row, and an unchanged agreement writes none.
    """
    locked = Debtor.objects.select_for_update().get(pk=debtor.pk, creditor_id=debtor.creditor_id)
    if locked.electronic_agreement == agreed:
        return False

    moment = at or timeline.event_time()
    locked.electronic_agreement = agreed
    locked.electronic_agreement_at = moment if agreed else None
    locked.electronic_agreement_source = source[:300] if agreed else ""
    locked.save(update_fields=[
        "electronic_agreement", "electronic_agreement_at", "electronic_agreement_source", "updated_at",
    ])
    debtor.electronic_agreement = locked.electronic_agreement
    debtor.electronic_agreement_at = locked.electronic_agreement_at
    debtor.electronic_agreement_source = locked.electronic_agreement_source

    if agreed:
        summary = "Akkoord met elektronische communicatie gegeven: aanmaningen mogen per e-mail"
        summary_en = "Agreed to electronic communication: dunning messages may go by email"
    else:
        summary = "Akkoord met elektronische communicatie ingetrokken: de veertiendagenbrief gaat per post"
        summary_en = "Agreement to electronic communication withdrawn: the 14-day letter goes by post"
    timeline.record(
        locked,
        TimelineKind.PREFERENCE,
        summary,
        source=source,
        creditor_id=locked.creditor_id,
        data={"electronic_agreement": agreed, "summary_en": summary_en},
        at=moment,
    )
    logger.info(
        "electronic agreement changed",
        extra={"debtor_id": locked.pk, "creditor_id": locked.creditor_id, "agreed": agreed},
    )
    return True
