"""Payment plans: a schedule of monthly instalments for chosen invoices.

A debtor picks the number of terms. Within the creditor's limits (maximum
terms, minimum instalment) the plan is active at once and its invoices get
status payment_plan, which takes them out of dunning. Outside the limits the
plan waits for a credit manager. A plan counts as paid up to the amount by
which the open amounts of its invoices went down since it started. When an
instalment stays unpaid past its grace days, the plan breaks, and the
invoices that are still open return to dunning.

A plan covers the principal as the ledger books it: the open amounts of its
invoices, which its instalments add up to. The rest of the claim on those
invoices on the day of the request is stored on the plan
(`claim_outside_plan`): unpaid interest, the collection costs when the plan
takes every invoice of the claim, and the principal the claim still counts
because earlier payments went to costs and interest first (BW 6:44). The
plan pages, the portal's overview, the request's timeline line and the
back office's claim state these amounts. They are waived when every
instalment is paid, so a completed plan has paid the invoices in full as
the creditor's books have them. When the plan breaks they are owed again,
because its invoices return to the claim and its interest runs from their
due dates. While the plan is active its invoices are not in the claim, so
the claim's collection costs are those over any other invoices. Covering
interest and costs in the instalments would need the plan's progress to
count interest and costs paid, which it does not.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_set_invoice_status
from betaalreis.ledger.models import ZERO, Debtor, Invoice, InvoiceStatus, TimelineKind
from betaalreis.ledger.money import format_money
from betaalreis.ledger.timeline_text import (
    INSTALMENT_TOO_SMALL,
    TOO_MANY_TERMS,
    TOO_MANY_TERMS_AND_INSTALMENT_TOO_SMALL,
)
from betaalreis.payments.models import Instalment, PaymentPlan, PlanStatus
from betaalreis.portal.services import load_accounts, portal_settings_for

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the same day `months` later, or the month's last day when it has fewer days."""
    month_index = day.month - 1 + months
    year = day.year + month_index // 12
    month = month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def schedule(total: Decimal, terms: int, *, first_now: bool, today: dt.date) -> list[tuple[dt.date, Decimal]]:
    """Split `total` into `terms` monthly instalments; the last one takes the rounding cents."""
    if terms < 1:
        raise InvalidInput(f"A payment plan needs at least 1 term, got {terms}.")

    base = (total / terms).quantize(CENT, rounding=ROUND_DOWN)
    amounts = [base] * (terms - 1) + [total - base * (terms - 1)]
    # Each date counts from `today`, so a plan started on the 31st keeps month ends.
    offset = 0 if first_now else 1
    return [(add_months(today, index + offset), amount) for index, amount in enumerate(amounts)]


@dataclass(frozen=True, slots=True)
class PlanCheck:
    """Whether a requested plan fits the creditor's limits, and if not, why.

    `reason` is Dutch, as the timeline stores it, and names each limit the
    plan breaks with the plan's value. `phrase_in_language` shows it in the
    reader's language.
    """

    within_limits: bool
    reason: str


def check_limits(creditor_id: int, total: Decimal, terms: int, currency: str = "EUR") -> PlanCheck:
    """Check a plan of `total` in `terms` monthly instalments against the creditor's portal settings.

    Both limits are checked, so a plan that breaks both gets one reason that names both.
    """
    limits = portal_settings_for(creditor_id)
    too_many_terms = terms > limits.max_plan_terms
    first_amount = (total / terms).quantize(CENT, rounding=ROUND_DOWN)
    too_small = terms > 1 and first_amount < limits.min_instalment
    values = {
        "terms": terms,
        "maximum": limits.max_plan_terms,
        "instalment": format_money(first_amount, currency),
        "minimum": format_money(limits.min_instalment, currency),
    }

    if too_many_terms and too_small:
        return PlanCheck(False, TOO_MANY_TERMS_AND_INSTALMENT_TOO_SMALL % values)
    if too_many_terms:
        return PlanCheck(False, TOO_MANY_TERMS % values)
    if too_small:
        return PlanCheck(False, INSTALMENT_TOO_SMALL % values)
    return PlanCheck(True, "")


@dataclass(frozen=True, slots=True)
class ExcludedClaim:
    """The part of the portal's claim on a plan's invoices beyond the ledger's open amounts.

    `interest` is unpaid interest. `principal` is the claim's principal
    beyond the ledger's open amount: earlier payments went to interest and
    costs first (BW 6:44), so the claim counts that much principal as
    unpaid while the ledger booked those payments to principal.
    """

    interest: Decimal
    costs: Decimal
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.interest + self.costs + self.principal


def claim_outside_plan(debtor: Debtor, invoice_ids: set[int], today: dt.date) -> ExcludedClaim:
    """Return what the portal shows as due on these open invoices beyond their open amount in the ledger.

    Interest already paid is not in it. The costs are the plan's invoices'
    shares of the claim's collection costs (`InvoiceLine.costs`).
    """
    (account,) = load_accounts([debtor.pk], today)
    lines = [line for line in account.open_lines if line.invoice.pk in invoice_ids]
    interest = sum((line.interest for line in lines), ZERO)
    principal = sum((max(line.open_amount - line.invoice.open_amount, ZERO) for line in lines), ZERO)
    costs = sum((line.costs for line in lines), ZERO)
    return ExcludedClaim(max(interest, ZERO), costs, principal)


@dataclass(frozen=True, slots=True)
class PlanProposal:
    """A payment plan for chosen invoices, as the portal states it before the request and `do_request_plan` stores it."""

    invoices: tuple[Invoice, ...]
    terms: int
    total: Decimal
    currency: str
    # Due date and amount of each instalment, in order.
    instalments: tuple[tuple[dt.date, Decimal], ...]
    check: PlanCheck
    excluded: ExcludedClaim

    @property
    def fingerprint(self) -> str:
        """Return the invoice ids, terms and total in one string, which changes when any of them changes.

        The portal's request form carries it, so a request is only made for
        the plan whose text the debtor saw.
        """
        ids = ",".join(str(pk) for pk in sorted(invoice.pk for invoice in self.invoices))
        return f"{ids}:{self.terms}:{self.total}"


def propose_plan(debtor: Debtor, invoices: list[Invoice], terms: int, *, today: dt.date) -> PlanProposal:
    """Compute the plan that `do_request_plan` would create for exactly these invoices and terms.

    It does not check the invoices. `do_request_plan` does, with the invoices locked.
    """
    if not invoices:
        raise InvalidInput("Choose at least one open invoice for the payment plan.", code="invoice_missing")

    ordered = sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.number))
    total = sum((invoice.open_amount for invoice in ordered), ZERO)
    currency = ordered[0].currency
    limits = portal_settings_for(debtor.creditor_id)
    return PlanProposal(
        invoices=tuple(ordered),
        terms=terms,
        total=total,
        currency=currency,
        instalments=tuple(schedule(total, terms, first_now=limits.first_instalment_now, today=today)),
        check=check_limits(debtor.creditor_id, total, terms, currency),
        excluded=claim_outside_plan(debtor, {invoice.pk for invoice in ordered}, today),
    )


@transaction.atomic
def do_request_plan(
    debtor: Debtor,
    invoices: list[Invoice],
    terms: int,
    *,
    today: dt.date,
    channel: str = "portal",
    expected: str | None = None,
) -> PaymentPlan:
    """Create a payment plan for `invoices`; active at once when within the creditor's limits.

    A plan outside the limits waits for approval by a credit manager; the
    daily run pauses the debtor's dunning meanwhile (see
    `betaalreis.portal.services.paused_debtor_ids`). With `expected`, the
    `PlanProposal.fingerprint` the debtor was shown, InvalidInput (code
    plan_changed) is raised when the locked invoices give another plan.
    """
    if not invoices:
        raise InvalidInput("Choose at least one open invoice for the payment plan.")
    locked = list(Invoice.objects.select_for_update().filter(pk__in=[inv.pk for inv in invoices]))
    wrong = [inv.number for inv in locked if inv.debtor_id != debtor.pk or inv.status != InvoiceStatus.OPEN
             or inv.open_amount <= ZERO]
    if wrong or len(locked) != len(invoices):
        raise InvalidInput(f"Invoices {wrong} are not open invoices of this account.", code="invoice_not_open")
    if PaymentPlan.objects.filter(
        debtor=debtor, status__in=(PlanStatus.ACTIVE, PlanStatus.PENDING_APPROVAL)
    ).exists():
        raise InvalidInput("This account already has a payment plan.", code="plan_exists")

    proposal = propose_plan(debtor, locked, terms, today=today)
    if expected is not None and proposal.fingerprint != expected:
        raise InvalidInput(
            f"Payment plan {proposal.fingerprint!r} differs from the plan shown to the debtor, {expected!r}, "
            "because the invoices or their amounts changed. Show the plan again before the request.",
            code="plan_changed",
        )
    total, currency, check, excluded = proposal.total, proposal.currency, proposal.check, proposal.excluded
    limits = portal_settings_for(debtor.creditor_id)
    plan = PaymentPlan.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        status=PlanStatus.ACTIVE if check.within_limits else PlanStatus.PENDING_APPROVAL,
        total=total,
        currency=currency,
        terms=terms,
        first_instalment_now=limits.first_instalment_now,
        outside_limits_reason=check.reason,
        interest_excluded=excluded.interest,
        costs_excluded=excluded.costs,
        principal_excluded=excluded.principal,
        decided_at=timezone.now() if check.within_limits else None,
        decided_by="limits" if check.within_limits else "",
    )
    plan.invoices.set(locked)
    Instalment.objects.bulk_create(
        Instalment(plan=plan, number=index + 1, due_date=due, amount=amount)
        for index, (due, amount) in enumerate(proposal.instalments)
    )

    if check.within_limits:
        _put_invoices_in_plan(plan, source=channel)
    summary = f"Betalingsregeling aangevraagd: {format_money(total, plan.currency)} in {terms} termijnen"
    if check.within_limits:
        summary += "; direct goedgekeurd"
    else:
        summary += f"; ter beoordeling, want {check.reason}"
    if excluded.total > ZERO:
        summary += ". " + excluded_sentence(excluded.interest, excluded.costs, excluded.principal, plan.currency)
    timeline.record(
        debtor,
        TimelineKind.NOTE,
        summary,
        source=channel,
        creditor_id=debtor.creditor_id,
        data={"plan_id": plan.pk, "terms": terms, "status": plan.status, "reason": check.reason,
              "channel": channel, "interest_excluded": str(excluded.interest),
              "costs_excluded": str(excluded.costs), "principal_excluded": str(excluded.principal)},
    )
    return plan


def excluded_text(interest: Decimal, costs: Decimal, principal: Decimal, currency: str) -> str:
    """Return the Dutch words for the claim a plan leaves out, for example "rente € 2,48 en incassokosten € 40,00".

    Only the parts above zero are named, so a plan without costs records no
    "incassokosten € 0,00". Each part is a phrase that
    `betaalreis.ledger.timeline_text` translates.
    """
    return " en ".join(excluded_parts(interest, costs, principal, currency))


def excluded_sentence(interest: Decimal, costs: Decimal, principal: Decimal, currency: str) -> str:
    """Return the Dutch sentence of a plan request's timeline row that names the claim the plan leaves out.

    The verb agrees with the number of parts: "die vervalt" for one amount
    and "die vervallen" for more.
    """
    parts = excluded_parts(interest, costs, principal, currency)
    verb = "vervalt" if len(parts) == 1 else "vervallen"
    return f"Buiten de regeling: {' en '.join(parts)}, die {verb} als de regeling wordt nagekomen"


def excluded_parts(interest: Decimal, costs: Decimal, principal: Decimal, currency: str) -> list[str]:
    """Return the Dutch phrase of each part above zero of the claim a plan leaves out, as `excluded_text` joins them."""
    parts = []
    if interest > ZERO:
        parts.append(f"rente {format_money(interest, currency)}")
    if costs > ZERO:
        parts.append(f"incassokosten {format_money(costs, currency)}")
    if principal > ZERO:
        parts.append(f"hoofdsom {format_money(principal, currency)} door eerdere betalingen op rente of kosten (art. 6:44 BW)")
    return parts


def _put_invoices_in_plan(plan: PaymentPlan, *, source: str) -> None:
    for invoice in plan.invoices.all():
        do_set_invoice_status(invoice, InvoiceStatus.PAYMENT_PLAN, source=source, reason=f"payment plan {plan.pk}")


@transaction.atomic
def do_decide_plan(plan: PaymentPlan, *, approve: bool, by: str) -> PaymentPlan:
    """Approve or reject a plan that waited for a credit manager."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.PENDING_APPROVAL:
        raise InvalidInput(f"Payment plan {plan.pk} has status {plan.status}; only pending plans can be decided.")

    plan.status = PlanStatus.ACTIVE if approve else PlanStatus.REJECTED
    plan.decided_at = timezone.now()
    plan.decided_by = by[:200]
    plan.save(update_fields=["status", "decided_at", "decided_by"])
    if approve:
        _put_invoices_in_plan(plan, source=by)
    timeline.record(
        plan.debtor_id,
        TimelineKind.NOTE,
        f"Betalingsregeling {'goedgekeurd' if approve else 'afgewezen'}",
        source=by,
        creditor_id=plan.creditor_id,
        data={"plan_id": plan.pk},
    )
    return plan


def paid_so_far(plan: PaymentPlan) -> Decimal:
    """Return how much of the plan is paid: the drop in open amount of its invoices."""
    still_open = plan.invoices.aggregate(total=Sum("open_amount"))["total"] or ZERO
    return max(plan.total - still_open, ZERO)


@dataclass(frozen=True, slots=True)
class InstalmentState:
    instalment: Instalment
    paid: bool
    outstanding: Decimal


def instalment_states(plan: PaymentPlan) -> list[InstalmentState]:
    """Return each instalment with whether payments so far cover it, filling the earliest first."""
    paid = paid_so_far(plan)
    states = []
    for instalment in plan.instalments.order_by("number"):
        covered = min(paid, instalment.amount)
        paid -= covered
        states.append(InstalmentState(instalment, covered == instalment.amount, instalment.amount - covered))
    return states


def next_instalment(plan: PaymentPlan) -> InstalmentState | None:
    return next((state for state in instalment_states(plan) if not state.paid), None)


@dataclass(slots=True)
class PlanCheckSummary:
    completed: int = 0
    broken: int = 0


def check_plans(creditor_id: int, day: dt.date, *, at: dt.datetime | None = None) -> PlanCheckSummary:
    """Complete fully paid plans and break plans with an instalment unpaid past its grace days.

    A broken plan's open invoices go back to status open, so the next dunning
    run chases them again. `at` dates the timeline events (default now), so a
    run for a past day can date them on that day.
    """
    summary = PlanCheckSummary()
    grace = dt.timedelta(days=portal_settings_for(creditor_id).plan_grace_days)

    for plan in PaymentPlan.objects.filter(creditor_id=creditor_id, status=PlanStatus.ACTIVE):
        states = instalment_states(plan)
        if all(state.paid for state in states):
            summary_text = "Betalingsregeling volledig betaald"
            if plan.interest_excluded + plan.costs_excluded + plan.principal_excluded > ZERO:
                excluded = excluded_text(
                    plan.interest_excluded, plan.costs_excluded, plan.principal_excluded, plan.currency
                )
                summary_text += f"; kwijtgescholden zoals bij de regeling vermeld: {excluded}"
            _close_plan(plan, PlanStatus.COMPLETED, summary_text, at=at)
            summary.completed += 1
            continue

        missed = [state for state in states if not state.paid and state.instalment.due_date + grace < day]
        if missed:
            _close_plan(
                plan,
                PlanStatus.BROKEN,
                f"Termijn {missed[0].instalment.number} van de betalingsregeling niet betaald; aanmanen hervat",
                at=at,
            )
            summary.broken += 1
    return summary


@transaction.atomic
def _close_plan(plan: PaymentPlan, status: str, summary: str, *, at: dt.datetime | None = None) -> None:
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != PlanStatus.ACTIVE:
        return

    plan.status = status
    plan.save(update_fields=["status"])
    if status == PlanStatus.BROKEN:
        for invoice in plan.invoices.filter(status=InvoiceStatus.PAYMENT_PLAN, open_amount__gt=0):
            do_set_invoice_status(invoice, InvoiceStatus.OPEN, source="payment plan check",
                                  reason=f"payment plan {plan.pk} broken", at=at)
    data = {"plan_id": plan.pk, "status": status}
    if status == PlanStatus.COMPLETED:
        data.update(waived_interest=str(plan.interest_excluded), waived_costs=str(plan.costs_excluded),
                    waived_principal=str(plan.principal_excluded))
    timeline.record(
        plan.debtor_id, TimelineKind.NOTE, summary, source="payment plan check",
        creditor_id=plan.creditor_id, data=data, at=at,
    )
    logger.info("payment plan closed", extra={"plan_id": plan.pk, "status": status})


def instalments_to_remind(creditor_id: int, day: dt.date, *, days_before: int = 3) -> list[InstalmentState]:
    """Return unpaid instalments of active plans due within `days_before` days and not yet reminded."""
    result = []
    horizon = day + dt.timedelta(days=days_before)
    plans = PaymentPlan.objects.filter(creditor_id=creditor_id, status=PlanStatus.ACTIVE).prefetch_related("instalments")
    for plan in plans:
        for state in instalment_states(plan):
            instalment = state.instalment
            if not state.paid and instalment.reminded_at is None and instalment.due_date <= horizon:
                result.append(state)
    return result
