"""The channels that may carry a consumer's 14-day letter.

The consumer's 14-day term starts the day after the debtor received the
letter (art. 6:96 lid 6 BW), and the creditor must prove that receipt.
E-mail delivery is used in practice only where electronic communication was
agreed, and no primary source that we found confirms that it is enough. So
the letter goes by post unless the debtor agreed (see
`betaalreis.ledger.electronic_agreement`).

The planner and the fallback after a failed send both apply this rule, so it
holds for every policy, whatever channels a creditor configured. A stage
that lists only e-mail still sends such a consumer the letter by post.
"""

from __future__ import annotations

from typing import Protocol

from betaalreis.ledger.models import DebtorKind


class _DebtorFacts(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def electronic_agreement(self) -> bool: ...


# Channels on which a consumer's 14-day letter may go without the debtor's
# agreement to electronic communication.
_POST_ONLY = ("letter",)


def needs_post_for_fourteen_day_letter(debtor: _DebtorFacts) -> bool:
    """Return whether the debtor is a consumer without an agreement to electronic communication.

    Art. 6:96 lid 6 BW does not cover business debtors, so their channels
    stay as the policy lists them.
    """
    return debtor.kind == DebtorKind.CONSUMER and not debtor.electronic_agreement


def fourteen_day_channels(channels: list[str], debtor: _DebtorFacts) -> list[str]:
    """Return the channels that may carry a 14-day letter stage with `channels` to `debtor`, in order.

    A consumer without the agreement gets post only, also when the stage
    does not list "letter". Every policy passes through here, those in the
    database included, so no channel list can e-mail the letter to such a
    consumer or leave them without it.
    """
    if not needs_post_for_fourteen_day_letter(debtor):
        return list(channels)
    return list(_POST_ONLY)
