"""State changes made by a person on bank payments: confirming or ignoring a payment in the review queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from betaalreis.banking.confirmation import record_confirmation
from betaalreis.banking.models import MatchCandidate, MatchRule
from betaalreis.banking.reversals import do_confirm_reversal
from betaalreis.errors import InvalidInput
from betaalreis.ledger import timeline
from betaalreis.ledger.actions import PAYABLE_STATUSES, do_allocate_payment, unallocated_amount
from betaalreis.ledger.models import (
    Allocation,
    Debtor,
    DebtorBankAccount,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentStatus,
    TimelineKind,
)
from betaalreis.ledger.money import format_money
from betaalreis.ledger.validators import normalize_iban

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Confirmation:
    """Outcome of confirming a reviewed payment: its allocations, and the rest kept as the debtor's credit."""

    debtor: Debtor
    allocations: list[Allocation]
    credit: Decimal
    currency: str
    # True when the chosen invoices were no longer open and the debtor's
    # other open invoices were paid instead.
    fell_back: bool = False


@transaction.atomic
def do_confirm_match(
    payment: Payment,
    debtor: Debtor,
    invoices: Sequence[Invoice] | None = None,
    *,
    user: AbstractBaseUser | None,
    source: str = "review queue",
    split: bool = False,
) -> Confirmation:
    """Allocate a reviewed payment to invoices and teach the matcher the payer IBAN.

    Without `invoices`, or when none of them is open any more, the debtor's
    open invoices are paid oldest due date first. What is left stays on the
    payment as the debtor's credit, recorded on the timeline and returned.
    With `split`, `invoices` may belong to several debtors of the creditor,
    and `debtor` receives the credit. The payer IBAN is linked to `debtor`,
    so the next payment from that account matches by rule 3. Who confirmed
    is kept with the payment's match decision. Raise InvalidInput when the payment is not
    in review or the debtor or an invoice belongs elsewhere.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.REVIEW:
        raise InvalidInput(
            f"Betaling {payment.pk} heeft status {payment.get_status_display()}; "
            "alleen te beoordelen betalingen kunnen worden gekoppeld."
        )
    if payment.amount <= 0:
        raise InvalidInput(
            f"Betaling {payment.pk} is een terugboeking ({format_money(payment.amount, payment.currency)}); "
            "koppel haar aan de betaling die zij terugdraait."
        )
    if debtor.creditor_id != payment.creditor_id:
        raise InvalidInput(f"Debiteur {debtor.customer_number} hoort bij een andere crediteur dan betaling {payment.pk}.")
    chosen = list(invoices) if invoices else []
    if any(invoice.creditor_id != payment.creditor_id for invoice in chosen):
        raise InvalidInput(f"Een factuur hoort bij een andere crediteur dan betaling {payment.pk}.")
    if not split and any(invoice.debtor_id != debtor.pk for invoice in chosen):
        raise InvalidInput(f"Elke factuur moet bij klant {debtor.customer_number} horen.")
    other_currency = [invoice for invoice in chosen if invoice.currency != payment.currency]
    if other_currency:
        raise InvalidInput(
            f"Betaling {payment.pk} is in {payment.currency}, factuur {other_currency[0].number} in "
            f"{other_currency[0].currency}. Betaalreis rekent niet om: boek de betaling in uw "
            "boekhouding en pas daarna het openstaande bedrag van de factuur aan."
        )

    open_ids = _open_invoice_ids(chosen)
    open_chosen = [invoice for invoice in chosen if invoice.pk in open_ids]
    fell_back = bool(chosen) and not open_chosen
    reason = f"confirmed by {getattr(user, 'get_username', lambda: 'system')()}"
    if fell_back:
        reason += "; the chosen invoices were no longer open, so the debtor's open invoices were paid"
    payment.debtor = debtor
    payment.match_reason = reason
    payment.save(update_fields=["debtor", "match_reason"])
    allocations = do_allocate_payment(payment, open_chosen or None, source=source, reason=reason)
    credit = unallocated_amount(payment)
    if not allocations:
        # Nothing open to pay: the whole payment is a credit of this debtor.
        Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.MATCHED)

    linked = False
    if payment.payer_iban:
        iban = normalize_iban(payment.payer_iban)
        _, linked = DebtorBankAccount.objects.get_or_create(
            creditor_id=payment.creditor_id, debtor=debtor, iban=iban, defaults={"source": "manual match"}
        )

    record_confirmation(payment, MatchRule.MANUAL, reason, user)

    summary = "Betaling handmatig gekoppeld" + (" en rekening onthouden" if linked else "")
    if not allocations:
        summary += f"; geen open facturen, {format_money(credit, payment.currency)} staat als tegoed open"
    timeline.record(
        debtor,
        TimelineKind.PAYMENT,
        summary,
        source=source,
        data={"payment_id": payment.pk, "allocations": len(allocations), "iban_linked": linked, "credit": str(credit)},
    )
    logger.info(
        "payment match confirmed",
        extra={"payment_id": payment.pk, "debtor_id": debtor.pk, "creditor_id": payment.creditor_id},
    )
    return Confirmation(debtor, allocations, credit, payment.currency, fell_back)


@transaction.atomic
def do_ignore_payment(
    payment: Payment, *, reason: str, user: AbstractBaseUser | None, source: str = "review queue"
) -> list[int]:
    """Take a payment out of the review queue without booking it; return the ids of debtors that waited for it.

    The payment gets status ignored and stays stored with its bank
    transaction. Its match decision records who ignored it and why, and each
    candidate debtor (and the linked debtor, if any) gets a timeline line,
    because their dunning no longer waits for this payment. Raise
    InvalidInput when the reason is empty or the payment is not in review.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise InvalidInput(
            "Geef een reden op waarom de betaling wordt genegeerd, bijvoorbeeld "
            "'terugbetaling leverancier, geen debiteur'."
        )
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status != PaymentStatus.REVIEW:
        raise InvalidInput(
            f"Betaling {payment.pk} heeft status {payment.get_status_display()}; "
            "alleen te beoordelen betalingen kunnen worden genegeerd."
        )

    debtor_ids = sorted(
        set(MatchCandidate.objects.filter(payment=payment).values_list("debtor_id", flat=True))
        | ({payment.debtor_id} if payment.debtor_id is not None else set())
    )
    username = getattr(user, "get_username", lambda: "system")()
    decision = f"ignored by {username}: {reason}"
    payment.status = PaymentStatus.IGNORED
    payment.match_reason = decision
    payment.save(update_fields=["status", "match_reason"])
    record_confirmation(payment, MatchRule.NONE, decision, user, score=0)

    amount = format_money(payment.amount, payment.currency)
    summary = f"Betaling van {amount} van {payment.booking_date:%d-%m-%Y} genegeerd door {username}: {reason}"
    for debtor_id in debtor_ids:
        timeline.record(
            debtor_id,
            TimelineKind.PAYMENT,
            summary,
            source=source,
            creditor_id=payment.creditor_id,
            data={"payment_id": payment.pk, "ignored": True, "reason": reason},
        )
    logger.info(
        "payment ignored",
        extra={"payment_id": payment.pk, "creditor_id": payment.creditor_id, "debtors": len(debtor_ids)},
    )
    return debtor_ids


def _open_invoice_ids(invoices: Sequence[Invoice]) -> set[int]:
    """Return the ids of those invoices that can still receive money, read fresh from the database."""
    return set(
        Invoice.objects.filter(
            pk__in=[invoice.pk for invoice in invoices],
            kind=InvoiceKind.INVOICE,
            status__in=PAYABLE_STATUSES,
            open_amount__gt=0,
        ).values_list("pk", flat=True)
    )


def do_confirm_candidate(candidate: MatchCandidate, *, user: AbstractBaseUser | None) -> Confirmation | None:
    """Confirm one candidate of the review queue: its debtor and, if it lists any, its invoices.

    A candidate whose invoices belong to several debtors splits the payment
    over them (see `is_split`). A reversal's candidate names the earlier
    payment it undoes, and confirming it reverses that payment and returns None.
    """
    if candidate.original_payment_id is not None:
        do_confirm_reversal(candidate.payment, candidate.original_payment, user=user)
        return None
    invoices = list(candidate.invoices.all())
    return do_confirm_match(candidate.payment, candidate.debtor, invoices or None, user=user, split=is_split(candidate))


def is_split(candidate: MatchCandidate) -> bool:
    """Return whether the candidate's invoices belong to more than one debtor."""
    return len({invoice.debtor_id for invoice in candidate.invoices.all()}) > 1
