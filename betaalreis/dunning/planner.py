"""Deciding, per debtor, which dunning stage is due today and on which channel.

The planner reads a creditor's stages, letter terms, open invoices and their
debtors in a fixed number of queries and decides in memory, so the number of
queries does not grow with the number of invoices. It writes nothing;
`betaalreis.dunning.writer` turns a `Plan` into outbox rows.

Rules, per invoice:
- its due stage is the last stage whose `offset_days` since the due date has
  passed, provided that stage comes after the one it already had and the
  debtor can receive it on one of its channels (see `choose_stage`);
- a run after a gap therefore sends only the stage due now, once, except that
  a 14-day letter or a `required` stage is never skipped: an invoice that is
  past it gets that stage first;
- a stage waits until `min_days_after_previous` days after the message of the
  previous one went out (see `betaalreis.dunning.previous_stage`), and
  nothing follows a 14-day letter before the statutory term of the letter
  that gave the invoice that stage has ended;
- one message per debtor, stage and currency lists all its invoices, and a
  consumer's 14-day letter names every overdue invoice of the debtor. Those
  that had no letter yet move to the letter's stage, and those past an
  earlier letter are named but keep their stage (`PlannedMessage.named_only`);
- once an invoice of a debtor is due for a stage after the first stage that
  states the claim (the 14-day letter, or the final notice of a policy without
  one), the debtor's other invoices past that first stage go with it, so the
  debtor gets one final notice and one handover for them (see
  `_bundle_into_later_stages`);
- a debtor gets at most one message a day: the others wait for the next run
  (see `_hold_second_messages`);
- an invoice whose claim may be time-barred (five years without a reminder
  or payment on record) is held until a credit manager releases it;
- an invoice whose dunning restarted when it reopened counts its stages from
  the due date of the reopened amount (see `betaalreis.dunning.reopening`);
- a consumer invoice raised after its 14-day letter gets its new letter only
  after the raised part fell due, because the consumer must be in default
  on it first (art. 6:96 lid 6 BW).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import F, QuerySet, TextField
from django.db.models.functions import Cast, Collate

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from betaalreis.dunning.bulk import values_subquery
from betaalreis.dunning.legal_terms import sent_fourteen_day_terms
from betaalreis.dunning.letter_channel import fourteen_day_channels, needs_post_for_fourteen_day_letter
from betaalreis.dunning.limitation_holds import LimitationHold, find_limitation_holds
from betaalreis.dunning.models import DunningRestart, Policy, PrincipalRaise, RaiseAfterLetter, Stage, StageAction
from betaalreis.dunning.previous_stage import late_stage_send_dates
from betaalreis.dunning.send_days import HELD_LOOKBACK, sent_on_or_waiting_after
from betaalreis.ledger.models import Creditor, Debtor, Invoice, InvoiceKind, InvoiceStatus, opt_out_blocks
from betaalreis.legal.fourteen_day import FourteenDayTerm
from betaalreis.legal.limitation import barred_due_dates_before
from betaalreis.legal.models import legal_settings_for
from betaalreis.legal.policy import LegalSettings

logger = logging.getLogger(__name__)

_ZERO = Decimal("0.00")


class DebtorContact(NamedTuple):
    """The debtor fields the planner and the channel choice need.

    A named tuple rather than a frozen dataclass, because the first run
    builds one per debtor. For 20,000 debtors, as in bench.plan, a frozen
    dataclass's `__init__` took about 0.08 s of CPU time and a named tuple
    about 0.03 s (timeit on a busy 2-core Intel Xeon host).
    """

    id: int
    kind: str
    language: str
    email: str
    mobile: str
    phone: str
    has_postal_address: bool
    preferred_channel: str
    opted_out_channels: tuple[str, ...]
    # Agreement to electronic communication (see `betaalreis.ledger.electronic_agreement`).
    electronic_agreement: bool = False

    def accepts(self, channel: str) -> bool:
        if opt_out_blocks(channel, self.opted_out_channels):
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
    # Invoices of `invoice_ids` that a 14-day letter names again after an
    # earlier letter. The writer leaves their stage as it is.
    named_only: frozenset[int] = frozenset()

    @property
    def total(self) -> Decimal:
        return sum(self.open_amounts, _ZERO)

    @property
    def unreachable_reason(self) -> str:
        """What the debtor's contact data lacks for this stage, in the active language; empty when reachable."""
        if self.channel is not None:
            return ""
        if self.stage.is_fourteen_day_letter and needs_post_for_fourteen_day_letter(self.debtor):
            return describe_unreachable_by_post(self.debtor, list(self.stage.channels))
        return describe_unreachable(self.debtor, list(self.stage.channels))


@dataclass(frozen=True, slots=True)
class ManualTask:
    """Work for the credit manager in place of a 14-day letter that the run cannot send.

    The letter font cannot print `letters` of the consumer's name or address,
    and the consumer did not agree to electronic communication, so neither
    post nor e-mail can carry the letter. The invoices keep their stage.
    The run stores the task on the debtor timeline (see
    `betaalreis.dunning.manual_tasks`).
    """

    debtor_id: int
    customer_number: str
    stage: Stage
    invoice_ids: tuple[int, ...]
    letters: str

    @property
    def stage_code(self) -> str:
        return self.stage.code


@dataclass(slots=True)
class Plan:
    creditor: Creditor
    day: dt.date
    messages: list[PlannedMessage] = field(default_factory=list)
    invoices_considered: int = 0
    # Invoices with a next stage due that wait for the policy's minimum days
    # after the previous stage's message, and those inside their 14-day term.
    waiting_for_previous: int = 0
    waiting_for_legal_term: int = 0
    below_minimum: int = 0
    paused: int = 0
    # Open invoices the run does not chase because their claim may be
    # time-barred, by invoice id (see `betaalreis.dunning.limitation_holds`).
    limitation_holds: dict[int, LimitationHold] = field(default_factory=dict)
    # Messages held to the next run because the debtor already gets one
    # today (see `_hold_second_messages`). Their invoices keep their stage.
    held_second_messages: list[PlannedMessage] = field(default_factory=list)
    # 14-day letters the run does not send, with what the credit manager must do instead.
    manual_tasks: list[ManualTask] = field(default_factory=list)
    # The invoices this plan may give a stage that already have one (a
    # dunning.InvoiceStage row). On PostgreSQL the writer updates their rows
    # and inserts the rest. On SQLite it upserts all rows in the database.
    staged_invoice_ids: set[int] = field(default_factory=set)


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


_DEBTOR_FIELDS = (
    "id", "kind", "language", "email", "mobile", "phone", "street", "postal_code", "city",
    "preferred_channel", "electronic_agreement", "name", "contact_person", "opted_out_text",
)


def _load_debtors(
    creditor: Creditor, debtor_ids: set[int]
) -> tuple[dict[int, DebtorContact], dict[int, tuple[str, ...]]]:
    """Return the debtors' contact data, and the name and address lines of those with non-ASCII text.

    Only lines with non-ASCII text can hold letters that the letter font
    cannot print, so `_take_out_unprintable_letters` checks those without a
    query of its own.
    """
    debtors = {}
    non_ascii_lines: dict[int, tuple[str, ...]] = {}
    # The opt-outs come as JSON text, so the empty list most debtors have needs no decoding.
    queryset = (
        Debtor.objects.filter(creditor=creditor, pk__in=values_subquery(sorted(debtor_ids), array_type="bigint"))
        .annotate(opted_out_text=Cast("opted_out_channels", TextField()))
        .order_by()
        .values_list(*_DEBTOR_FIELDS)
    )
    for (pk, kind, language, email, mobile, phone, street, postal_code, city, preferred,
         electronic_agreement, name, contact_person, opted_out_text) in _fetch_rows(queryset):
        if not f"{name}{contact_person}{street}{postal_code}{city}".isascii():
            non_ascii_lines[pk] = (name, contact_person, street, postal_code, city)
        opted_out = () if opted_out_text in (None, "[]") else tuple(json.loads(opted_out_text) or ())
        debtors[pk] = DebtorContact(
            id=pk,
            kind=kind,
            language=language,
            email=email,
            mobile=mobile,
            phone=phone,
            has_postal_address=bool(street and postal_code and city),
            preferred_channel=preferred,
            opted_out_channels=opted_out,
            electronic_agreement=bool(electronic_agreement),
        )
    return debtors, non_ascii_lines


@dataclass(frozen=True, slots=True)
class WhatsAppReadiness:
    """The WhatsApp preconditions besides a mobile number, loaded once per plan.

    The creditor must have WhatsApp switched on (never for a collection
    agency), the stage a verified template in the debtor's language, and
    the debtor a standing opt-in for their current number.
    """

    ready_stage_languages: frozenset[tuple[str, str]] = frozenset()
    opted_in: frozenset[int] = frozenset()

    @classmethod
    def load(
        cls, creditor: Creditor, stages_by_kind: dict[str, list[Stage]], debtor_ids: set[int]
    ) -> WhatsAppReadiness:
        from betaalreis.channels.consent import whatsapp_allowed
        from betaalreis.channels.models import ConsentRecord
        from betaalreis.channels.whatsapp_templates import ready_stage_languages

        uses_whatsapp = any(
            "whatsapp" in stage.channels for stages in stages_by_kind.values() for stage in stages
        )
        if not uses_whatsapp or not debtor_ids or not whatsapp_allowed(creditor):
            return cls()

        # The latest record per debtor decides; rows come oldest first.
        latest: dict[int, tuple[bool, str]] = {}
        rows = (
            ConsentRecord.objects.filter(creditor=creditor, channel="whatsapp")
            .order_by("debtor_id", "at", "id")
            .values_list("debtor_id", "granted", "address")
        )
        for debtor_id, granted, address in rows:
            latest[debtor_id] = (granted, address)
        mobiles = dict(
            Debtor.objects.filter(creditor=creditor, pk__in=list(latest)).values_list("id", "mobile")
        )
        opted_in = frozenset(
            debtor_id
            for debtor_id, (granted, address) in latest.items()
            if granted and debtor_id in debtor_ids and (not address or address == mobiles.get(debtor_id))
        )
        return cls(ready_stage_languages(creditor.pk), opted_in)

    def allows(self, stage_code: str, debtor: DebtorContact) -> bool:
        return (
            debtor.id in self.opted_in
            and (stage_code, debtor.language) in self.ready_stage_languages
        )


def plan_day(
    day: dt.date,
    creditor: Creditor,
    *,
    paused_debtor_ids: frozenset[int] = frozenset(),
    instalment_debtor_ids: frozenset[int] = frozenset(),
    legal_settings: LegalSettings | None = None,
) -> Plan:
    """Decide what each debtor of `creditor` gets on `day`. Reads only.

    `instalment_debtor_ids` are the debtors who get a payment plan
    instalment reminder on `day`. Their dunning message waits for the next
    run, unless it is a 14-day letter (see `_hold_second_messages`).
    """
    plan = Plan(creditor=creditor, day=day)
    stages_by_kind = load_stages(creditor)
    if not stages_by_kind:
        return plan

    order_by_kind = {
        kind: {stage.code: stage.order for stage in stages} for kind, stages in stages_by_kind.items()
    }
    letter_order_by_kind = {
        kind: next((stage.order for stage in stages if stage.is_fourteen_day_letter), None)
        for kind, stages in stages_by_kind.items()
    }
    claim_order_by_kind = {kind: _first_claim_stage_order(stages) for kind, stages in stages_by_kind.items()}
    earliest_offset = min(stages[0].offset_days for stages in stages_by_kind.values())
    # An invoice waits for the term of the letter that gave it the letter
    # stage. A later letter that names it again starts the term after which
    # the costs over the summed principal are owed (art. 6:96 lid 7 BW), but
    # the statute ties no other step to that term, so the invoice's own
    # dunning does not wait for it again.
    terms = sent_fourteen_day_terms(creditor, legal_settings or legal_settings_for(creditor), stage_letter_only=True)

    max_gap_days = max(stage.min_days_after_previous for stages in stages_by_kind.values() for stage in stages)
    late_send_dates = late_stage_send_dates(creditor, day, max_gap_days) if max_gap_days else {}

    due_by = day - dt.timedelta(days=earliest_offset)
    rows = _with_restart_due_dates(creditor, _open_invoice_rows(creditor, due_by), due_by)
    raise_due_dates = _raise_after_letter_due_dates(creditor)
    plan.invoices_considered = len(rows)
    # Only invoices due more than five years ago can be held, so the others
    # are skipped here without building a tuple per row.
    barred_before = barred_due_dates_before(day)
    old_rows = [
        (row[0], row[1], row[2])
        for row in rows
        if row[2] < barred_before and row[1] not in paused_debtor_ids
    ]
    if old_rows:
        numbers = _invoice_numbers(creditor, [invoice_id for invoice_id, _, _ in old_rows])
        plan.limitation_holds = find_limitation_holds(
            day, [(invoice_id, debtor_id, due_date, numbers[invoice_id]) for invoice_id, debtor_id, due_date in old_rows]
        )
    if plan.limitation_holds:
        rows = [row for row in rows if row[0] not in plan.limitation_holds]
    # The stage choice depends on the channels each debtor can receive.
    debtors, non_ascii_lines = _load_debtors(
        creditor, _debtors_with_due_stage(rows, stages_by_kind, order_by_kind, day, paused_debtor_ids)
    )
    whatsapp = WhatsAppReadiness.load(creditor, stages_by_kind, set(debtors))

    groups: dict[tuple[int, str, str], _Group] = {}
    # Overdue invoices that have not had a 14-day letter, and those that had
    # one, per debtor: a consumer's letter must name all of them (art. 6:96 lid 7 BW).
    before_letter: dict[int, list[tuple[int, Decimal, str]]] = defaultdict(list)
    after_letter: dict[int, list[tuple[int, Decimal, str]]] = defaultdict(list)
    # The due stage depends only on (debtor kind, current stage, days past
    # due), which repeat across many invoices, so each is worked out once.
    due_stages: dict[tuple[str, str, int], tuple[Stage, ...]] = {}
    # The stage and channel choice read only a few facts of the debtor (see
    # `_reach`), which most debtors share, so each choice is made once per
    # combination. In bench.plan's first run it replaced 97,000 calls of choose_stage.
    # Each distinct combination gets a small number, which is cheaper to hash per invoice.
    reach_numbers: dict[tuple, int] = {}
    reach_of = {
        debtor_id: reach_numbers.setdefault(_reach(debtor, whatsapp), len(reach_numbers))
        for debtor_id, debtor in debtors.items()
    }
    chosen_stages: dict[tuple[tuple[str, str, int], int], Stage | None] = {}
    # Overdue invoices past the first stage that states the claim, per debtor,
    # in the model's order: they may go along with another invoice's later stage.
    past_claim_stage: dict[int, list[_BundleCandidate]] = defaultdict(list)

    for position, (invoice_id, debtor_id, due_date, open_amount, currency, current_code, current_date, kind) in (
        enumerate(rows)
    ):
        if debtor_id in paused_debtor_ids:
            plan.paused += 1
            continue
        stages = stages_by_kind.get(kind)
        if not stages:
            continue

        days_past_due = (day - due_date).days
        current_order = order_by_kind[kind].get(current_code, 0)
        letter_order = letter_order_by_kind[kind]
        if letter_order is not None and days_past_due > 0 and current_order < letter_order:
            before_letter[debtor_id].append((invoice_id, open_amount, currency))
            if current_code is not None:
                plan.staged_invoice_ids.add(invoice_id)
        elif letter_order is not None and days_past_due > 0:
            after_letter[debtor_id].append((invoice_id, open_amount, currency))
        claim_order = claim_order_by_kind[kind]
        if claim_order is not None and current_order >= claim_order and days_past_due > 0:
            past_claim_stage[debtor_id].append(
                _BundleCandidate(position, invoice_id, open_amount, currency, current_order, current_date)
            )

        due_stage_key = (kind, current_code, days_past_due)
        if due_stage_key in due_stages:
            due = due_stages[due_stage_key]
        else:
            due = due_stages[due_stage_key] = _due_stages(stages, current_order, days_past_due)
        debtor = debtors.get(debtor_id)
        if not due or debtor is None:
            # A debtor is loaded only when one of its invoices has a stage due.
            continue
        choice_key = (due_stage_key, reach_of[debtor_id])
        if choice_key in chosen_stages:
            target = chosen_stages[choice_key]
        else:
            target = chosen_stages[choice_key] = choose_stage(due, debtor, whatsapp)
        if target is None:
            continue

        if target.is_fourteen_day_letter and days_past_due < 1:
            # Before the due date has passed the debtor is not in default, and
            # a 14-day letter sent then does not make the costs owed.
            continue
        if target.is_fourteen_day_letter and invoice_id in raise_due_dates and raise_due_dates[invoice_id] >= day:
            # The new letter over a raised amount waits until the raise is overdue as well.
            # NOTE: a letter that another invoice of the debtor gets today still
            # names this one (see `_bundle_into_fourteen_day_letters`), and then
            # its costs leave out the raise that is not yet due.
            plan.waiting_for_legal_term += 1
            continue

        if current_date is not None:
            # The legal term is checked first, so an invoice inside its 14-day
            # term is counted as waiting for it, also while the stage gap runs.
            if letter_order is not None and current_order == letter_order:
                term = terms.get(invoice_id)
                # NOTE: a letter that was never sent (failed or still held)
                # started no term, so the invoice waits here until someone acts.
                if term is None or not term.has_passed(day):
                    plan.waiting_for_legal_term += 1
                    continue
            # The gap counts from the day the previous stage's message went out.
            previous_sent_on = late_send_dates.get(invoice_id, current_date)
            if (day - previous_sent_on).days < target.min_days_after_previous:
                plan.waiting_for_previous += 1
                continue

        key = (debtor_id, target.code, currency)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(target)
        group.invoice_ids.append(invoice_id)
        group.open_amounts.append(open_amount)
        if current_code is not None:
            plan.staged_invoice_ids.add(invoice_id)

    _bundle_into_fourteen_day_letters(groups, before_letter, after_letter)
    _bundle_into_later_stages(
        groups, past_claim_stage, stages_by_kind, claim_order_by_kind, letter_order_by_kind,
        _BundleWaits(day, terms, late_send_dates), plan,
    )

    chosen_channels: dict[tuple[int, int], str | None] = {}
    for (debtor_id, _code, currency), group in groups.items():
        if not group.invoice_ids:
            continue
        message = PlannedMessage(
            debtor=debtors[debtor_id],
            stage=group.stage,
            channel=None,
            currency=currency,
            invoice_ids=group.invoice_ids,
            open_amounts=group.open_amounts,
            named_only=frozenset(group.named_only),
        )
        if message.total < group.stage.min_amount:
            plan.below_minimum += len(group.invoice_ids)
            continue
        channel_key = (group.stage.pk, reach_of[debtor_id])
        if channel_key in chosen_channels:
            message.channel = chosen_channels[channel_key]
        else:
            channels = _offered_channels(group.stage, message.debtor, whatsapp)
            message.channel = chosen_channels[channel_key] = choose_channel(message.debtor, channels)
        plan.messages.append(message)

    _take_out_unprintable_letters(plan, non_ascii_lines)
    _hold_second_messages(plan, instalment_debtor_ids)
    plan.messages.sort(key=lambda message: (message.debtor.id, message.stage.order))
    return plan


def _take_out_unprintable_letters(plan: Plan, non_ascii_lines: dict[int, tuple[str, ...]]) -> None:
    """Replace each post-only 14-day letter whose name or address the letter font cannot print by a `ManualTask`.

    The letter would fail at dispatch, and its fallback may not be an e-mail
    (see `betaalreis.dunning.letter_channel`). `non_ascii_lines` contains the
    name and address lines of the debtors with non-ASCII text. A letter font
    that lacks ASCII letters needs every debtor's lines, which one query reads.
    """
    from reportlab.pdfbase import pdfmetrics

    from betaalreis.channels.pdf.fonts import letter_fonts
    from betaalreis.channels.pdf.letter import unprintable_letters

    letters = [
        message
        for message in plan.messages
        if message.channel == "letter"
        and message.stage.is_fourteen_day_letter
        and needs_post_for_fourteen_day_letter(message.debtor)
    ]
    if not letters:
        return

    # Looked up once, because letter_fonts() checks the font files on every call.
    fonts = letter_fonts()
    debtor_ids = sorted({message.debtor.id for message in letters})
    if getattr(pdfmetrics.getFont(fonts.regular), "draws_ascii", False):
        lines_by_debtor = {pk: non_ascii_lines[pk] for pk in debtor_ids if pk in non_ascii_lines}
    else:
        lines_by_debtor = _postal_lines(plan.creditor, debtor_ids)
    missing_letters = {}
    for debtor_id, lines in lines_by_debtor.items():
        missing = unprintable_letters(lines, fonts)
        if missing:
            missing_letters[debtor_id] = missing
    if not missing_letters:
        return

    customer_numbers = dict(
        Debtor.objects.filter(creditor=plan.creditor, pk__in=list(missing_letters)).values_list("id", "customer_number")
    )
    missing_by_debtor = {
        debtor_id: (customer_numbers[debtor_id], missing) for debtor_id, missing in missing_letters.items()
    }

    sendable: list[PlannedMessage] = []
    for message in plan.messages:
        found = missing_by_debtor.get(message.debtor.id)
        if found is None or not message.stage.is_fourteen_day_letter or message.channel != "letter":
            sendable.append(message)
            continue
        customer_number, missing = found
        plan.manual_tasks.append(ManualTask(
            debtor_id=message.debtor.id,
            customer_number=customer_number,
            stage=message.stage,
            invoice_ids=tuple(message.invoice_ids),
            letters=missing,
        ))
    plan.messages = sendable


def _postal_lines(creditor: Creditor, debtor_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Return the name and address lines of the debtors, by debtor id."""
    rows = Debtor.objects.filter(
        creditor=creditor, pk__in=values_subquery(debtor_ids, array_type="bigint")
    ).values_list("id", "name", "contact_person", "street", "postal_code", "city")
    return {debtor_id: tuple(lines) for debtor_id, *lines in rows}


def _hold_second_messages(plan: Plan, instalment_debtor_ids: frozenset[int] = frozenset()) -> None:
    """Keep one message per debtor for the plan's day and move the others to `plan.held_second_messages`.

    Several messages a day to one debtor read as pressure, and their amounts
    and deadlines contradict each other. A 14-day letter already names every
    overdue invoice of its currency, so the messages that remain beside it
    are in another currency. Merging a lower stage into a higher one would
    make, say, a final notice announce steps for an invoice that never had
    the stages before it. So the 14-day letter goes first, otherwise the
    highest stage, and the others wait. Their invoices keep their stage, so
    the next run plans them again with the stage due then. A debtor who
    already has a message for the day from an earlier run gets none. An
    instalment reminder of a payment plan counts as a message too, but a
    14-day letter goes before it, because the letter starts the statutory
    term after which costs are owed and the reminder can wait a day. The
    reminder then waits (`betaalreis.payments.reminders`). A
    message without a channel is never sent, so it does not count and stays
    in the plan to be reported as unreachable.
    """
    reachable = [message for message in plan.messages if message.channel is not None]
    debtor_ids = {message.debtor.id for message in reachable}
    if not debtor_ids:
        return
    already = debtors_with_message_on(plan.creditor, plan.day, debtor_ids)

    ranked = sorted(
        reachable,
        key=lambda message: (
            message.debtor.id, not message.stage.is_fourteen_day_letter, -message.stage.order, message.currency,
        ),
    )
    debtors_served: set[int] = set()
    held_messages: list[PlannedMessage] = []
    for message in ranked:
        debtor_id = message.debtor.id
        reminded = debtor_id in instalment_debtor_ids and not message.stage.is_fourteen_day_letter
        if debtor_id in already or debtor_id in debtors_served or reminded:
            held_messages.append(message)
        else:
            debtors_served.add(debtor_id)
    if not held_messages:
        return

    held_ids = {id(message) for message in held_messages}
    plan.messages = [message for message in plan.messages if id(message) not in held_ids]
    plan.held_second_messages = held_messages


def debtors_with_message_on(
    creditor: Creditor, day: dt.date, debtor_ids: set[int], *, ignore_stage: str = ""
) -> set[int]:
    """Return those of `debtor_ids` with a message that reaches them on `day` or still waits to go out. One query.

    A message held from an earlier run day counts for the day it goes out
    (see `betaalreis.dunning.send_days`), so a Monday run plans nothing
    beside a message held over Sunday. Cancelled and failed messages do not
    count, and messages of the stage `ignore_stage`, if given, are left out.
    """
    from betaalreis.outbox.models import Communication, CommunicationStatus

    messages = (
        Communication.objects.filter(
            creditor=creditor,
            run_date__gte=day - HELD_LOOKBACK,
            run_date__lte=day,
            debtor_id__in=values_subquery(sorted(debtor_ids), array_type="bigint"),
        )
        .filter(sent_on_or_waiting_after(day))
        .exclude(status__in=[CommunicationStatus.CANCELLED, CommunicationStatus.FAILED])
    )
    if ignore_stage:
        messages = messages.exclude(stage=ignore_stage)
    return set(messages.values_list("debtor_id", flat=True).distinct())


_INVOICE_FIELDS = (
    "id", "debtor_id", "due_date", "open_amount", "currency", "dunning_progress__stage",
    "dunning_progress__stage_date", "debtor__kind",
)


def _open_invoice_rows(creditor: Creditor, due_by: dt.date) -> list[tuple]:
    """Return the creditor's open invoices due by `due_by` as `_INVOICE_FIELDS` tuples, in the model's order.

    The model's order (due date, then number) sets the order of the invoices
    in each message. The query sorts by number in code point order on both
    engines, as SQLite's default collation does, whatever the collation of
    a PostgreSQL database. In bench.plan's first run, sorting in the query
    took less CPU time in all than sorting the fetched rows in Python.
    """
    number = Collate("number", "C") if connection.vendor == "postgresql" else F("number")
    queryset = (
        Invoice.objects.filter(
            creditor=creditor,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.OPEN,
            open_amount__gt=0,
            due_date__lte=due_by,
        )
        .order_by("due_date", number.asc())
        .values_list(*_INVOICE_FIELDS)
    )
    return _fetch_rows(queryset)


def _with_restart_due_dates(creditor: Creditor, rows: list[tuple], due_by: dt.date) -> list[tuple]:
    """Give each invoice whose dunning restarted the due date of its reopened amount.

    Its stages count from that date (see `betaalreis.dunning.reopening`), so
    an invoice whose reopened amount is due after `due_by` is left out.
    """
    restart_due = dict(
        DunningRestart.objects.filter(creditor=creditor, invoice__status=InvoiceStatus.OPEN)
        .values_list("invoice_id", "due_date")
    )
    if not restart_due:
        return rows

    adjusted = []
    for row in rows:
        due_date = restart_due.get(row[0])
        if due_date is None:
            adjusted.append(row)
        elif due_date <= due_by:
            adjusted.append((*row[:2], due_date, *row[3:]))
    return adjusted


def _raise_after_letter_due_dates(creditor: Creditor) -> dict[int, dt.date]:
    """Return, by invoice id, the latest due date of a raise of an open invoice raised after its 14-day letter. One query."""
    due_dates: dict[int, dt.date] = {}
    rows = PrincipalRaise.objects.filter(
        creditor=creditor,
        invoice__status=InvoiceStatus.OPEN,
        invoice_id__in=RaiseAfterLetter.objects.filter(creditor=creditor).values("invoice_id"),
    ).values_list("invoice_id", "due_date")
    for invoice_id, due_date in rows:
        due_dates[invoice_id] = max(due_date, due_dates.get(invoice_id, due_date))
    return due_dates


def _invoice_numbers(creditor: Creditor, invoice_ids: list[int]) -> dict[int, str]:
    """Return the numbers of the creditor's invoices `invoice_ids`, by id."""
    return dict(
        Invoice.objects.filter(
            creditor=creditor, id__in=values_subquery(invoice_ids, array_type="bigint")
        ).values_list("id", "number")
    )


def _fetch_rows(queryset: QuerySet) -> list[tuple]:
    """Return the rows of a `values_list` queryset, fetched with a plain cursor.

    The ORM's per-row work took longer than the query itself on SQLite in
    bench.plan's first run. The backend's converters still apply, so the
    values are those the queryset would return. The SQL lists annotations
    after the fields, so they must come last in the `values_list` too.
    """
    query = queryset.query
    sql_order = (*query.extra_select, *query.values_select, *query.annotation_select)
    if tuple(queryset._fields) != sql_order:
        raise ValueError(
            f"values_list fields {queryset._fields} differ from the SQL order {sql_order}: "
            "list the annotations last"
        )

    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()

    converters = compiler.get_converters([column for column, _, _ in compiler.select])
    if converters:
        rows = [tuple(row) for row in compiler.apply_converters(rows, converters)]
    return rows


def _debtors_with_due_stage(
    rows: list[tuple],
    stages_by_kind: dict[str, list[Stage]],
    order_by_kind: dict[str, dict[str, int]],
    day: dt.date,
    paused_debtor_ids: frozenset[int],
) -> set[int]:
    """Return the debtors with an invoice whose next stage's offset has passed on `day`.

    Only they can get a stage today, so only their contact data is loaded.
    """
    # Per debtor kind: the offset of the first stage after each stage order.
    next_offsets: dict[str, dict[int, int]] = {}
    for kind, stages in stages_by_kind.items():
        next_offsets[kind] = {0: stages[0].offset_days}
        for stage, following in zip(stages, stages[1:]):
            next_offsets[kind][stage.order] = following.offset_days

    debtor_ids: set[int] = set()
    for _invoice_id, debtor_id, due_date, _amount, _currency, current_code, _date, kind in rows:
        if debtor_id in paused_debtor_ids or debtor_id in debtor_ids or kind not in next_offsets:
            continue
        next_offset = next_offsets[kind].get(order_by_kind[kind].get(current_code, 0))
        if next_offset is not None and next_offset <= (day - due_date).days:
            debtor_ids.add(debtor_id)
    return debtor_ids


def _reach(debtor: DebtorContact, whatsapp: WhatsAppReadiness) -> tuple:
    """Return every debtor fact that `choose_stage` and `choose_channel` read, as a hashable key.

    Two debtors with the same key get the same stage and channel choice, so
    this must change with `DebtorContact.accepts`, `choose_channel` and
    `WhatsAppReadiness.allows`.
    """
    whatsapp_language = debtor.language if debtor.id in whatsapp.opted_in else None
    return (
        debtor.preferred_channel,
        debtor.opted_out_channels,
        bool(debtor.email),
        bool(debtor.mobile),
        bool(debtor.phone),
        debtor.has_postal_address,
        whatsapp_language,
        needs_post_for_fourteen_day_letter(debtor),
    )


def _offered_channels(stage: Stage, debtor: DebtorContact, whatsapp: WhatsAppReadiness) -> list[str]:
    """Return the stage's channels, without WhatsApp unless it is ready for this debtor.

    A consumer's 14-day letter goes by post only, whatever the stage lists,
    unless the debtor agreed to electronic communication (see `fourteen_day_channels`).
    """
    channels = list(stage.channels)
    if stage.is_fourteen_day_letter:
        channels = fourteen_day_channels(channels, debtor)
    if "whatsapp" in channels and not whatsapp.allows(stage.code, debtor):
        return [channel for channel in channels if channel != "whatsapp"]
    return channels


def _due_stages(stages: list[Stage], current_order: int, days_past_due: int) -> tuple[Stage, ...]:
    """Return the stages an invoice at `current_order` may get now, in order.

    They come after the current stage and their offset has passed. The first
    14-day letter or `required` stage among them ends the list, so escalation
    never jumps past it.
    """
    due: list[Stage] = []
    for stage in stages:
        if stage.order <= current_order or stage.offset_days > days_past_due:
            continue
        due.append(stage)
        if stage.is_fourteen_day_letter or stage.required:
            break
    return tuple(due)


def choose_stage(
    due: tuple[Stage, ...],
    debtor: DebtorContact,
    whatsapp: WhatsAppReadiness,
) -> Stage | None:
    """Return which of the `due` stages (see `_due_stages`) the invoice gets, or None.

    The highest stage the debtor can receive on one of its channels wins, so a call task
    for a debtor without a phone gives way to the stage before it. When the
    debtor can receive none of them, the highest message stage is returned
    and the run reports the debtor as unreachable. A call task is our own
    work, not a message, so when only call tasks are due and the debtor has
    no phone, nothing is due: the invoice waits for the next stage.

    NOTE: an invoice has had a stage once the writer gave it that stage, so a
    required message that later failed to send does not stop the next stage.
    """
    for stage in reversed(due):
        if choose_channel(debtor, _offered_channels(stage, debtor, whatsapp)) is not None:
            return stage
    for stage in reversed(due):
        if stage.action != StageAction.CALL_TASK:
            return stage
    return None


# Contact data each channel needs, as the unreachable report names it. The
# first item has its article, so the list reads "an email address or postal address".
_CHANNEL_NEEDS = {
    "email": (_("een e-mailadres"), _("e-mailadres")),
    "sms": (_("een mobiel nummer"), _("mobiel nummer")),
    "whatsapp": (_("een mobiel nummer met WhatsApp-toestemming"), _("mobiel nummer met WhatsApp-toestemming")),
    "letter": (_("een postadres"), _("postadres")),
    "phone": (_("een telefoonnummer"), _("telefoonnummer")),
}

CHANNEL_NAMES = {
    "email": _("e-mail"),
    "sms": _("sms"),
    "whatsapp": _("WhatsApp"),
    "letter": _("brief"),
    "phone": _("telefoon"),
}


def describe_unreachable(debtor: DebtorContact, channels: list[str]) -> str:
    """Say in the active language what the debtor lacks for every one of `channels`.

    For example "voeg een postadres of e-mailadres toe" in Dutch and "add a
    postal address or email address" in English.
    """
    needs: list[tuple[str, str]] = []
    opted_out: list[str] = []
    for channel in channels:
        if opt_out_blocks(channel, debtor.opted_out_channels):
            opted_out.append(str(CHANNEL_NAMES.get(channel, channel)))
            continue
        with_article, bare = _CHANNEL_NEEDS.get(channel, (channel, channel))
        need = (str(with_article), str(bare))
        if need not in needs:
            needs.append(need)

    parts: list[str] = []
    if needs:
        names = [needs[0][0]] + [bare for _with_article, bare in needs[1:]]
        listed = names[0]
        if len(names) > 1:
            listed = gettext("%(first)s of %(last)s") % {"first": ", ".join(names[:-1]), "last": names[-1]}
        parts.append(gettext("voeg %(contact_data)s toe") % {"contact_data": listed})
    if opted_out:
        parts.append(gettext("afgemeld voor %(channels)s") % {"channels": ", ".join(opted_out)})
    return ", ".join(parts)


def describe_unreachable_by_post(debtor: DebtorContact, stage_channels: list[str]) -> str:
    """Say in the active language why a consumer's 14-day letter cannot go by post, and what would let it go.

    The debtor did not agree to electronic communication, so the letter
    goes only by post (see `betaalreis.dunning.letter_channel`). The
    agreement is offered as a remedy only when the stage lists another
    channel that the debtor's contact data allows.
    """
    agreement_helps = any(channel != "letter" and debtor.accepts(channel) for channel in stage_channels)
    if debtor.has_postal_address:
        # The address is there, so an opt-out of letters blocks the post.
        cause = gettext("afgemeld voor brief en geen akkoord met elektronische communicatie")
        if not agreement_helps:
            return cause
        remedy = gettext("leg het akkoord van de debiteur met elektronische communicatie vast")
    else:
        cause = gettext("geen postadres en geen akkoord met elektronische communicatie")
        remedy = gettext("voeg een postadres toe")
        if agreement_helps:
            remedy = gettext(
                "voeg een postadres toe of leg het akkoord van de debiteur met elektronische communicatie vast"
            )
    return gettext("%(cause)s; %(remedy)s") % {"cause": cause, "remedy": remedy}


@dataclass(slots=True)
class _Group:
    stage: Stage
    invoice_ids: list[int] = field(default_factory=list)
    open_amounts: list[Decimal] = field(default_factory=list)
    named_only: set[int] = field(default_factory=set)

    def add(self, invoice_id: int, open_amount: Decimal) -> None:
        self.invoice_ids.append(invoice_id)
        self.open_amounts.append(open_amount)

    def remove(self, invoice_id: int) -> None:
        index = self.invoice_ids.index(invoice_id)
        del self.invoice_ids[index]
        del self.open_amounts[index]


def _bundle_into_fourteen_day_letters(
    groups: dict[tuple[int, str, str], _Group],
    before_letter: dict[int, list[tuple[int, Decimal, str]]],
    after_letter: dict[int, list[tuple[int, Decimal, str]]],
) -> None:
    """Move every overdue invoice of a debtor who gets a 14-day letter into that letter.

    The invoices in `after_letter` already had a letter. The new letter
    names them too, because art. 6:96 lid 7 BW requires one reminder for all
    claims against a consumer with the costs over the summed principal. So
    the new letter announces the costs over that sum and not a second
    minimum on top of the costs they already carry (see
    `betaalreis.dunning.letter_costs`). They keep their stage, so their
    dunning goes on where it was.
    """
    letters = [(key, group) for key, group in groups.items() if group.stage.is_fourteen_day_letter]
    if not letters:
        return

    letter_debtors = {debtor_id for (debtor_id, _, _), _ in letters}
    # Which other group of such a debtor contains an invoice now, so moving it
    # into the letter costs one lookup instead of a scan of every group.
    group_of_invoice: dict[int, _Group] = {}
    for (debtor_id, _, _), group in groups.items():
        if debtor_id in letter_debtors and not group.stage.is_fourteen_day_letter:
            for invoice_id in group.invoice_ids:
                group_of_invoice[invoice_id] = group

    for (debtor_id, _, currency), letter in letters:
        in_letter = set(letter.invoice_ids)
        earlier = [(row, True) for row in after_letter.get(debtor_id, ())]
        for (invoice_id, open_amount, invoice_currency), named_only in [
            *((row, False) for row in before_letter.get(debtor_id, ())), *earlier
        ]:
            if invoice_currency != currency or invoice_id in in_letter:
                continue
            other = group_of_invoice.pop(invoice_id, None)
            if other is not None:
                other.remove(invoice_id)
            letter.add(invoice_id, open_amount)
            in_letter.add(invoice_id)
            if named_only:
                letter.named_only.add(invoice_id)


def _first_claim_stage_order(stages: list[Stage]) -> int | None:
    """Return the order of the policy's 14-day letter, else of its first stage that states the claim, else None."""
    letter = next((stage.order for stage in stages if stage.is_fourteen_day_letter), None)
    if letter is not None:
        return letter
    return next((stage.order for stage in stages if stage.states_claim), None)


class _BundleCandidate(NamedTuple):
    """An overdue invoice past the first stage that states the claim, as `_bundle_into_later_stages` needs it."""

    position: int
    invoice_id: int
    open_amount: Decimal
    currency: str
    current_order: int
    current_date: dt.date | None


@dataclass(frozen=True, slots=True)
class _BundleWaits:
    """The waiting rules an invoice must meet to go along with another invoice's stage."""

    day: dt.date
    terms: dict[int, FourteenDayTerm]
    late_send_dates: dict[int, dt.date]

    def allow(self, candidate: _BundleCandidate, stage: Stage, letter_order: int | None) -> bool:
        if candidate.current_date is None:
            return True
        if letter_order is not None and candidate.current_order == letter_order:
            term = self.terms.get(candidate.invoice_id)
            if term is None or not term.has_passed(self.day):
                return False
        previous_sent_on = self.late_send_dates.get(candidate.invoice_id, candidate.current_date)
        return (self.day - previous_sent_on).days >= stage.min_days_after_previous


def _bundle_into_later_stages(
    groups: dict[tuple[int, str, str], _Group],
    past_claim_stage: dict[int, list[_BundleCandidate]],
    stages_by_kind: dict[str, list[Stage]],
    claim_order_by_kind: dict[str, int | None],
    letter_order_by_kind: dict[str, int | None],
    checks: _BundleWaits,
    plan: Plan,
) -> None:
    """Add to each message of a stage after the first claim stage the debtor's other invoices that can go with it.

    Stages are due per invoice, counted from each due date, so two invoices
    named in one 14-day letter would reach the final notice and the handover
    on different days, and the debtor would get two final notices. Art. 6:96
    lid 7 BW requires one reminder for all claims of a consumer, and a credit
    manager hands a debtor over once. So the stage follows the oldest
    invoice: the debtor's other invoices go along on the day the first of
    them is due for it, not on the day the latest is. Waiting for the latest
    would let each new invoice postpone the steps for the older ones.

    An invoice goes along only when it is past the same first claim stage,
    in the message's currency, behind the message's stage, and no `required`
    stage lies between its stage and the message's. It must also meet its
    own waits: the 14-day term of the letter that gave it the letter stage
    has ended, and `min_days_after_previous` has passed since its previous
    message. An invoice planned for a lower stage today, other than a
    14-day letter, moves up.
    """
    if not past_claim_stage:
        return
    kind_of_stage = {stage.pk: kind for kind, stages in stages_by_kind.items() for stage in stages}
    groups_of_debtor: dict[int, list[_Group]] = defaultdict(list)
    for (debtor_id, _code, _currency), group in groups.items():
        if debtor_id in past_claim_stage:
            groups_of_debtor[debtor_id].append(group)

    # Higher stages first, so an invoice goes along with the highest stage it can.
    for (debtor_id, _code, currency), group in sorted(groups.items(), key=lambda item: -item[1].stage.order):
        candidates = past_claim_stage.get(debtor_id)
        if not candidates or not group.invoice_ids:
            continue
        stage = group.stage
        kind = kind_of_stage[stage.pk]
        claim_order = claim_order_by_kind[kind]
        if claim_order is None or stage.order <= claim_order:
            continue
        stages = stages_by_kind[kind]
        letter_order = letter_order_by_kind[kind]

        position_of = {candidate.invoice_id: candidate.position for candidate in candidates}
        in_group = set(group.invoice_ids)
        added = False
        for candidate in candidates:
            if (
                candidate.invoice_id in in_group
                or candidate.currency != currency
                or candidate.current_order >= stage.order
                or _skips_required_stage(stages, candidate.current_order, stage.order)
                or not checks.allow(candidate, stage, letter_order)
            ):
                continue
            # A 14-day letter planned today keeps naming the invoice, because
            # it must name every overdue invoice. It goes out first and the
            # later stage waits (see `_hold_second_messages`).
            for other in groups_of_debtor[debtor_id]:
                if (
                    other is not group
                    and not other.stage.is_fourteen_day_letter
                    and candidate.invoice_id in other.invoice_ids
                ):
                    other.remove(candidate.invoice_id)
            group.add(candidate.invoice_id, candidate.open_amount)
            in_group.add(candidate.invoice_id)
            plan.staged_invoice_ids.add(candidate.invoice_id)
            added = True

        if added:
            order = sorted(
                zip(group.invoice_ids, group.open_amounts), key=lambda pair: position_of.get(pair[0], -1)
            )
            group.invoice_ids[:] = [invoice_id for invoice_id, _amount in order]
            group.open_amounts[:] = [amount for _invoice_id, amount in order]


def _skips_required_stage(stages: list[Stage], current_order: int, target_order: int) -> bool:
    """Return whether a `required` stage lies strictly between `current_order` and `target_order`."""
    return any(stage.required and current_order < stage.order < target_order for stage in stages)


def count_by(plan: Plan) -> dict[tuple[str, str], int]:
    """Count planned messages per (stage code, channel)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for message in plan.messages:
        counts[(message.stage.code, message.channel or "-")] += 1
    return dict(counts)
