"""Debtor actions in the portal: the account view, promises, disputes and contact preferences.

Views call these functions and nothing else changes state. Each `do_*`
function is atomic and writes a timeline row that names the channel.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from betaalreis.errors import InvalidInput
from betaalreis.imports.contacts import is_mobile
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_set_invoice_status
from betaalreis.ledger.credit import debtor_credit
from betaalreis.ledger.models import (
    DUNNABLE_STATUSES,
    ZERO,
    Channel,
    Creditor,
    Debtor,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Language,
    TimelineKind,
    opted_out_of_every_channel,
)
from betaalreis.ledger.money import format_money
from betaalreis.ledger.validators import normalize_phone
from betaalreis.legal.claims import ClaimBreakdown, CostsStatus
from betaalreis.legal.cost_shares import invoice_costs
from betaalreis.dunning.charges import charged_invoice_ids, claim_letters
from betaalreis.dunning.letter_costs import LetterCosts
from betaalreis.dunning.reopening import dunning_due_dates
from betaalreis.legal.ledger_claims import CLAIM_STATUSES, claim_for_debtor
from betaalreis.portal.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    PortalSettings,
    Promise,
    PromiseStatus,
)

logger = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
# The first bytes of each accepted attachment type.
_ATTACHMENT_MAGIC = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}


def portal_settings_for(creditor: Creditor | int) -> PortalSettings:
    """Return the creditor's portal limits, or the defaults when it has none stored."""
    creditor_id = creditor if isinstance(creditor, int) else creditor.pk
    found = PortalSettings.objects.filter(creditor_id=creditor_id).first()
    return found or PortalSettings(creditor_id=creditor_id)


def paused_debtor_ids(creditor_id: int, day: dt.date) -> set[int]:
    """Return ids of the creditor's debtors whose dunning pauses on `day`.

    A promise pauses dunning up to and including its date. From the day
    after, the debtor is no longer returned, so dunning resumes by itself
    when the money has not come. A payment plan that waits for the credit
    manager's approval pauses dunning until it is approved or rejected, and
    so does an incoming payment in the bank review queue for which the debtor
    is a candidate, until the payment is confirmed or ignored.
    """
    from betaalreis.banking.review import debtor_ids_with_payment_in_review
    from betaalreis.payments.models import PaymentPlan, PlanStatus

    promised = Promise.objects.filter(
        creditor_id=creditor_id, status=PromiseStatus.ACTIVE, promised_date__gte=day
    ).values_list("debtor_id", flat=True)
    awaiting_plan = PaymentPlan.objects.filter(
        creditor_id=creditor_id, status=PlanStatus.PENDING_APPROVAL
    ).values_list("debtor_id", flat=True)
    return set(promised) | set(awaiting_plan) | debtor_ids_with_payment_in_review(creditor_id)


@dataclass(slots=True)
class InvoiceLine:
    """One open invoice on the portal, with the claim's amounts when a claim was computed."""

    invoice: Invoice
    # The due date the messages state: that of the reopened amount once dunning restarted.
    due_date: dt.date
    interest: Decimal = ZERO
    in_progress: bool = False
    # The claim's unpaid principal of the invoice. Payments go to costs and
    # interest before principal (BW 6:44), so it can be more than the
    # invoice's open amount in the ledger.
    principal: Decimal | None = None
    # What payments paid of this invoice's interest, before its principal (BW 6:44).
    interest_paid: Decimal = ZERO
    # Why the debtor cannot pay it online, or "" (`betaalreis.payments.online.online_payment_blocker`).
    blocker: str = ""
    # Whether the portal ticks it and counts it in the default total (`online.preselected_for_payment`).
    preselected: bool = True
    # The invoice's unpaid share of the collection costs of the claim (`betaalreis.legal.cost_shares`).
    costs: Decimal = ZERO

    @property
    def open_amount(self) -> Decimal:
        """Return the unpaid principal: the claim's, else the ledger's open amount."""
        return self.principal if self.principal is not None else self.invoice.open_amount

    @property
    def amount_due(self) -> Decimal:
        """Return the amount of the invoice's line: unpaid principal, interest and its share of the costs."""
        return self.open_amount + self.interest + self.costs


@dataclass(slots=True)
class CreditNoteLine:
    """A credit note with the invoices it was applied to; `credit_note.open_amount` is the rest, negative."""

    credit_note: Invoice
    applied_to: list[str] = field(default_factory=list)

    @property
    def applied(self) -> Decimal:
        return -self.credit_note.total + self.credit_note.open_amount

    @property
    def left(self) -> Decimal:
        return -self.credit_note.open_amount


@dataclass(frozen=True, slots=True)
class OnlineTotal:
    """The portal's total: what the debtor can pay online, split as the claim splits it."""

    principal: Decimal
    interest: Decimal
    costs: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.costs


@dataclass(slots=True)
class Account:
    """One debtor's account with one creditor, as the portal shows it."""

    debtor: Debtor
    open_lines: list[InvoiceLine] = field(default_factory=list)
    paid: list[Invoice] = field(default_factory=list)
    credit_notes: list[CreditNoteLine] = field(default_factory=list)
    # The unpaid collection costs of the claim: the sum of the open lines' shares.
    costs: Decimal = ZERO
    # The VAT in the owed collection costs, which the overview must state with its reason (BIK art. 2 lid 3).
    costs_vat: Decimal = ZERO
    # What payments paid of the collection costs, before any principal (BW 6:44).
    costs_paid: Decimal = ZERO
    interest: Decimal = ZERO
    promise: Promise | None = None
    open_disputes: dict[int, Dispute] = field(default_factory=dict)
    # Checkouts the debtor started and can still pay (`payments.services.open_checkouts`).
    open_checkouts: list[Any] = field(default_factory=list)
    # The invoice ids of each checkout the provider has not settled yet (`payments.services.checkouts_in_progress`).
    checkouts_in_progress: list[frozenset[int]] = field(default_factory=list)
    # Money paid beyond the invoices and not yet used or refunded, per currency.
    credit: dict[str, Decimal] = field(default_factory=dict)
    # Ids of the open invoices the claim covers, whose collection costs are `costs`.
    claim_invoice_ids: set[int] = field(default_factory=set)
    # While a consumer's 14-day term runs: its last day, and the collection
    # costs owed when the claim is still unpaid after it (else None and zero).
    term_end: dt.date | None = None
    costs_after_term: Decimal = ZERO
    claim_currency: str = "EUR"
    # Filled in by the overview view from betaalreis.payments.plans.
    plan: Any = None
    next_instalment: Any = None

    @property
    def creditor(self) -> Creditor:
        return self.debtor.creditor

    @property
    def principal(self) -> Decimal:
        return sum((line.open_amount for line in self.open_lines), ZERO)

    @property
    def total_due(self) -> Decimal:
        """Return the whole claim: every open invoice, also those the debtor cannot pay online."""
        return self.principal + self.costs + self.interest

    @property
    def online_lines(self) -> list[InvoiceLine]:
        """Open lines the debtor can pay online, so without invoices in a plan or handed over."""
        return [line for line in self.open_lines if not line.blocker]

    def charge_for(self, invoice_ids: set[int]) -> OnlineTotal:
        """Return what paying these invoices online costs, split into principal, interest and costs.

        Ids of invoices that cannot be paid online count for nothing. Each
        invoice brings its share of the collection costs (`InvoiceLine.costs`),
        and the ledger books that share when the payment closes the invoice
        (`betaalreis.dunning.charges.unpaid_charges`).
        """
        lines = [line for line in self.online_lines if line.invoice.pk in invoice_ids]
        return OnlineTotal(
            principal=sum((line.open_amount for line in lines), ZERO),
            interest=sum((line.interest for line in lines), ZERO),
            costs=sum((line.costs for line in lines), ZERO),
        )

    @property
    def costs_in_progress(self) -> Decimal:
        """Return the collection costs of the invoices with a payment in progress."""
        return sum((line.costs for line in self.open_lines if line.in_progress), ZERO)

    @property
    def handed_over_costs(self) -> Decimal:
        """Return the collection costs of the handed-over invoices, which the debtor pays to the collection agency."""
        return sum((line.costs for line in self.handed_over_lines), ZERO)

    @property
    def default_lines(self) -> list[InvoiceLine]:
        """Lines the portal ticks: payable now and preselected, so without disputed invoices."""
        return [line for line in self.payable_lines if line.preselected]

    @property
    def online_total(self) -> OnlineTotal:
        """Return what paying the ticked invoices costs, as the portal's total and the statement show it."""
        return self.charge_for({line.invoice.pk for line in self.default_lines})

    @property
    def disputed_lines(self) -> list[InvoiceLine]:
        """Lines the debtor can pay online but that are left out of the default total."""
        return [line for line in self.online_lines if not line.preselected]

    @property
    def disputed_interest(self) -> Decimal:
        """Return the statutory interest of the disputed lines, which a checkout charges when the debtor ticks them."""
        return sum((line.interest for line in self.disputed_lines), ZERO)

    @property
    def disputed_costs(self) -> Decimal:
        """Return the collection costs of the disputed lines, which a checkout charges when the debtor ticks them."""
        return sum((line.costs for line in self.disputed_lines), ZERO)

    @property
    def selectable_costs(self) -> Decimal:
        """Return the collection costs that the total includes when the debtor ticks every checkbox."""
        return self.charge_for({line.invoice.pk for line in self.payable_lines}).costs

    @property
    def plan_lines(self) -> list[InvoiceLine]:
        return [line for line in self.open_lines if line.invoice.status == InvoiceStatus.PAYMENT_PLAN]

    @property
    def handed_over_lines(self) -> list[InvoiceLine]:
        return [line for line in self.open_lines if line.invoice.status == InvoiceStatus.HANDED_OVER]

    @property
    def interest_paid(self) -> Decimal:
        return sum((line.interest_paid for line in self.open_lines), ZERO)

    @property
    def currency(self) -> str:
        return self.open_lines[0].invoice.currency if self.open_lines else "EUR"

    @property
    def payable_lines(self) -> list[InvoiceLine]:
        """Lines with a checkbox: payable online and without a payment in progress."""
        return [line for line in self.online_lines if not line.in_progress]

    @property
    def not_online_statuses(self) -> set[str]:
        """Return the blockers of the open lines that cannot be paid online, for the notes under the total."""
        return {line.blocker for line in self.open_lines if line.blocker}

    @property
    def arrangeable_lines(self) -> list[InvoiceLine]:
        """Open lines a promise or a new payment plan can cover: those still in dunning."""
        return [line for line in self.open_lines if line.invoice.status in DUNNABLE_STATUSES]

    @property
    def arrangement_blocker(self) -> str:
        """Return why no promise or new plan can be made, or "" when one can.

        One of `ARRANGEMENT_BLOCKERS`: the open invoices are all handed over
        for collection, in a payment plan, or disputed.
        """
        if self.arrangeable_lines or not self.open_lines:
            return ""
        return arrangement_blocker([line.invoice for line in self.open_lines])


# Reasons that block a promise or a new plan for a debtor with open invoices, checked in this order.
ARRANGEMENT_BLOCKERS = ("handed_over", "payment_plan", "disputed")


def arrangement_blocker(open_invoices: list[Invoice]) -> str:
    """Return why none of these open invoices can get a promise or plan, or "" when one can.

    Returns "handed_over", "payment_plan" or "disputed" for the first of
    these statuses that an invoice has, and "nothing_open" when no invoice is
    open at all.
    """
    open_invoices = [invoice for invoice in open_invoices if invoice.open_amount > ZERO]
    if not open_invoices:
        return "nothing_open"
    if any(invoice.status in DUNNABLE_STATUSES for invoice in open_invoices):
        return ""
    statuses = {invoice.status for invoice in open_invoices}
    return next((status for status in ARRANGEMENT_BLOCKERS if status in statuses), "nothing_open")


def load_accounts(debtor_ids: list[int], day: dt.date) -> list[Account]:
    """Load the accounts of these debtors with open and paid invoices, in a few queries."""
    from betaalreis.payments.online import online_payment_blocker, preselected_for_payment
    from betaalreis.payments.services import checkouts_in_progress, open_checkouts

    debtors = list(Debtor.objects.filter(pk__in=debtor_ids).select_related("creditor").order_by("pk"))
    accounts = {debtor.pk: Account(debtor=debtor) for debtor in debtors}
    busy: set[int] = set()
    for debtor_id, checkouts in checkouts_in_progress(debtor_ids).items():
        accounts[debtor_id].checkouts_in_progress = checkouts
        busy.update(*checkouts)
    for checkout in open_checkouts(debtor_ids):
        accounts[checkout.debtor_id].open_checkouts.append(checkout)
    for debtor_id, by_currency in debtor_credit(debtor_ids).items():
        accounts[debtor_id].credit = by_currency

    invoices = list(
        Invoice.objects.filter(debtor_id__in=debtor_ids, kind=InvoiceKind.INVOICE)
        .select_related("dunning_restart")
        .order_by("due_date", "number")
    )
    due_dates = dunning_due_dates(invoices)
    for invoice in invoices:
        account = accounts[invoice.debtor_id]
        if invoice.open_amount > ZERO and invoice.status not in (
            InvoiceStatus.CREDITED,
            InvoiceStatus.WRITTEN_OFF,
        ):
            account.open_lines.append(InvoiceLine(
                invoice=invoice, due_date=due_dates[invoice.pk], in_progress=invoice.pk in busy,
                blocker=online_payment_blocker(invoice), preselected=preselected_for_payment(invoice),
            ))
        elif invoice.status in (InvoiceStatus.PAID, InvoiceStatus.CREDITED):
            account.paid.append(invoice)

    credit_notes = (
        Invoice.objects.filter(debtor_id__in=debtor_ids, kind=InvoiceKind.CREDIT_NOTE)
        .exclude(status=InvoiceStatus.WRITTEN_OFF)
        .prefetch_related("credit_allocations__invoice")
        .order_by(F("issue_date").asc(nulls_last=True), "number")
    )
    for credit_note in credit_notes:
        applied_to = sorted({allocation.invoice.number for allocation in credit_note.credit_allocations.all()})
        accounts[credit_note.debtor_id].credit_notes.append(CreditNoteLine(credit_note, applied_to))

    for promise in Promise.objects.filter(
        debtor_id__in=debtor_ids, status=PromiseStatus.ACTIVE, promised_date__gte=day
    ):
        accounts[promise.debtor_id].promise = promise
    for dispute in Dispute.objects.filter(debtor_id__in=debtor_ids, status=DisputeStatus.OPEN):
        accounts[dispute.debtor_id].open_disputes[dispute.invoice_id] = dispute

    for account in accounts.values():
        add_claim_amounts(account, day)
    return list(accounts.values())


def add_claim_amounts(account: Account, day: dt.date) -> None:
    """Fill in the unpaid principal and interest per invoice and the collection costs from the claim.

    These are the amounts the messages state: one claim computation with
    payments imputed to costs, interest, then principal. The claim covers
    only the invoices that carry costs and interest
    (`betaalreis.dunning.charges.charged_invoice_ids`); the others show
    their open amount, as their reminders do. The costs are fixed once for
    the claim, and each invoice carries its share of them
    (`betaalreis.legal.cost_shares.invoice_costs`), as a message for that
    invoice states it.
    """
    if not any(line.due_date < day for line in account.open_lines):
        # Nothing is overdue, so neither interest nor collection costs can be owed.
        return

    charged = charged_invoice_ids(account.debtor.creditor_id, [line.invoice.pk for line in account.open_lines])
    if not charged:
        return

    claim = _cached_claim(account, day, charged)
    if claim is None:
        return

    by_number = {item.invoice_number: item for item in claim.items}
    shares = invoice_costs(claim)
    for line in account.open_lines:
        item = by_number.get(line.invoice.number)
        if item is not None:
            account.claim_invoice_ids.add(line.invoice.pk)
            line.principal = item.principal_outstanding
            line.interest = item.interest_outstanding
            line.interest_paid = item.interest_paid
            line.costs = shares[item.invoice_number].outstanding
    if claim.costs.status == CostsStatus.DUE:
        account.costs = sum((line.costs for line in account.open_lines), ZERO)
        account.costs_vat = claim.costs.vat
    elif claim.costs.status == CostsStatus.TERM_RUNNING and claim.costs.due_from is not None:
        account.term_end = claim.costs.due_from - dt.timedelta(days=1)
        account.costs_after_term = claim.costs.if_unpaid
        account.claim_currency = claim.currency
    account.costs_paid = claim.costs.paid
    account.interest = sum((line.interest for line in account.open_lines), ZERO)


# Seconds a computed claim is reused. The key changes with the day and with
# every change to an open invoice, so only a change of the creditor's legal
# settings can show late, by at most this long.
CLAIM_CACHE_SECONDS = 300


def _cached_claim(account: Account, day: dt.date, charged: set[int]) -> ClaimBreakdown | None:
    """Return the debtor's claim over the `charged` invoices on `day` from the cache, computing it when missing."""
    signature = ",".join(
        f"{line.invoice.pk}:{line.invoice.open_amount}:{line.invoice.updated_at.timestamp()}"
        for line in account.open_lines
        if line.invoice.pk in charged
    )
    key = "portal-claim:" + hashlib.sha256(f"{account.debtor.pk}|{day}|{signature}".encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached

    try:
        letters = _claim_letters(account, charged)
        claim = claim_for_debtor(
            account.debtor, day, fourteen_day_term_end=letters.term_end, invoice_ids=charged,
            letter_terms=letters.letter_terms, costs_paid_before=letters.costs_paid_before,
        )
    except InvalidInput:
        logger.warning("claim not computed", extra={"debtor_id": account.debtor.pk})
        return None
    if claim is not None:
        cache.set(key, claim, CLAIM_CACHE_SECONDS)
    return claim


def _claim_letters(account: Account, charged: set[int]) -> LetterCosts:
    """Return the 14-day letters behind the claim over the charged open invoices.

    The term end covers every charged open invoice. A consumer's claim also
    counts the invoices of the same letters that were paid after the term.
    """
    from betaalreis.legal.models import legal_settings_for

    creditor = account.debtor.creditor
    # An invoice in a payment plan is no claim item, so the letters count it as outside the claim.
    numbers = {
        line.invoice.pk: line.invoice.number
        for line in account.open_lines
        if line.invoice.pk in charged and line.invoice.status in CLAIM_STATUSES
    }
    return claim_letters(creditor, legal_settings_for(creditor), account.debtor, numbers)


def amount_to_charge(account: Account, invoice_ids: set[int]) -> Decimal:
    """Return what paying these open invoices online costs (`Account.charge_for`)."""
    return account.charge_for(invoice_ids).total


@transaction.atomic
def do_make_promise(
    debtor: Debtor, promised_date: dt.date, *, today: dt.date, channel: str = "portal"
) -> Promise:
    """Record a promise to pay the open invoices by `promised_date`; dunning pauses until then.

    Raises InvalidInput for a date in the past, beyond the creditor's maximum
    delay, or while another promise is still active.
    """
    limits = portal_settings_for(debtor.creditor_id)
    latest = today + dt.timedelta(days=limits.max_promise_days)
    if promised_date < today:
        raise InvalidInput(f"Promise date {promised_date} is in the past; choose {today} or later.",
                           code="promise_date_past")
    if promised_date > latest:
        raise InvalidInput(
            f"Promise date {promised_date} is later than {latest}, the latest date this creditor allows.",
            code="promise_date_too_late",
        )

    Debtor.objects.select_for_update().get(pk=debtor.pk)
    if Promise.objects.filter(debtor=debtor, status=PromiseStatus.ACTIVE, promised_date__gte=today).exists():
        raise InvalidInput("A promise to pay is already active for this account.", code="promise_exists")

    open_total = (
        Invoice.objects.filter(debtor=debtor, kind=InvoiceKind.INVOICE, status__in=DUNNABLE_STATUSES)
        .aggregate(total=Sum("open_amount"))["total"]
        or ZERO
    )
    if open_total <= ZERO:
        blocker = arrangement_blocker(
            list(Invoice.objects.filter(debtor=debtor, kind=InvoiceKind.INVOICE, open_amount__gt=0))
        )
        raise InvalidInput(
            f"No invoice of debtor {debtor.pk} is open for dunning ({blocker}), so there is nothing to promise.",
            code="nothing_open" if blocker == "nothing_open" else f"promise_{blocker}",
        )

    promise = Promise.objects.create(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        promised_date=promised_date,
        amount=open_total,
        channel=channel,
    )
    timeline.record(
        debtor,
        TimelineKind.NOTE,
        f"Betaalbelofte: {format_money(open_total)} uiterlijk {promised_date:%d-%m-%Y}; aanmanen gepauzeerd",
        source=channel,
        creditor_id=debtor.creditor_id,
        data={"promise_id": promise.pk, "promised_date": promised_date.isoformat(), "channel": channel},
    )
    return promise


@transaction.atomic
def settle_promises(creditor_id: int, day: dt.date, *, at: dt.datetime | None = None) -> tuple[int, int]:
    """Close the creditor's promises whose date passed before `day`; return (kept, broken).

    A promise is kept when none of the debtor's invoices is still open for
    dunning. `at` dates the timeline events (default now), so a run for a past
    day can date them on that day.
    """
    due = list(
        Promise.objects.select_for_update().filter(
            creditor_id=creditor_id, status=PromiseStatus.ACTIVE, promised_date__lt=day
        )
    )
    still_open = set(
        Invoice.objects.filter(
            creditor_id=creditor_id,
            debtor_id__in=[promise.debtor_id for promise in due],
            kind=InvoiceKind.INVOICE,
            status__in=DUNNABLE_STATUSES,
            open_amount__gt=0,
        ).values_list("debtor_id", flat=True)
    )

    kept = broken = 0
    for promise in due:
        if promise.debtor_id in still_open:
            promise.status = PromiseStatus.BROKEN
            broken += 1
            summary = f"Betaalbelofte van {promise.promised_date:%d-%m-%Y} niet nagekomen; aanmanen hervat"
        else:
            promise.status = PromiseStatus.KEPT
            kept += 1
            summary = f"Betaalbelofte van {promise.promised_date:%d-%m-%Y} nagekomen"
        promise.save(update_fields=["status"])
        timeline.record(
            promise.debtor_id, TimelineKind.NOTE, summary, source="promise check",
            creditor_id=creditor_id, data={"promise_id": promise.pk, "status": promise.status}, at=at,
        )
    return kept, broken


def attachment_type(head: bytes) -> str | None:
    """Return the content type of an accepted attachment from its first 8 bytes, or None for any other file."""
    return next((kind for kind, magic in _ATTACHMENT_MAGIC.items() if head.startswith(magic)), None)


def check_attachment(upload: UploadedFile) -> None:
    """Raise InvalidInput unless the upload is a PDF, PNG or JPEG of at most 5 MB."""
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"Attachment {upload.name!r} is {upload.size // 1024} KB; the maximum is 5 MB.",
            code="attachment_too_large",
        )

    head = upload.read(8)
    upload.seek(0)
    if attachment_type(head) is not None:
        return
    raise InvalidInput(
        f"Attachment {upload.name!r} is not a PDF, PNG or JPEG file; attach one of those.",
        code="attachment_type",
    )


@transaction.atomic
def do_open_dispute(
    debtor: Debtor,
    invoice: Invoice,
    *,
    reason: str,
    message: str,
    attachment: UploadedFile | None = None,
    channel: str = "portal",
) -> Dispute:
    """Record a dispute or question about one invoice; the invoice leaves dunning until resolved."""
    if invoice.debtor_id != debtor.pk or invoice.creditor_id != debtor.creditor_id:
        raise InvalidInput(f"Invoice {invoice.pk} is not an invoice of debtor {debtor.pk}.", code="invoice_not_found")
    if reason not in DisputeReason.values:
        raise InvalidInput(f"Unknown dispute reason {reason!r}; use one of {DisputeReason.values}.")
    if not message.strip():
        raise InvalidInput("Describe the dispute or question in the message field.", code="message_missing")
    if Dispute.objects.filter(invoice=invoice, status=DisputeStatus.OPEN).exists():
        raise InvalidInput(f"Invoice {invoice.number} already has an open dispute.", code="dispute_exists")
    if attachment is not None:
        check_attachment(attachment)

    dispute = Dispute(
        creditor_id=debtor.creditor_id,
        debtor=debtor,
        invoice=invoice,
        reason=reason,
        message=message.strip(),
        previous_invoice_status=invoice.status,
    )
    if attachment is not None:
        extension = ATTACHMENT_TYPES.get(attachment.content_type or "", "")
        dispute.attachment.save(f"invoice-{invoice.pk}{extension}", attachment, save=False)
    dispute.save()

    if invoice.status in DUNNABLE_STATUSES:
        do_set_invoice_status(invoice, InvoiceStatus.DISPUTED, source=channel, reason=f"dispute {dispute.pk}")
    timeline.record(
        debtor,
        TimelineKind.NOTE,
        f"Geschil over factuur {invoice.number}: {timeline.stored_label(DisputeReason(reason))}",
        source=channel,
        creditor_id=debtor.creditor_id,
        invoice=invoice,
        data={"dispute_id": dispute.pk, "reason": reason, "channel": channel,
              "attachment": bool(dispute.attachment)},
    )
    return dispute


@transaction.atomic
def do_resolve_dispute(
    dispute: Dispute, *, resolution: str, invoice_status: str | None = None, source: str
) -> Dispute:
    """Close a dispute; the invoice returns to its earlier status, or to `invoice_status`."""
    dispute = Dispute.objects.select_for_update().select_related("invoice").get(pk=dispute.pk)
    if dispute.status == DisputeStatus.RESOLVED:
        return dispute

    dispute.status = DisputeStatus.RESOLVED
    dispute.resolution = resolution
    dispute.resolved_at = timezone.now()
    dispute.save(update_fields=["status", "resolution", "resolved_at"])

    target = invoice_status or dispute.previous_invoice_status
    if dispute.invoice.status == InvoiceStatus.DISPUTED:
        do_set_invoice_status(dispute.invoice, target, source=source, reason=f"dispute {dispute.pk} resolved")
    timeline.record(
        dispute.debtor_id,
        TimelineKind.NOTE,
        f"Geschil over factuur {dispute.invoice.number} afgehandeld",
        source=source,
        creditor_id=dispute.creditor_id,
        invoice=dispute.invoice,
        data={"dispute_id": dispute.pk, "invoice_status": target},
    )
    return dispute


@dataclass(frozen=True, slots=True)
class Preferences:
    """Contact preferences a debtor can change in the portal."""

    email: str
    mobile: str
    language: str
    preferred_channel: str
    opted_out_channels: tuple[str, ...]


def mask_contact(value: str) -> str:
    """Shorten an email address or phone number for the timeline and for screens."""
    if not value:
        return ""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    return f"{value[:3]}****{value[-2:]}"


def normalize_mobile(raw: str, country: str) -> str:
    """Convert a mobile number as a debtor types it (06 12345678, +31 6 1234 5678) to E.164.

    A national number is read in the debtor's `country` (NL when empty), as
    the import reads it. Raises InvalidInput with code invalid_mobile for
    text that is not a valid phone number, and not_mobile for a valid number
    that is not a mobile number, such as a landline.
    """
    try:
        number = normalize_phone(raw.strip(), country or "NL")
    except ValueError:
        raise InvalidInput(
            f"{raw!r} is not a valid phone number; write it as 06 12345678 or +31612345678.",
            code="invalid_mobile",
        ) from None
    if not is_mobile(number):
        raise InvalidInput(
            f"{raw!r} is not a mobile number, so SMS and WhatsApp cannot reach it; enter a mobile number.",
            code="not_mobile",
        )
    return number


@transaction.atomic
def do_update_preferences(debtor: Debtor, new: Preferences, *, channel: str = "portal") -> list[str]:
    """Save changed contact preferences and return the names of the changed fields."""
    if new.language not in Language.values:
        raise InvalidInput(f"Unknown language {new.language!r}; use one of {Language.values}.")
    if new.preferred_channel and new.preferred_channel not in Channel.values:
        raise InvalidInput(f"Unknown channel {new.preferred_channel!r}; use one of {Channel.values}.")
    unknown = set(new.opted_out_channels) - set(Channel.values)
    if unknown:
        raise InvalidInput(f"Unknown channels {sorted(unknown)}; use some of {Channel.values}.")
    if new.preferred_channel and new.preferred_channel in new.opted_out_channels:
        raise InvalidInput(
            f"Preferred channel {new.preferred_channel!r} is also opted out. Choose another channel or no preference."
        )
    mobile = normalize_mobile(new.mobile, debtor.country) if new.mobile.strip() else ""

    debtor = Debtor.objects.select_for_update().get(pk=debtor.pk)
    current = Preferences(
        email=debtor.email,
        mobile=debtor.mobile,
        language=debtor.language,
        preferred_channel=debtor.preferred_channel,
        opted_out_channels=tuple(sorted(debtor.opted_out_channels)),
    )
    wanted = Preferences(
        email=new.email.strip(),
        mobile=mobile,
        language=new.language,
        preferred_channel=new.preferred_channel,
        opted_out_channels=tuple(sorted(set(new.opted_out_channels))),
    )
    changed = [name for name in Preferences.__dataclass_fields__ if getattr(current, name) != getattr(wanted, name)]
    if not changed:
        return []

    debtor.email = wanted.email
    debtor.mobile = wanted.mobile
    debtor.language = wanted.language
    debtor.preferred_channel = wanted.preferred_channel
    debtor.opted_out_channels = list(wanted.opted_out_channels)
    debtor.save(update_fields=["email", "mobile", "language", "preferred_channel", "opted_out_channels", "updated_at"])

    shown = {
        "email": (mask_contact(current.email), mask_contact(wanted.email)),
        "mobile": (mask_contact(current.mobile), mask_contact(wanted.mobile)),
        "language": (current.language, wanted.language),
        "preferred_channel": (current.preferred_channel, wanted.preferred_channel),
        "opted_out_channels": (list(current.opted_out_channels), list(wanted.opted_out_channels)),
    }
    timeline.record(
        debtor,
        TimelineKind.PREFERENCE,
        "Contactvoorkeuren gewijzigd: " + "; ".join(
            f"{_PREFERENCE_LABELS[name]} {_shown_value(shown[name][0])} → {_shown_value(shown[name][1])}" for name in changed
        ),
        source=channel,
        creditor_id=debtor.creditor_id,
        data={"channel": channel, "changes": {name: shown[name] for name in changed}},
    )
    if opted_out_of_every_channel(wanted.opted_out_channels) and not opted_out_of_every_channel(current.opted_out_channels):
        timeline.record(
            debtor,
            TimelineKind.PREFERENCE,
            "Let op: afgemeld voor alle kanalen. Aanmaningen gaan alleen nog per brief; "
            "neem zo nodig contact op over de openstaande facturen.",
            source=channel,
            creditor_id=debtor.creditor_id,
            data={"channel": channel, "opted_out_of_every_channel": True},
        )
    return changed


# Dutch field names for the timeline line of a preference change.
_PREFERENCE_LABELS = {
    "email": "e-mailadres",
    "mobile": "mobiel nummer",
    "language": "taal",
    "preferred_channel": "voorkeurskanaal",
    "opted_out_channels": "afgemelde kanalen",
}


def _shown_value(value: str | list[str]) -> str:
    """Return a preference value for the timeline, with "(leeg)" for an empty one."""
    text = ", ".join(value) if isinstance(value, list) else value
    return text or "(leeg)"
