"""The claim of one creditor against one debtor on a given day: principal, interest, costs.

`compute_claim` is the one entry point that letters, emails, the portal, the
exports and the dunning run call, so every place shows the same amounts. It
is pure: no database, no clock. `claim_for_debtor` in
`betaalreis.legal.ledger_claims` builds its input from the ledger.

Rules applied (Dutch civil code, BW):
- Interest per invoice, see `betaalreis.legal.interest`. Businesses owe the
  commercial rate (6:119a) from the day after the due date. Consumers owe
  the statutory rate (6:119) from the day set by the creditor's terms,
  by default the day after the due date.
- A part added to an invoice later, such as a raise of its amount
  (`ClaimItem.later_parts`), falls due on its own date. Interest on it runs
  from the day set for that date and compounds yearly from that day (see
  `betaalreis.legal.interest.InvoiceInterest`), and a business owes costs on
  it from the day after it.
- Interest is claimed only from the first day of the rate table in
  `data/statutory_rates.toml`. An invoice in default before that day gets
  no interest for the days before it, and the breakdown states it
  (`interest_not_claimed_before`), because no rate for those days was read
  in a source.
- Collection costs over the summed principal of all invoices, see
  `betaalreis.legal.costs`. A consumer owes them only after the term of a
  14-day letter has passed unpaid (6:96 lid 6), and then only over the
  principal still unpaid at the end of that term that the letter named
  (`ClaimItem.unnamed_principal` is left out). With several letters
  (`LetterTerm`), each term that passes sets the costs over its own summed
  principal, and the consumer owes the highest of these, never their sum
  (see `_ClaimRun._charge_costs`). A business owes them from
  the day after a due date without a reminder (6:96 lid 4): the fixed EUR 40
  or the scale, per the creditor's settings.
- An invoice in default before 1 July 2012 adds nothing to the cost base,
  because BIK art. 3 excludes claims in default before the BIK entered into
  force. The breakdown names such invoices (`ItemBreakdown.default_before_bik`).
- A payment pays one invoice at a time. The invoice the debtor named comes
  first (6:43 lid 1). The others follow 6:43 lid 2: invoices that are due,
  then those bearing interest, then the oldest. Within an invoice the
  payment goes to costs, then interest, then principal (6:44 lid 1), or in
  the order `LegalSettings.allocation_order` sets. The costs of the whole
  claim are paid with the first invoice in line.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput
from betaalreis.legal.costs import BIK_START, CollectionCosts, collection_costs
from betaalreis.legal.explain import claim_notices, explain_claim
from betaalreis.legal.interest import Capitalisation, InterestAccount, InterestPeriod, InvoiceInterest
from betaalreis.legal.policy import BusinessCostMode, ClaimPart, LegalSettings
from betaalreis.legal.rates import Rate, RateKind, first_rate_day, unconfirmed_rates
from betaalreis.legal.validation import validate_claim_input

ZERO = Decimal("0.00")
ONE_DAY = dt.timedelta(days=1)


class DebtorKind(enum.StrEnum):
    """The same codes as `betaalreis.ledger.models.DebtorKind`."""

    CONSUMER = "consumer"
    BUSINESS = "business"


class CostsStatus(enum.StrEnum):
    """Whether collection costs are owed on the day of the claim."""

    # Owed: the 14-day term passed unpaid (consumer) or a due date passed (business).
    DUE = "due"
    # A consumer's 14-day term is running; costs follow if it passes unpaid.
    TERM_RUNNING = "term_running"
    # A consumer got no 14-day letter yet, so no costs can be owed.
    NO_LETTER = "no_letter"
    # Nothing is overdue, or nothing is left unpaid.
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LaterPart:
    """A part of an invoice's principal that was added after the invoice and falls due on its own date."""

    amount: Decimal
    due_date: dt.date


@dataclass(frozen=True, slots=True)
class ClaimItem:
    """One unpaid invoice in a claim."""

    invoice_number: str
    # The amount owed on the invoice, before any payment passed to `compute_claim`.
    principal: Decimal
    due_date: dt.date
    # First day of default when the creditor's terms set it; by default the
    # interest start follows from the debtor kind and the settings.
    default_date: dt.date | None = None
    # The part of `principal` that the 14-day letter of the claim's term did
    # not name, because the invoice was raised after it. A consumer owes no
    # collection costs over it.
    unnamed_principal: Decimal = ZERO
    # Parts of `principal` added later, such as raises of the invoice's amount.
    # They bear interest and business costs only once they are due.
    later_parts: tuple[LaterPart, ...] = ()


@dataclass(frozen=True, slots=True)
class LetterTerm:
    """The term of one 14-day letter to a consumer, and what its cost base is made of.

    When the term passes, the costs are computed over the principal the
    letter named and the debtor left unpaid at its end (art. 6:96 lid 6 and
    lid 7 BW). That is the unpaid named principal of the claim items
    `invoice_numbers` (None for every item) plus `closed_principal`. The
    latter is the part that invoices named by the same letter left unpaid at
    the end of its term, for invoices paid since and so no longer claim items.
    """

    term_end: dt.date
    invoice_numbers: frozenset[str] | None = None
    closed_principal: Decimal = ZERO
    # By invoice number, the part of the principal raised after this letter
    # was sent, which it did not name. Items not listed use their
    # `ClaimItem.unnamed_principal`, the part that the latest letter did not name.
    unnamed_principal: Mapping[str, Decimal] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class ClaimPayment:
    """Money received on the claim."""

    paid_on: dt.date
    amount: Decimal
    # The invoice the debtor named, if any.
    invoice_number: str | None = None


@dataclass(frozen=True, slots=True)
class PaymentApplication:
    """The split of one payment over costs, interest and principal."""

    paid_on: dt.date
    amount: Decimal
    invoice_number: str | None
    to_costs: Decimal
    to_interest: Decimal
    to_principal: Decimal
    # Remainder after every part was paid, which is a credit of the debtor.
    unapplied: Decimal


@dataclass(frozen=True, slots=True)
class ItemBreakdown:
    """The state of one invoice on the day of the claim."""

    invoice_number: str
    due_date: dt.date
    # First day interest is counted: the first day of default, or the first
    # day of the rate table when default began before it.
    interest_from: dt.date
    principal: Decimal
    principal_paid: Decimal
    principal_outstanding: Decimal
    interest: Decimal
    interest_paid: Decimal
    interest_outstanding: Decimal
    # The first day of default when it lies before the rate table, so that
    # interest over the days up to `interest_from` is not claimed.
    default_before_rate_table: dt.date | None = None
    # The first day of default when it lies before 1 July 2012, so that no
    # collection costs are claimed over the invoice (BIK art. 3).
    default_before_bik: dt.date | None = None
    # The part of `CostsBreakdown.base` that this invoice makes up: its
    # principal that the 14-day letter setting the costs named and that was
    # unpaid at the end of its term (a business: its overdue principal).
    # `betaalreis.legal.cost_shares` gives each invoice costs in this ratio.
    cost_base: Decimal = ZERO
    # The unpaid principal that costs would be computed over today, without
    # later parts not yet due and zero for an invoice BIK art. 3 excludes.
    costed_principal: Decimal = ZERO

    @property
    def amount_outstanding(self) -> Decimal:
        """Return the unpaid principal and interest of the invoice, the amount of its line."""
        return self.principal_outstanding + self.interest_outstanding


@dataclass(frozen=True, slots=True)
class CostsBreakdown:
    """Collection costs of the whole claim."""

    status: CostsStatus
    # The principal the costs were computed over.
    base: Decimal
    costs: Decimal
    vat: Decimal
    vat_percent: Decimal | None
    # First day the costs are owed; None when that is not yet known.
    due_from: dt.date | None
    paid: Decimal
    # The costs (with VAT) owed once a consumer's running or new 14-day term
    # passes unpaid, as the letter must state them (art. 6:96 lid 6 BW): those
    # over the principal unpaid today, or the costs already owed when those
    # are higher, because the costs of several letters never add up.
    if_unpaid: Decimal
    # The VAT included in `if_unpaid`.
    if_unpaid_vat: Decimal
    is_fixed_minimum: bool
    # The part of `base` made up by invoices that are paid since and so no
    # longer claim items (`LetterTerm.closed_principal`).
    closed_base: Decimal = ZERO
    # The part of `paid` that was paid with those invoices (`costs_paid_before`).
    paid_before: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.costs + self.vat

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.paid


@dataclass(frozen=True, slots=True)
class ClaimBreakdown:
    """Everything owed on one claim on one day, with how it was computed."""

    debtor_kind: DebtorKind
    on: dt.date
    currency: str
    interest_kind: RateKind
    items: tuple[ItemBreakdown, ...]
    interest_periods: tuple[InterestPeriod, ...]
    capitalisations: tuple[Capitalisation, ...]
    payments: tuple[PaymentApplication, ...]
    costs: CostsBreakdown
    principal: Decimal
    principal_outstanding: Decimal
    interest: Decimal
    interest_outstanding: Decimal
    total_outstanding: Decimal
    unapplied_payments: Decimal
    fourteen_day_term_end: dt.date | None
    allocation_order: tuple[ClaimPart, ...]
    # True when a period used a rate that no official or published notice confirmed.
    uses_unconfirmed_rates: bool
    # The first day of the rate table when an invoice was in default before
    # it; interest over the days before it is not claimed.
    interest_not_claimed_before: dt.date | None = None

    def unconfirmed_rates(self) -> tuple[Rate, ...]:
        """Return the rate table rows marked unconfirmed that the interest periods used."""
        if not self.uses_unconfirmed_rates:
            return ()
        periods = [
            (period.start, period.end) for period in self.interest_periods if period.rate_status == "unconfirmed"
        ]
        return unconfirmed_rates(self.interest_kind, periods)

    def notices(self, language: str) -> tuple[str, ...]:
        """Return sentences on limits of the computation, in Dutch ("nl") or English."""
        return claim_notices(self, language)

    def explanation(self, language: str) -> str:
        """Return a few sentences on how the total is made up, in Dutch ("nl") or English."""
        return explain_claim(self, language)

    @property
    def explanation_nl(self) -> str:
        return explain_claim(self, "nl")

    @property
    def explanation_en(self) -> str:
        return explain_claim(self, "en")


def compute_claim(
    *,
    debtor_kind: DebtorKind | str,
    items: Iterable[ClaimItem],
    on: dt.date,
    payments: Iterable[ClaimPayment] = (),
    fourteen_day_term_end: dt.date | None = None,
    settings: LegalSettings | None = None,
    currency: str = "EUR",
    letter_terms: Sequence[LetterTerm] = (),
    costs_paid_before: Decimal = ZERO,
) -> ClaimBreakdown:
    """Compute the claim on `on`, counting interest up to and including that day.

    `payments` are all payments on these invoices, including those before
    their due dates; payments dated after `on` raise InvalidInput.
    `fourteen_day_term_end` is the last day of the consumer's 14-day term
    after the Atw extension (see `betaalreis.legal.fourteen_day`). The letter
    of that term must have named all `items`. Without `letter_terms` the
    costs are set once, when that term passes, over every item.
    `letter_terms` replaces that with one cost base per letter, for a
    consumer whose letters named different invoices or invoices that are
    paid since. `costs_paid_before` are the costs already paid with such paid
    invoices. Businesses ignore all three.
    Invalid input raises InvalidInput (see `betaalreis.legal.validation`),
    and so does any currency but EUR, because the statutory costs are in euro.
    """
    try:
        kind = DebtorKind(debtor_kind)
    except ValueError:
        raise InvalidInput(gettext(
            "Ongeldige soort debiteur %(kind)r: gebruik een van %(kinds)s."
        ) % {"kind": debtor_kind, "kinds": [str(k) for k in DebtorKind]}) from None
    settings = settings or LegalSettings()
    items = tuple(items)
    payments = tuple(payments)
    validate_claim_input(items, payments, on, fourteen_day_term_end, currency)

    interest_kind = RateKind.COMMERCIAL if kind is DebtorKind.BUSINESS else RateKind.STATUTORY
    table_start = first_rate_day(interest_kind)
    ordered_items = sorted(items, key=lambda item: (item.due_date, item.invoice_number))
    accounts: dict[str, InvoiceInterest] = {}
    for item in ordered_items:
        default_start = _interest_start(item, kind, settings)
        account = accounts[item.invoice_number] = InvoiceInterest(InterestAccount(
            item.invoice_number,
            item.principal,
            max(default_start, table_start),
            interest_kind,
            settings.day_count,
            compounding_from=default_start,
        ))
        for part in item.later_parts:
            part_start = _interest_start(ClaimItem(item.invoice_number, part.amount, part.due_date), kind, settings)
            account.add_part(part.amount, max(part_start, table_start), compounding_from=part_start)

    if kind is DebtorKind.CONSUMER and not letter_terms and fourteen_day_term_end is not None:
        letter_terms = (LetterTerm(fourteen_day_term_end),)
    run = _ClaimRun(
        kind, ordered_items, accounts, settings, fourteen_day_term_end, on, tuple(letter_terms), costs_paid_before
    )
    run.run(sorted(payments, key=lambda payment: payment.paid_on))

    return run.breakdown(currency)


def allocate_payment(
    amount: Decimal,
    *,
    costs: Decimal,
    interest: Decimal,
    principal: Decimal,
    order: Sequence[ClaimPart],
) -> dict[ClaimPart, Decimal]:
    """Split `amount` over open costs, interest and principal, each part in full before the next.

    Returns the amount applied per part; what exceeds all three parts is not
    applied. BW 6:44 lid 1 sets the order costs, interest, principal.
    """
    open_amounts = {
        ClaimPart.COSTS: costs,
        ClaimPart.INTEREST: interest,
        ClaimPart.PRINCIPAL: principal,
    }
    split = {part: ZERO for part in ClaimPart}
    remaining = amount

    for part in order:
        applied = min(remaining, max(open_amounts[part], ZERO))
        split[part] = applied
        remaining -= applied

    return split


def _interest_start(item: ClaimItem, kind: DebtorKind, settings: LegalSettings) -> dt.date:
    if item.default_date is not None:
        return item.default_date
    if kind is DebtorKind.BUSINESS:
        return item.due_date + ONE_DAY
    return item.due_date + dt.timedelta(days=settings.consumer_interest_start_offset_days)


class _ClaimRun:
    """Moves all invoices of one claim through time, day ranges at a time."""

    def __init__(
        self,
        kind: DebtorKind,
        items: list[ClaimItem],
        accounts: dict[str, InvoiceInterest],
        settings: LegalSettings,
        term_end: dt.date | None,
        on: dt.date,
        letter_terms: tuple[LetterTerm, ...] = (),
        costs_paid_before: Decimal = ZERO,
    ) -> None:
        self.kind = kind
        self.items = items
        self.accounts = accounts
        self.settings = settings
        self.term_end = term_end if kind is DebtorKind.CONSUMER else None
        self.letter_terms = letter_terms if kind is DebtorKind.CONSUMER else ()
        self.on = on

        # BIK art. 3: invoices in default before the BIK took effect bear no costs.
        self.before_bik = {
            number for number, account in accounts.items() if account.compounding_from < BIK_START
        }

        self.costs = CollectionCosts(ZERO, ZERO, ZERO, None)
        # By invoice number, each open invoice's part of the principal the costs were computed over.
        self.cost_base: dict[str, Decimal] = {}
        self.closed_base = ZERO
        self.costs_paid_before = costs_paid_before if kind is DebtorKind.CONSUMER else ZERO
        self.costs_paid = self.costs_paid_before
        self.costs_due_from: dt.date | None = None
        # Business: the principal of each invoice left unpaid when its due date passed.
        self.overdue_principal: dict[str, Decimal] = {}
        self.applications: list[PaymentApplication] = []

    def run(self, payments: list[ClaimPayment]) -> None:
        cost_days = self._cost_days()
        day = min(
            [account.first_day for account in self.accounts.values()]
            + [payment.paid_on + ONE_DAY for payment in payments]
            + list(cost_days)
        )
        end = self.on + ONE_DAY
        pending = list(payments)

        while day <= end:
            # Events at the start of `day`: payments of the day before, costs
            # falling due today, anniversaries today. Past the claim date only
            # the payments of the claim date itself remain to be applied.
            while pending and pending[0].paid_on + ONE_DAY == day:
                self._apply_payment(pending.pop(0))
            if day in cost_days and day <= self.on:
                self._charge_costs(day)
            if day == end:
                break

            for account in self.accounts.values():
                account.close_year_if_due(day)

            next_day = self._next_event_day(day, pending, cost_days, end)
            for account in self.accounts.values():
                account.accrue(day, next_day - ONE_DAY)
            day = next_day

    def _cost_days(self) -> set[dt.date]:
        # Costs with VAT (not deductible) on a day before the VAT table, which
        # starts on 1 October 2012, raise InvalidInput naming that table.
        if self.kind is DebtorKind.CONSUMER:
            return {letter.term_end + ONE_DAY for letter in self.letter_terms}

        # NOTE: business costs run over the summed principal of the overdue
        # invoices, as for consumers. No statute sums business claims, and
        # charging each invoice separately (at least EUR 40 each) is not offered.
        return {
            due_date + ONE_DAY
            for item in self.items
            for due_date in (item.due_date, *(part.due_date for part in item.later_parts))
        }

    def _next_event_day(
        self, day: dt.date, pending: list[ClaimPayment], cost_days: set[dt.date], end: dt.date
    ) -> dt.date:
        candidates = [end]
        if pending:
            candidates.append(pending[0].paid_on + ONE_DAY)
        candidates.extend(cost_day for cost_day in cost_days if cost_day > day)
        for account in self.accounts.values():
            boundary = account.next_boundary(day)
            if boundary is not None:
                candidates.append(boundary)
        return min(candidate for candidate in candidates if candidate > day)

    def _charge_costs(self, day: dt.date) -> None:
        """Set the costs owed from `day` on; they only ever grow."""
        if self.kind is DebtorKind.CONSUMER:
            # Each letter whose term ends today sets costs over its own summed
            # principal (art. 6:96 lid 7 BW). A later letter that names the
            # same invoices again raises the costs to its own amount but never
            # adds a second amount on top. So the costs of one principal
            # are never counted twice, and no second EUR 40 minimum is stacked
            # on costs already owed.
            # NOTE: no source read covers a second letter after costs were
            # owed. Of the readings found, this one claims the least. When
            # part of an invoice was paid between the two letters, the second
            # letter counts only the part still unpaid. Its costs can then stay
            # below those of the first letter plus the new invoice.
            for letter in self.letter_terms:
                if letter.term_end + ONE_DAY == day:
                    self._raise_costs(day, self._letter_base(letter, day), letter.closed_principal)
            return

        for item in self.items:
            due_days = {item.due_date + ONE_DAY, *(part.due_date + ONE_DAY for part in item.later_parts)}
            if day in due_days and item.invoice_number not in self.before_bik:
                self.overdue_principal[item.invoice_number] = self._due_principal(item, day)
        self._raise_costs(day, dict(self.overdue_principal), ZERO)

    def _letter_base(self, letter: LetterTerm, day: dt.date) -> dict[str, Decimal]:
        """Return, by invoice number, the principal that `letter` named and that is unpaid when its term passes on `day`."""
        return {
            item.invoice_number: self._named_outstanding(
                item, letter.unnamed_principal.get(item.invoice_number, item.unnamed_principal), day
            )
            for item in self.items
            if self.accounts[item.invoice_number].first_day <= day - ONE_DAY
            and item.invoice_number not in self.before_bik
            and (letter.invoice_numbers is None or item.invoice_number in letter.invoice_numbers)
        }

    def _raise_costs(self, day: dt.date, base_by_item: dict[str, Decimal], closed_base: Decimal) -> None:
        """Set the costs over the summed base from `day` on, when they exceed the costs owed so far.

        A business's base also moves when the costs stay the same (the fixed
        EUR 40, or the maximum), so that every overdue invoice carries its part.
        """
        costs = collection_costs(
            sum(base_by_item.values(), ZERO) + closed_base,
            fixed_minimum_only=self._fixed_minimum_only,
            vat_deductible=self.settings.vat_deductible,
            on=day,
        )
        raised = costs.total > self.costs.total
        if raised or (self.kind is DebtorKind.BUSINESS and costs.total == self.costs.total and costs.total > 0):
            self.costs = costs
            self.cost_base = base_by_item
            self.closed_base = closed_base
        if raised and self.costs_due_from is None:
            self.costs_due_from = day

    def _named_outstanding(self, item: ClaimItem, unnamed: Decimal, day: dt.date) -> Decimal:
        """Return the unpaid principal of `item` that a 14-day letter named, when it did not name `unnamed`.

        Payments count against the named part first. That is the lower
        reading of the cost base, so the claim never states costs over money
        the letter did not name. A later part that bears no interest on `day`
        yet is left out too. An unnamed raise and a raise not yet due are the
        newest part of the principal, so the larger of the two is left out,
        not their sum.
        """
        account = self.accounts[item.invoice_number]
        not_due = account.deferred_amount(after=day)
        return max(account.principal_outstanding - max(unnamed, not_due), ZERO)

    def _due_principal(self, item: ClaimItem, day: dt.date) -> Decimal:
        """Return the unpaid principal of `item` without its later parts that bear no interest on `day` yet."""
        account = self.accounts[item.invoice_number]
        return account.principal_outstanding - account.deferred_amount(after=day)

    @property
    def _fixed_minimum_only(self) -> bool:
        return (
            self.kind is DebtorKind.BUSINESS
            and self.settings.business_cost_mode is BusinessCostMode.FIXED_40
        )

    def _apply_payment(self, payment: ClaimPayment) -> None:
        remaining = payment.amount
        applied = {part: ZERO for part in ClaimPart}

        for account in self._payment_line(payment):
            remaining = self._apply_to_invoice(remaining, account, applied, payment.paid_on)

        self.applications.append(
            PaymentApplication(
                paid_on=payment.paid_on,
                amount=payment.amount,
                invoice_number=payment.invoice_number,
                to_costs=applied[ClaimPart.COSTS],
                to_interest=applied[ClaimPart.INTEREST],
                to_principal=applied[ClaimPart.PRINCIPAL],
                unapplied=remaining,
            )
        )

    def _payment_line(self, payment: ClaimPayment) -> list[InvoiceInterest]:
        """Return the invoices in the order in which `payment` pays them.

        The invoice the debtor named comes first (BW 6:43 lid 1). The others
        follow BW 6:43 lid 2: invoices due on the day of payment, then those
        that bear interest on that day (the more burdensome debt), then the
        oldest due date.
        """
        # NOTE: "most burdensome" is reduced to "bears interest on the day of
        # payment", because all invoices of one claim run at the same rate.
        def rank(item: ClaimItem) -> tuple[bool, bool, dt.date, str]:
            account = self.accounts[item.invoice_number]
            return (
                item.due_date > payment.paid_on,
                account.first_day > payment.paid_on,
                item.due_date,
                item.invoice_number,
            )

        line = [
            self.accounts[item.invoice_number]
            for item in sorted(self.items, key=rank)
            if item.invoice_number != payment.invoice_number
        ]
        if payment.invoice_number is not None:
            line.insert(0, self.accounts[payment.invoice_number])
        return line

    def _apply_to_invoice(
        self, remaining: Decimal, account: InvoiceInterest, applied: dict[ClaimPart, Decimal], paid_on: dt.date
    ) -> Decimal:
        """Apply `remaining` to one invoice in the settings' order (BW 6:44 by default).

        The collection costs belong to the whole claim, because they are
        computed over the summed principal. So they take their turn with the
        first invoice in line that still has money left for them.
        """
        split = allocate_payment(
            remaining,
            costs=self.costs.total - self.costs_paid,
            interest=account.interest_outstanding,
            principal=account.principal_outstanding,
            order=self.settings.allocation_order,
        )

        self.costs_paid += split[ClaimPart.COSTS]
        account.pay_interest(split[ClaimPart.INTEREST])
        account.pay_principal(split[ClaimPart.PRINCIPAL], paid_on)

        for part in ClaimPart:
            applied[part] += split[part]
        return remaining - sum(split.values(), ZERO)

    def breakdown(self, currency: str) -> ClaimBreakdown:
        item_rows = tuple(self._item_row(item) for item in self.items)
        periods = tuple(
            period for account in self.accounts.values() for period in account.periods
        )
        capitalisations = tuple(
            entry for account in self.accounts.values() for entry in account.capitalisations
        )
        costs = self._costs_breakdown()

        principal_outstanding = sum((row.principal_outstanding for row in item_rows), ZERO)
        interest_outstanding = sum((row.interest_outstanding for row in item_rows), ZERO)

        return ClaimBreakdown(
            debtor_kind=self.kind,
            on=self.on,
            currency=currency,
            interest_kind=(
                RateKind.COMMERCIAL if self.kind is DebtorKind.BUSINESS else RateKind.STATUTORY
            ),
            items=item_rows,
            interest_periods=periods,
            capitalisations=capitalisations,
            payments=tuple(self.applications),
            costs=costs,
            principal=sum((item.principal for item in self.items), ZERO),
            principal_outstanding=principal_outstanding,
            interest=sum((row.interest for row in item_rows), ZERO),
            interest_outstanding=interest_outstanding,
            total_outstanding=principal_outstanding + interest_outstanding + costs.outstanding,
            unapplied_payments=sum((entry.unapplied for entry in self.applications), ZERO),
            fourteen_day_term_end=self.term_end,
            allocation_order=self.settings.allocation_order,
            uses_unconfirmed_rates=any(
                period.rate_status == "unconfirmed" for period in periods
            ),
            interest_not_claimed_before=min(
                (row.interest_from for row in item_rows if row.default_before_rate_table),
                default=None,
            ),
        )

    def _item_row(self, item: ClaimItem) -> ItemBreakdown:
        account = self.accounts[item.invoice_number]
        interest_outstanding = account.interest_outstanding
        return ItemBreakdown(
            invoice_number=item.invoice_number,
            due_date=item.due_date,
            interest_from=account.first_day,
            principal=item.principal,
            principal_paid=item.principal - account.principal_outstanding,
            principal_outstanding=account.principal_outstanding,
            interest=account.interest_total,
            interest_paid=account.interest_total - interest_outstanding,
            interest_outstanding=interest_outstanding,
            default_before_rate_table=(
                account.compounding_from if account.compounding_from < account.first_day else None
            ),
            default_before_bik=account.compounding_from if item.invoice_number in self.before_bik else None,
            cost_base=self.cost_base.get(item.invoice_number, ZERO),
            costed_principal=(
                ZERO if item.invoice_number in self.before_bik
                else account.principal_outstanding - account.deferred_amount(after=self.on)
            ),
        )

    def _costs_breakdown(self) -> CostsBreakdown:
        # A later part that is not due yet is no part of the announced costs.
        costed_principal = sum(
            (
                account.principal_outstanding - account.deferred_amount(after=self.on)
                for number, account in self.accounts.items()
                if number not in self.before_bik
            ),
            ZERO,
        )
        if_unpaid = collection_costs(
            costed_principal,
            fixed_minimum_only=self._fixed_minimum_only,
            vat_deductible=self.settings.vat_deductible,
            on=self.on,
        )
        if self.costs.total > if_unpaid.total:
            if_unpaid = self.costs

        if self.costs.total > 0:
            status = CostsStatus.DUE
            due_from = self.costs_due_from
        elif self.before_bik and costed_principal <= 0:
            # Only invoices that BIK art. 3 excludes are unpaid.
            status = CostsStatus.NONE
            due_from = None
        elif self.kind is DebtorKind.CONSUMER and self.term_end is None and costed_principal > 0:
            status = CostsStatus.NO_LETTER
            due_from = None
        elif (
            self.kind is DebtorKind.CONSUMER
            and self.term_end is not None
            and self.on <= self.term_end
        ):
            status = CostsStatus.TERM_RUNNING
            due_from = self.term_end + ONE_DAY
        else:
            status = CostsStatus.NONE
            due_from = None

        return CostsBreakdown(
            status=status,
            base=self.costs.principal,
            costs=self.costs.costs,
            vat=self.costs.vat,
            vat_percent=self.costs.vat_percent,
            due_from=due_from,
            paid=self.costs_paid,
            if_unpaid=if_unpaid.total,
            if_unpaid_vat=if_unpaid.vat,
            is_fixed_minimum=self._fixed_minimum_only,
            closed_base=self.closed_base,
            paid_before=self.costs_paid_before,
        )
