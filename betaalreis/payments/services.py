"""Online payments: start a checkout, apply what the provider reports.

A paid checkout becomes a ledger `Payment` (source psp) allocated to the
checkout's invoices. A refund or chargeback reverses that ledger payment and
reopens the invoices. After a partial refund or chargeback, what the debtor
still paid is booked again as a new ledger payment on the same invoices.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from betaalreis.dunning.bulk import values_subquery
from betaalreis.errors import BetaalreisError, ConfigurationError, InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import do_allocate_payment, do_reverse_payment
from betaalreis.ledger.models import (
    ZERO,
    Debtor,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    TimelineKind,
)
from betaalreis.ledger.money import format_money
from betaalreis.payments.models import (
    FINAL_STATUSES,
    CheckoutPayment,
    CheckoutStatus,
    PaymentPlan,
    WebhookEvent,
    WebhookOutcome,
)
from betaalreis.payments.online import (
    SETTLED,
    check_payable_online,
    online_payment_blocker,
    preselected_for_payment,
)
from betaalreis.payments.providers.base import (
    CheckoutRequest,
    PaymentUpdate,
    ProviderError,
    WebhookRejected,
    get_provider,
)

logger = logging.getLogger(__name__)

# Checkouts in these statuses may still turn into money, so their invoices
# cannot be paid again until the provider reports the outcome.
IN_PROGRESS_STATUSES = (CheckoutStatus.PENDING, CheckoutStatus.AUTHORIZED)

# Checkouts whose payment page the debtor can still pay on. While one is
# open, no other checkout may cover its invoices, or the debtor could pay
# both and the second payment would become credit.
OPEN_STATUSES = (CheckoutStatus.CREATED, CheckoutStatus.OPEN)

# How long an open checkout blocks new checkouts for its invoices. Providers
# report an expired payment by webhook (Stripe Checkout Sessions expire after
# 24 hours by default, Mollie payments sooner), which ends the block earlier.
# NOTE: only superseded checkouts are canceled at the provider, so a page
# older than this that the provider never reported expired can still be
# paid next to a newer one. That money becomes credit.
OPEN_CHECKOUT_BLOCKS_FOR = dt.timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class CheckoutUrls:
    """Addresses the provider sends the debtor and its webhook calls to."""

    return_url: str
    cancel_url: str
    webhook_url: str


def invoices_in_progress(debtor_ids: Sequence[int]) -> set[int]:
    """Return ids of invoices with a checkout that the provider has not settled yet."""
    return {
        invoice_id
        for checkouts in checkouts_in_progress(debtor_ids).values()
        for invoice_ids in checkouts
        for invoice_id in invoice_ids
    }


def checkouts_in_progress(debtor_ids: Sequence[int]) -> dict[int, list[frozenset[int]]]:
    """Return, per debtor, the invoice ids of each checkout that the provider has not settled yet."""
    rows = CheckoutPayment.invoices.through.objects.filter(
        checkoutpayment__debtor_id__in=debtor_ids,
        checkoutpayment__status__in=IN_PROGRESS_STATUSES,
    ).values_list("checkoutpayment__debtor_id", "checkoutpayment_id", "invoice_id")
    by_checkout: dict[tuple[int, int], set[int]] = {}
    for debtor_id, checkout_id, invoice_id in rows:
        by_checkout.setdefault((debtor_id, checkout_id), set()).add(invoice_id)

    by_debtor: dict[int, list[frozenset[int]]] = {}
    for (debtor_id, _checkout_id), invoice_ids in sorted(by_checkout.items()):
        by_debtor.setdefault(debtor_id, []).append(frozenset(invoice_ids))
    return by_debtor


def payable_invoices(debtor: Debtor, invoice_ids: Sequence[int]) -> list[Invoice]:
    """Return the debtor's invoices with these ids that can be paid now, oldest first.

    Raises InvalidInput when an id is not an invoice of this debtor or has a
    payment in progress, and NotPayableOnline when the debtor cannot pay one
    of them online (see `betaalreis.payments.online`).
    """
    invoices = list(
        Invoice.objects.filter(
            creditor_id=debtor.creditor_id, debtor=debtor, pk__in=invoice_ids, kind=InvoiceKind.INVOICE
        ).order_by("due_date", "number")
    )
    if not invoices or len(invoices) != len(set(invoice_ids)):
        raise InvalidInput("Choose one or more of your own open invoices.", code="invoice_not_found")

    check_payable_online(invoices)

    busy = invoices_in_progress([debtor.pk]) & {inv.pk for inv in invoices}
    if busy:
        numbers = [inv.number for inv in invoices if inv.pk in busy]
        raise InvalidInput(
            f"A payment for invoices {numbers} is still being processed.", code="payment_in_progress"
        )

    currencies = {inv.currency for inv in invoices}
    if len(currencies) != 1:
        raise InvalidInput(f"Pay invoices in {sorted(currencies)} separately, one currency at a time.")
    return invoices


def open_checkouts(debtor_ids: Sequence[int]) -> list[CheckoutPayment]:
    """Return the debtors' checkouts that can still be paid on the provider's page, newest first."""
    return list(
        CheckoutPayment.objects.filter(
            debtor_id__in=debtor_ids,
            status__in=OPEN_STATUSES,
            created_at__gte=timezone.now() - OPEN_CHECKOUT_BLOCKS_FOR,
        )
        .exclude(checkout_url="")
        .order_by("-created_at", "-pk")
        .prefetch_related("invoices")
    )


def blocking_checkout(debtor: Debtor, invoices: Sequence[Invoice]) -> CheckoutPayment | None:
    """Return the debtor's newest open checkout that covers any of `invoices`, or None."""
    wanted = {invoice.pk for invoice in invoices}
    for checkout in open_checkouts([debtor.pk]):
        if wanted & {invoice.pk for invoice in checkout.invoices.all()}:
            return checkout
    return None


@transaction.atomic
def supersede_settled_checkouts(debtor_ids: Sequence[int], *, source: str) -> list[CheckoutPayment]:
    """Close the debtors' open checkouts that cover an invoice no longer payable, and return them.

    Such a checkout would charge again for an invoice that was paid (or
    credited) another way. It gets status superseded and a timeline row.
    After the commit the provider is asked to cancel it
    (`cancel_at_provider`). Where the provider refuses, or the payer paid
    first, `apply_update` still books the money the provider reports.
    """
    closed = []
    for checkout in CheckoutPayment.objects.select_for_update().filter(
        debtor_id__in=debtor_ids, status__in=OPEN_STATUSES
    ).order_by("pk"):
        settled = [
            invoice.number
            for invoice in checkout.invoices.order_by("due_date", "number")
            if online_payment_blocker(invoice, plan=checkout.plan) in SETTLED
        ]
        if not settled:
            continue
        checkout.status = CheckoutStatus.SUPERSEDED
        checkout.save(update_fields=["status", "updated_at"])
        timeline.record(
            checkout.debtor_id,
            TimelineKind.PAYMENT,
            f"Online betaling van {format_money(checkout.amount, checkout.currency)} vervallen, "
            f"want factuur {', '.join(settled)} is al betaald",
            source=source,
            creditor_id=checkout.creditor_id,
            data={"checkout_id": checkout.pk, "provider_id": checkout.provider_id, "settled": settled},
        )
        closed.append(checkout)
    if closed:
        logger.info("open checkouts superseded", extra={"checkouts": [checkout.pk for checkout in closed]})
        checkout_ids = [checkout.pk for checkout in closed]
        transaction.on_commit(lambda: cancel_at_provider(checkout_ids))
    return closed


# Invoice statuses that end an open checkout covering the invoice, with
# the Dutch words that the checkout's timeline row gives as the reason.
LEFT_ONLINE_PAYMENT = {
    InvoiceStatus.HANDED_OVER: "uit handen gegeven",
    InvoiceStatus.PAYMENT_PLAN: "opgenomen in een betalingsregeling",
    InvoiceStatus.DISPUTED: "betwist",
}


@transaction.atomic
def supersede_checkouts_of_invoices(invoice_ids: Sequence[int], *, source: str) -> list[CheckoutPayment]:
    """Close the open checkouts that cover one of these invoices after it left online payment, and return them.

    Call it after the invoices were handed over, put in a payment plan or
    disputed. A checkout ends when one of these invoices now has a blocker
    for it (`online_payment_blocker` with the checkout's plan) or is
    disputed, so the instalment checkout of a plan stays open for that
    plan's invoices. Each closed checkout gets status superseded and a
    timeline row, and after the commit the provider is asked to cancel it
    (`cancel_at_provider`). Money that the provider still reports for it is
    booked on its invoices by `apply_update`.
    """
    if not invoice_ids:
        return []

    covering = CheckoutPayment.invoices.through.objects.filter(
        invoice_id__in=values_subquery(list(invoice_ids), array_type="bigint")
    ).values("checkoutpayment_id")
    checkouts = CheckoutPayment.objects.select_for_update().filter(pk__in=covering, status__in=OPEN_STATUSES)
    changed = set(invoice_ids)
    closed = []
    for checkout in checkouts.order_by("pk"):
        left = [
            invoice
            for invoice in checkout.invoices.order_by("due_date", "number")
            if invoice.pk in changed and invoice.status in LEFT_ONLINE_PAYMENT
            and (online_payment_blocker(invoice, plan=checkout.plan) or not preselected_for_payment(invoice))
        ]
        if not left:
            continue
        checkout.status = CheckoutStatus.SUPERSEDED
        checkout.save(update_fields=["status", "updated_at"])
        for status in sorted({invoice.status for invoice in left}):
            numbers = [invoice.number for invoice in left if invoice.status == status]
            timeline.record(
                checkout.debtor_id,
                TimelineKind.PAYMENT,
                f"Online betaling van {format_money(checkout.amount, checkout.currency)} vervallen, "
                f"want factuur {', '.join(numbers)} is {LEFT_ONLINE_PAYMENT[status]}",
                source=source,
                creditor_id=checkout.creditor_id,
                data={"checkout_id": checkout.pk, "provider_id": checkout.provider_id, "invoices": numbers,
                      "invoice_status": status},
            )
        closed.append(checkout)

    if closed:
        checkout_ids = [checkout.pk for checkout in closed]
        logger.info("open checkouts superseded by invoice status", extra={"checkouts": checkout_ids})
        transaction.on_commit(lambda: cancel_at_provider(checkout_ids))
    return closed


def cancel_at_provider(checkout_ids: Sequence[int]) -> dict[int, bool]:
    """Ask the provider to cancel each superseded checkout; return whether it did, by checkout id.

    A refusal or a failed call changes nothing here: the checkout stays
    superseded and money the provider reports for it is still booked, as
    credit when its invoices need nothing more. Each outcome is logged and
    gets a timeline row, because the credit manager may see that money.
    """
    outcomes: dict[int, bool] = {}
    checkouts = CheckoutPayment.objects.filter(pk__in=checkout_ids, status=CheckoutStatus.SUPERSEDED).exclude(
        provider_id=""
    )
    for checkout in checkouts.order_by("pk"):
        error = ""
        # This runs after the commit, so an error here would fail a request whose changes are already
        # saved. A provider that is no longer configured (ConfigurationError) counts as a refusal too.
        try:
            canceled = get_provider(checkout.provider).cancel_checkout(checkout.provider_id)
        except BetaalreisError as exc:
            canceled, error = False, str(exc)
        outcomes[checkout.pk] = canceled

        log_fields = {"checkout_id": checkout.pk, "provider": checkout.provider, "provider_id": checkout.provider_id}
        if canceled:
            logger.info("superseded checkout canceled at provider", extra=log_fields)
            summary = f"Vervallen online betaling van {format_money(checkout.amount, checkout.currency)} ook bij {checkout.provider} geannuleerd"
        else:
            logger.warning("provider did not cancel superseded checkout", extra={**log_fields, "error": error[:200]})
            summary = (
                f"{checkout.provider} annuleerde de vervallen online betaling van "
                f"{format_money(checkout.amount, checkout.currency)} niet; wordt die toch betaald, dan wordt het tegoed"
            )
        timeline.record(
            checkout.debtor_id,
            TimelineKind.PAYMENT,
            summary,
            source=f"provider:{checkout.provider}",
            creditor_id=checkout.creditor_id,
            data={"checkout_id": checkout.pk, "provider_id": checkout.provider_id, "canceled": canceled,
                  "error": error[:300]},
        )
    return outcomes


def supersede_settled_checkouts_of_creditor(creditor_id: int, *, source: str) -> list[CheckoutPayment]:
    """Run `supersede_settled_checkouts` for every debtor of the creditor with an open checkout."""
    debtor_ids = (
        CheckoutPayment.objects.filter(creditor_id=creditor_id, status__in=OPEN_STATUSES)
        .values_list("debtor_id", flat=True)
        .distinct()
    )
    return supersede_settled_checkouts(list(debtor_ids), source=source)


# How long an open checkout is offered again for the same invoices and
# amount. NOTE: providers expire unpaid checkouts on their own schedules,
# which this guess does not check, so an expired one may still be offered.
REUSE_CHECKOUT_WINDOW = dt.timedelta(minutes=10)


def reusable_checkout(
    debtor: Debtor, invoices: Sequence[Invoice], amount: Decimal, *, plan: PaymentPlan | None = None
) -> CheckoutPayment | None:
    """Return the debtor's recent open checkout for exactly these invoices, amount and plan, or None.

    A debtor who starts paying twice, for example in two browser tabs, is
    sent to the checkout that is already open, so one payment is made.
    """
    invoice_ids = {invoice.pk for invoice in invoices}
    candidates = (
        CheckoutPayment.objects.filter(
            creditor_id=debtor.creditor_id,
            debtor=debtor,
            status__in=OPEN_STATUSES,
            plan=plan,
            amount=amount,
            created_at__gte=timezone.now() - REUSE_CHECKOUT_WINDOW,
            invoices__in=invoice_ids,
        )
        .exclude(checkout_url="")
        .distinct()
        .order_by("-created_at", "-pk")
        .prefetch_related("invoices")
    )
    for checkout in candidates:
        if {invoice.pk for invoice in checkout.invoices.all()} == invoice_ids:
            return checkout
    return None


def start_checkout(
    debtor: Debtor,
    invoices: Sequence[Invoice],
    *,
    urls_for: Callable[[CheckoutPayment], CheckoutUrls],
    language: str,
    amount: Decimal | None = None,
    plan: PaymentPlan | None = None,
    provider_name: str | None = None,
    channel: str = "portal",
) -> CheckoutPayment:
    """Create a checkout at the provider for `invoices` and return it, with its checkout_url.

    `amount` defaults to the sum of the open amounts. `urls_for(checkout)`
    returns the `CheckoutUrls` for a saved checkout. Raises InvalidInput
    (code checkout_open) while another open checkout covers one of the
    invoices (see `blocking_checkout`), and NotPayableOnline for an invoice
    the debtor cannot pay online; `plan` allows the invoices of that active
    plan. Nothing is created then. Raises ProviderError when the
    provider rejects or cannot be reached; the checkout is then stored as
    failed.
    """
    check_payable_online(invoices, plan=plan)
    total = sum((inv.open_amount for inv in invoices), ZERO) if amount is None else amount
    if total <= ZERO:
        raise InvalidInput(f"Nothing to pay: amount {total}.", code="nothing_to_pay")

    provider = get_provider(provider_name)
    currency = invoices[0].currency
    numbers = ", ".join(inv.number for inv in invoices)
    creditor = debtor.creditor
    description = f"{creditor.display_name} factuur {numbers}"[:255]

    with transaction.atomic():
        # The lock on the debtor makes a second request, say from another
        # browser tab, wait here and then see the checkout this one creates.
        Debtor.objects.select_for_update().filter(pk=debtor.pk).first()
        supersede_settled_checkouts([debtor.pk], source=f"{channel}:{provider.name}")
        blocking = blocking_checkout(debtor, invoices)
        if blocking is not None:
            covered = {invoice.pk for invoice in blocking.invoices.all()}
            numbers_open = [inv.number for inv in invoices if inv.pk in covered]
            raise InvalidInput(
                f"Checkout {blocking.pk} for invoices {numbers_open} is still open; "
                "pay or cancel it first, or choose other invoices.",
                code="checkout_open",
            )
        checkout = CheckoutPayment.objects.create(
            creditor_id=debtor.creditor_id,
            debtor=debtor,
            provider=provider.name,
            amount=total,
            currency=currency,
            description=description,
            plan=plan,
        )
        checkout.invoices.set(invoices)
        timeline.record(
            debtor,
            TimelineKind.PAYMENT,
            f"Online betaling gestart: {format_money(total, currency)} voor factuur {numbers}",
            source=f"{channel}:{provider.name}",
            creditor_id=debtor.creditor_id,
            data={"checkout_id": checkout.pk, "channel": channel, "invoices": [inv.pk for inv in invoices]},
        )

    urls = urls_for(checkout)
    request = CheckoutRequest(
        reference=f"br-{checkout.pk}-{checkout.public_token[:8]}",
        amount=total,
        currency=currency,
        description=description,
        return_url=urls.return_url,
        cancel_url=urls.cancel_url,
        webhook_url=urls.webhook_url,
        locale=language,
        metadata={"checkout": str(checkout.pk), "creditor": creditor.slug},
    )
    try:
        created = provider.create_checkout(request)
    except ProviderError:
        CheckoutPayment.objects.filter(pk=checkout.pk).update(status=CheckoutStatus.FAILED)
        logger.warning("checkout creation failed", extra={"checkout_id": checkout.pk, "provider": provider.name})
        raise

    checkout.provider_id = created.provider_id
    checkout.checkout_url = created.checkout_url
    checkout.status = created.status
    checkout.save(update_fields=["provider_id", "checkout_url", "status", "updated_at"])
    logger.info("checkout created", extra={"checkout_id": checkout.pk, "provider": provider.name})
    return checkout


def handle_webhook(provider_name: str, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
    """Authenticate and apply one webhook call; return the stored event with its outcome.

    Raises WebhookRejected for a call that is not authentic (after storing it
    as rejected), ConfigurationError when the provider is not configured here
    (after storing the call as failed), and ProviderError when the provider
    could not be asked.
    """
    text = body.decode("utf-8", errors="replace")
    event = WebhookEvent(
        provider=provider_name,
        body=text[:_KEPT_BODY_CHARS],
        headers={key: value for key, value in headers.items() if key.lower() in _KEPT_HEADERS},
        outcome=WebhookOutcome.IGNORED,
    )

    try:
        provider = get_provider(provider_name)
        updates = provider.parse_webhook(body, headers)
    except ConfigurationError as exc:
        # The adapter or its webhook secret is not configured, so the call
        # cannot be checked. Keep only its start, for a replay once the
        # provider is configured.
        _keep_start_of_unchecked_body(event, text, str(exc))
        event.outcome = WebhookOutcome.FAILED
        event.save()
        logger.warning(
            "webhook for unconfigured provider", extra={"provider": provider_name, "webhook_event_id": event.pk}
        )
        raise
    except WebhookRejected as exc:
        event.outcome = WebhookOutcome.REJECTED
        _keep_start_of_unchecked_body(event, text, str(exc))
        event.save()
        logger.warning("webhook rejected", extra={"provider": provider_name, "webhook_event_id": event.pk})
        raise
    except ProviderError as exc:
        event.outcome = WebhookOutcome.FAILED
        event.detail = str(exc)[:500]
        event.save()
        raise

    try:
        for update in updates:
            checkout = apply_update(provider.name, update)
            if checkout is not None:
                event.checkout = checkout
                event.outcome = WebhookOutcome.APPLIED
    except WebhookRejected as exc:
        event.outcome = WebhookOutcome.REJECTED
        event.detail = str(exc)[:500]
        event.save()
        logger.warning("webhook update rejected", extra={"provider": provider.name, "webhook_event_id": event.pk})
        raise
    if updates and event.checkout is None:
        event.detail = "No checkout matches the payment in this event."
    event.save()
    return event


_KEPT_HEADERS = frozenset({"content-type", "user-agent", "stripe-signature", "x-betaalreis-signature"})
# Characters of a body kept for an authentic call, and for a call that is
# not authentic or could not be checked. Anyone can send the latter, so
# each stores little.
_KEPT_BODY_CHARS = 100_000
_UNCHECKED_BODY_CHARS = 2_000


def _keep_start_of_unchecked_body(event: WebhookEvent, text: str, reason: str) -> None:
    """Cut the stored body of an unchecked call to its start, and note the cut in the event's detail."""
    event.body = text[:_UNCHECKED_BODY_CHARS]
    if len(text) > _UNCHECKED_BODY_CHARS:
        reason = f"{reason} Only the first {_UNCHECKED_BODY_CHARS:,} of {len(text):,} characters are kept."
    event.detail = reason[:500]


def _find_checkout(provider_name: str, update: PaymentUpdate) -> CheckoutPayment | None:
    conditions = []
    if update.provider_id:
        conditions.append(Q(provider_id=update.provider_id))
    if update.secondary_id:
        conditions.append(Q(provider_secondary_id=update.secondary_id))
    if not conditions:
        return None

    query = conditions[0]
    for condition in conditions[1:]:
        query |= condition
    return (
        CheckoutPayment.objects.select_for_update()
        .filter(query, provider=provider_name)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def apply_update(provider_name: str, update: PaymentUpdate) -> CheckoutPayment | None:
    """Move a checkout to the reported state and book the money; safe to repeat.

    Returns None when no checkout matches (an event for a payment that
    Betaalreis did not start).
    """
    checkout = _find_checkout(provider_name, update)
    if checkout is None:
        logger.info("webhook for unknown payment", extra={"provider": provider_name})
        return None

    if update.secondary_id and not checkout.provider_secondary_id:
        checkout.provider_secondary_id = update.secondary_id
    if update.method:
        checkout.method = update.method[:40]
    if update.currency and update.currency != checkout.currency:
        raise WebhookRejected(
            f"Checkout {checkout.pk} is in {checkout.currency} but the provider reports {update.currency}."
        )

    previous = checkout.status
    # A superseded checkout is not final: the provider may have refused to
    # cancel it, or the payer paid first, so its report, even paid, is what
    # happened to the money.
    if update.status and previous not in FINAL_STATUSES:
        checkout.status = update.status
    checkout.save()

    if checkout.status == CheckoutStatus.PAID and previous != CheckoutStatus.PAID:
        _book_paid(checkout, update.amount or checkout.amount)
    elif checkout.status != previous and checkout.status in FINAL_STATUSES:
        timeline.record(
            checkout.debtor_id,
            TimelineKind.PAYMENT,
            f"Online betaling {timeline.stored_label(CheckoutStatus(checkout.status)).lower()}: "
            f"{format_money(checkout.amount, checkout.currency)}",
            source=f"provider:{provider_name}",
            creditor_id=checkout.creditor_id,
            data={"checkout_id": checkout.pk, "provider_id": checkout.provider_id, "status": checkout.status},
        )

    _apply_reversals(checkout, update)
    return checkout


def _book_paid(checkout: CheckoutPayment, amount: Decimal) -> None:
    """Create the ledger payment for a paid checkout and allocate it to its invoices."""
    now = timezone.now()
    checkout.paid_at = now
    payment, created = Payment.objects.get_or_create(
        creditor_id=checkout.creditor_id,
        source=PaymentSource.PSP,
        external_id=f"{checkout.provider}:{checkout.provider_id}",
        defaults={
            "debtor_id": checkout.debtor_id,
            "booking_date": timezone.localdate(now),
            "value_date": timezone.localdate(now),
            "amount": amount,
            "currency": checkout.currency,
            "payer_name": checkout.debtor.name[:200],
            "remittance_info": checkout.description,
        },
    )
    checkout.ledger_payment = payment
    checkout.save(update_fields=["paid_at", "ledger_payment", "updated_at"])

    if created:
        invoices = list(checkout.invoices.order_by("due_date", "number"))
        handed_over = [invoice for invoice in invoices if invoice.status == InvoiceStatus.HANDED_OVER]
        allocations = do_allocate_payment(
            payment,
            invoices,
            source=f"provider:{checkout.provider}",
            reason=f"online payment {checkout.provider_id}",
            excess_summary=(
                "Online betaling: {amount} meer betaald dan de vordering op de open facturen "
                "(hoofdsom, rente en incassokosten), geboekt als tegoed van de debiteur"
            ),
        )
        if not allocations:
            _book_as_credit(checkout, payment)
        if handed_over:
            _note_paid_after_handover(checkout, payment, handed_over)
        supersede_settled_checkouts([checkout.debtor_id], source=f"provider:{checkout.provider}")
    logger.info("checkout paid", extra={"checkout_id": checkout.pk, "payment_id": payment.pk})


def _book_as_credit(checkout: CheckoutPayment, payment: Payment) -> None:
    """Keep a checkout payment whose invoices were already paid as a credit of the debtor.

    Without this the payment would stay new, and the bank matcher would put
    it in review as if its payer were unknown.
    """
    numbers = ", ".join(checkout.invoices.order_by("due_date", "number").values_list("number", flat=True))
    Payment.objects.filter(pk=payment.pk).update(
        status=PaymentStatus.MATCHED,
        match_reason=f"online payment {checkout.provider_id} for invoices already paid: credit",
    )
    timeline.record(
        checkout.debtor_id,
        TimelineKind.PAYMENT,
        f"Online betaling van {format_money(payment.amount, payment.currency)} voor factuur {numbers}, "
        "die al betaald was: het bedrag staat als tegoed open",
        source=f"provider:{checkout.provider}",
        creditor_id=checkout.creditor_id,
        data={"checkout_id": checkout.pk, "payment_id": payment.pk, "credit": str(payment.amount)},
    )
    logger.warning(
        "checkout paid for settled invoices",
        extra={"checkout_id": checkout.pk, "payment_id": payment.pk, "debtor_id": checkout.debtor_id},
    )


def _note_paid_after_handover(checkout: CheckoutPayment, payment: Payment, handed_over: Sequence[Invoice]) -> None:
    """Record a timeline row and a warning for a checkout paid after its invoices were handed over.

    The payment is booked on those invoices like any other, but the
    collection agency does not know about it, so the credit manager has to
    inform the agency.
    """
    numbers = [invoice.number for invoice in handed_over]
    timeline.record(
        checkout.debtor_id,
        TimelineKind.PAYMENT,
        f"Online betaling van {format_money(payment.amount, payment.currency)} ontvangen voor factuur "
        f"{', '.join(numbers)}, die uit handen gegeven is: meld de betaling aan het incassobureau",
        source=f"provider:{checkout.provider}",
        creditor_id=checkout.creditor_id,
        data={"checkout_id": checkout.pk, "payment_id": payment.pk, "handed_over": numbers},
    )
    logger.warning(
        "checkout paid for handed-over invoices",
        extra={"checkout_id": checkout.pk, "payment_id": payment.pk, "debtor_id": checkout.debtor_id},
    )


def _apply_reversals(checkout: CheckoutPayment, update: PaymentUpdate) -> None:
    """Reverse the ledger payment when the refunded or charged-back total grew."""
    refunded = max(checkout.amount_refunded, update.amount_refunded or ZERO)
    charged_back = max(checkout.amount_charged_back, update.amount_charged_back or ZERO)
    if (refunded, charged_back) == (checkout.amount_refunded, checkout.amount_charged_back):
        return

    added_refund = refunded - checkout.amount_refunded
    added_chargeback = charged_back - checkout.amount_charged_back
    checkout.amount_refunded = refunded
    checkout.amount_charged_back = charged_back
    checkout.status = CheckoutStatus.CHARGED_BACK if charged_back > ZERO else CheckoutStatus.REFUNDED
    checkout.save()

    original = checkout.ledger_payment
    if original is None:
        logger.warning("reversal of unbooked checkout", extra={"checkout_id": checkout.pk})
        return

    kind = "chargeback" if added_chargeback > ZERO else "refund"
    reversal = Payment.objects.create(
        creditor_id=checkout.creditor_id,
        debtor_id=checkout.debtor_id,
        source=PaymentSource.PSP,
        external_id=f"{checkout.provider}:{checkout.provider_id}:{kind}:{refunded + charged_back}",
        booking_date=timezone.localdate(),
        amount=-(added_refund + added_chargeback),
        currency=checkout.currency,
        payer_name=original.payer_name,
        remittance_info=f"{kind} of {checkout.description}"[:500],
    )
    do_reverse_payment(original, reversal=reversal, source=f"provider:{checkout.provider}", reason=kind)

    remaining = original.amount - added_refund - added_chargeback
    if remaining > ZERO:
        rebooked = Payment.objects.create(
            creditor_id=checkout.creditor_id,
            debtor_id=checkout.debtor_id,
            source=PaymentSource.PSP,
            external_id=f"{checkout.provider}:{checkout.provider_id}:rest:{refunded + charged_back}",
            booking_date=timezone.localdate(),
            amount=remaining,
            currency=checkout.currency,
            payer_name=original.payer_name,
            remittance_info=checkout.description,
        )
        do_allocate_payment(
            rebooked,
            list(checkout.invoices.order_by("due_date", "number")),
            source=f"provider:{checkout.provider}",
            reason=f"rest of online payment {checkout.provider_id} after partial {kind}",
        )
        checkout.ledger_payment = rebooked
        checkout.save(update_fields=["ledger_payment", "updated_at"])
    logger.info("checkout reversed", extra={"checkout_id": checkout.pk, "kind": kind})
