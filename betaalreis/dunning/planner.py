"""Deciding, per debtor, which dunning stage is due today and on which channel.

The planner reads a creditor's open invoices and their debtors in two queries
and decides in memory, so its cost grows with the number of invoices, not
with the number of queries. It writes nothing; `betaalreis.dunning.outbox`
turns a `Plan` into outbox rows.

Rules, per invoice:
- its due stage is the last stage whose `offset_days` since the due date has
  passed, provided that stage comes after the one it already had;
- a run after a gap therefore sends only the stage due now, once, except that
  a 14-day letter is never skipped: a consumer's invoice that is past it gets
  the letter first;
- a stage waits until `min_days_after_previous` days after the previous one,
  and nothing follows a 14-day letter before its statutory term has ended;
- one message per debtor, stage and currency lists all its invoices.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from betaalreis.dunning.models import Policy, Stage
from betaalreis.ledger.models import Creditor, Debtor, Invoice, InvoiceKind, InvoiceStatus


@dataclass(frozen=True, slots=True)
class DebtorContact:
    """The debtor fields the planner and the channel choice need."""

    id: int
    kind: str
    language: str
    email: str
    mobile: str
    phone: str
    has_postal_address: bool
    preferred_channel: str
    opted_out_channels: tuple[str, ...]

    def accepts(self, channel: str) -> bool:
        if channel in self.opted_out_channels:
            return False
        if channel == "email":
            return bool(self.email)
        if channel in ("sms", "whatsapp"):
            return bool(self.mobile)
        if channel == "letter":
            return self.has_postal_address
        if channel == "phone":
            return bool(self.phone or self.mobile)
        return False


@dataclass(slots=True)
class PlannedMessage:
    """One message the run will write: a debtor, a stage and its invoices."""

    debtor: DebtorContact
    stage: Stage
    channel: str | None
    currency: str
    invoice_ids: list[int] = field(default_factory=list)
    open_amounts: list[Decimal] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(self.open_amounts, Decimal("0.00"))


@dataclass(slots=True)
class Plan:
    creditor: Creditor
    day: dt.date
    messages: list[PlannedMessage] = field(default_factory=list)
    invoices_considered: int = 0
    waiting_for_previous: int = 0
    waiting_for_legal_term: int = 0
    below_minimum: int = 0
    paused: int = 0


def choose_channel(debtor: DebtorContact, stage_channels: list[str]) -> str | None:
    """Return the first of the stage's channels the debtor accepts.

    The debtor's preferred channel goes first when the stage offers it.
    """
    ordered = list(stage_channels)
    if debtor.preferred_channel in ordered:
        ordered.remove(debtor.preferred_channel)
        ordered.insert(0, debtor.preferred_channel)
    for channel in ordered:
        if debtor.accepts(channel):
            return channel
    return None


def load_stages(creditor: Creditor) -> dict[str, list[Stage]]:
    """Return the creditor's stages per debtor kind, in order."""
    stages: dict[str, list[Stage]] = {}
    for policy in Policy.objects.filter(creditor=creditor).prefetch_related("stages"):
        stages[policy.debtor_kind] = sorted(policy.stages.all(), key=lambda stage: stage.order)
    return stages


def fourteen_day_term_end(letter_day: dt.date) -> dt.date:
    """Return the last day of the statutory term of a 14-day letter posted on `letter_day`."""
    from betaalreis.legal.fourteen_day import term_for_posted_letter

    return term_for_posted_letter(letter_day).last_day


_DEBTOR_FIELDS = (
    "id", "kind", "language", "email", "mobile", "phone", "street", "postal_code", "city",
    "preferred_channel", "opted_out_channels",
)
# Ids per IN (...) query; SQLite allows at most 32766 parameters per statement.
_ID_CHUNK = 10000


def _load_debtors(creditor: Creditor, debtor_ids: set[int]) -> dict[int, DebtorContact]:
    debtors = {}
    ids = sorted(debtor_ids)
    for start in range(0, len(ids), _ID_CHUNK):
        rows = Debtor.objects.filter(
            creditor=creditor, pk__in=ids[start:start + _ID_CHUNK]
        ).values_list(*_DEBTOR_FIELDS)
        for (pk, kind, language, email, mobile, phone, street, postal_code, city, preferred,
             opted_out) in rows:
            debtors[pk] = DebtorContact(
                id=pk,
                kind=kind,
                language=language,
                email=email,
                mobile=mobile,
                phone=phone,
                has_postal_address=bool(street and postal_code and city),
                preferred_channel=preferred,
                opted_out_channels=tuple(opted_out or ()),
            )
    return debtors


def plan_day(
    day: dt.date, creditor: Creditor, *, paused_debtor_ids: frozenset[int] = frozenset()
) -> Plan:
    """Decide what each debtor of `creditor` gets on `day`. Reads only."""
    plan = Plan(creditor=creditor, day=day)
    stages_by_kind = load_stages(creditor)
    if not stages_by_kind:
        return plan

    order_by_kind = {
        kind: {stage.code: stage.order for stage in stages} for kind, stages in stages_by_kind.items()
    }
    earliest_offset = min(stages[0].offset_days for stages in stages_by_kind.values())
    term_end_cache: dict[dt.date, dt.date] = {}

    rows = (
        Invoice.objects.filter(
            creditor=creditor,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            open_amount__gt=0,
            due_date__lte=day - dt.timedelta(days=earliest_offset),
        )
        .values_list(
            "id", "debtor_id", "due_date", "open_amount", "currency", "dunning_stage",
            "dunning_stage_date", "debtor__kind",
        )
        .iterator(chunk_size=5000)
    )

    groups: dict[tuple[int, str, str], tuple[Stage, list[int], list[Decimal]]] = {}
    for invoice_id, debtor_id, due_date, open_amount, currency, current_code, current_date, kind in rows:
        plan.invoices_considered += 1
        if debtor_id in paused_debtor_ids:
            plan.paused += 1
            continue
        stages = stages_by_kind.get(kind)
        if not stages:
            continue

        days_past_due = (day - due_date).days
        current_order = order_by_kind[kind].get(current_code, 0)
        target = None
        for stage in stages:
            if stage.offset_days <= days_past_due and stage.order > current_order:
                target = stage
        if target is None:
            continue

        for stage in stages:
            if current_order < stage.order < target.order and stage.is_fourteen_day_letter:
                target = stage
                break

        if current_date is not None:
            if (day - current_date).days < target.min_days_after_previous:
                plan.waiting_for_previous += 1
                continue
            current_stage = stages[current_order - 1] if current_order else None
            if current_stage is not None and current_stage.is_fourteen_day_letter:
                if current_date not in term_end_cache:
                    term_end_cache[current_date] = fourteen_day_term_end(current_date)
                if day <= term_end_cache[current_date]:
                    plan.waiting_for_legal_term += 1
                    continue

        key = (debtor_id, target.code, currency)
        if key not in groups:
            groups[key] = (target, [], [])
        groups[key][1].append(invoice_id)
        groups[key][2].append(open_amount)

    debtors = _load_debtors(creditor, {debtor_id for debtor_id, _, _ in groups})
    for (debtor_id, _code, currency), (stage, invoice_ids, amounts) in groups.items():
        message = PlannedMessage(
            debtor=debtors[debtor_id],
            stage=stage,
            channel=None,
            currency=currency,
            invoice_ids=invoice_ids,
            open_amounts=amounts,
        )
        if message.total < stage.min_amount:
            plan.below_minimum += len(invoice_ids)
            continue
        message.channel = choose_channel(message.debtor, stage.channels)
        plan.messages.append(message)

    plan.messages.sort(key=lambda message: (message.debtor.id, message.stage.order))
    return plan


def count_by(plan: Plan) -> dict[tuple[str, str], int]:
    """Count planned messages per (stage code, channel)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for message in plan.messages:
        counts[(message.stage.code, message.channel or "-")] += 1
    return dict(counts)
