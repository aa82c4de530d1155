"""Link a payer IBAN to the debtor that an allocated payment names for certain.

A payment that quotes a structured reference, or whole invoice numbers, all
of one debtor, was made for that debtor. Once matching has allocated it,
fully or partly, its payer IBAN is linked to the debtor (DebtorBankAccount
with source "automatic match"). A later payment from that account that
quotes a garbled number or none then matches by the payer IBAN rule, or
lists the debtor as a review candidate, which pauses the debtor's reminders.

Weaker rules teach nothing (a wrong digit, the payer name, the payer IBAN
itself), because a wrong link would carry the mistake to later payments.
An IBAN that is linked to another debtor of the creditor, or that pays
several debtors in one chunk, is a shared account (for example a
bookkeeper who pays for several clients) and gets no new link.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from schwifty import IBAN

from betaalreis.banking.invoice_index import InvoiceIndex
from betaalreis.banking.models import MatchRule
from betaalreis.banking.rules import Decision
from betaalreis.ledger import timeline
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.models import Creditor, DebtorBankAccount, Payment, TimelineEvent, TimelineKind
from betaalreis.ledger.validators import is_valid_iban

logger = logging.getLogger(__name__)

ACCOUNT_SOURCE = "automatic match"


@dataclass(frozen=True, slots=True)
class LearnedIban:
    """A payer IBAN (compact form) to link to a debtor, and the payment that showed it."""

    payment_id: int
    debtor_id: int
    iban: str
    rule: str


def plan_links(index: InvoiceIndex, allocated: Iterable[tuple[int, str, Decision]]) -> list[LearnedIban]:
    """Return the new links that allocated payments teach, at most one per IBAN.

    `allocated` lists each payment's id, payer IBAN as the bank gave it, and
    decision. A payment that the rules did not tie to one debtor for
    certain, or that has no payer IBAN, costs two attribute reads, and one
    whose IBAN is already linked to its debtor one dictionary lookup more.
    """
    linked: dict[str, set[int]] | None = None
    debtors_per_iban: dict[str, dict[int, tuple[int, str]]] = {}
    for payment_id, raw, decision in allocated:
        if not decision.names_debtor or not raw:
            continue
        if linked is None:
            linked = index.debtors_by_iban
        iban = compact_iban(raw)
        debtor_id = decision.invoices[0].debtor_id
        known = linked.get(iban)
        if known and debtor_id in known:
            # Already linked to this debtor, the usual case once a debtor has paid before.
            continue
        debtors_per_iban.setdefault(iban, {}).setdefault(debtor_id, (payment_id, decision.rule))
    if linked is None or not debtors_per_iban:
        return []

    links: list[LearnedIban] = []
    shared = 0
    for iban, payers in debtors_per_iban.items():
        if linked.get(iban) or len(payers) > 1:
            # NOTE: a shared account gets no new link, but a link learned
            # before the account paid for a second debtor stays. A person
            # removes it in the admin if it misleads the payer IBAN rule.
            shared += 1
            continue
        if not is_valid_iban(iban):
            continue
        ((debtor_id, (payment_id, rule)),) = payers.items()
        links.append(LearnedIban(payment_id, debtor_id, iban, rule))
    if shared:
        logger.info("shared payer IBANs not linked", extra={"creditor_id": index.creditor.pk, "ibans": shared})
    return links


def link_ibans(creditor: Creditor, index: InvoiceIndex, links: list[LearnedIban], *, source: str) -> None:
    """Store `links` with one insert, add one timeline event per link, and add them to the index.

    A link that another run stored meanwhile is skipped by the insert
    (ignore_conflicts), but still gets its timeline event.
    """
    if not links:
        return

    now = timezone.now()
    DebtorBankAccount.objects.bulk_create(
        [
            DebtorBankAccount(creditor=creditor, debtor_id=link.debtor_id, iban=link.iban, source=ACCOUNT_SOURCE, created_at=now)
            for link in links
        ],
        ignore_conflicts=True,
    )

    # Dated like the payment that showed the account: on its booking day when linked later.
    event_at = timeline.event_time()
    booking_dates = dict(
        Payment.objects.filter(pk__in=[link.payment_id for link in links]).values_list("pk", "booking_date")
    )
    timeline.record_many(
        TimelineEvent(
            creditor=creditor,
            debtor_id=link.debtor_id,
            kind=TimelineKind.PAYMENT,
            summary=f"Rekening {IBAN(link.iban).formatted} onthouden: betaling herkend aan {_rule_label(link.rule)}",
            source=source,
            data={"payment_id": link.payment_id, "iban": link.iban, "rule": link.rule, "iban_linked": True},
            at=_link_event_time(booking_dates.get(link.payment_id), event_at),
        )
        for link in links
    )

    for link in links:
        index.add_bank_account(link.iban, link.debtor_id)
    logger.info("payer IBANs linked", extra={"creditor_id": creditor.pk, "ibans": len(links)})


def _link_event_time(booking_date: dt.date | None, event_at: dt.datetime) -> dt.datetime:
    if booking_date is None:
        return event_at
    return timeline.payment_event_time(booking_date, event_at)


def _rule_label(rule: str) -> str:
    label = MatchRule(rule).label if rule in MatchRule.values else rule
    return str(label).lower()

