"""Match incoming bank payments to open invoices.

The rules run in order of certainty, and the first rule that finds exactly
one answer decides:

1. structured reference: an ISO 11649 RF reference or a Dutch betalingskenmerk
   with valid check digits, equal to an invoice's payment reference (score 100);
2. invoice numbers in the remittance text, several per payment, ignoring
   spaces, dashes and prefixes (score 90). One wrong digit is accepted only
   when the amount equals that invoice's open amount (score 70);
3. payer IBAN linked to one debtor, and the amount equal to one open invoice
   or to exactly one set of that debtor's open invoices (score 60);
4. payer name close to a debtor's name, and the amount as in rule 3 (score 50).

A rule that finds more than one answer of the same score sends the payment to
the review queue with those candidates; so does a payment no rule matches.
Reversals (storno, R-transactions) undo the payment they reverse first.

Matching is set-based: the creditor's open invoices are loaded once into
dictionaries (by reference, by normalised number, by digits, by debtor), and
only the allocation of a decided match touches the database per payment.
"""

from __future__ import annotations

import difflib
import itertools
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from betaalreis.banking.models import BankTransaction, MatchCandidate, MatchRule, PaymentMatch
from betaalreis.errors import InvalidInput
from betaalreis.ledger.actions import PAYABLE_STATUSES, do_allocate_payment, do_reverse_payment
from betaalreis.ledger.models import (
    Creditor,
    Debtor,
    DebtorBankAccount,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentStatus,
)
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
SOURCE = "bank matching"
# Payments are allocated in chunks, each in one transaction, so a crash loses
# at most one chunk of decisions and SQLite does not commit per payment.
CHUNK = 500
# The subset search for rule 3 and 4 tries every combination of a debtor's
# open invoices up to this many invoices (2^12 = 4096 sums).
MAX_SUBSET_INVOICES = 12
NAME_SIMILARITY = 0.85
# A name token shared by more debtors than this ("bv", "holding") does not
# narrow the search, so the name index skips it.
COMMON_NAME_TOKEN = 500

RF_PATTERN = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}\b", re.IGNORECASE)
DIGIT_GROUPS = re.compile(r"\d+(?:[ \-./]\d+)*")
TOKENS = re.compile(r"[A-Za-z0-9]+(?:[\-_/.][A-Za-z0-9]+)*")
LEGAL_FORMS = re.compile(
    r"\b(b\.?v\.?|n\.?v\.?|v\.?o\.?f\.?|c\.?v\.?|bvba|gmbh|ltd|holding|h\.?o\.?o\.?d\.?n\.?|i\.?o\.?|"
    r"inzake|en/of|eo|dhr|mw|mevr|hr|de heer|mevrouw|fa|firma)\b"
)


def normalise_number(value: str) -> str:
    """Return an invoice number without spaces, dashes or dots, in upper case."""
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def normalise_name(value: str) -> str:
    """Return a name in lower case without legal forms, titles and punctuation."""
    lowered = LEGAL_FORMS.sub(" ", value.lower())
    return " ".join(re.sub(r"[^a-z0-9à-ÿ ]", " ", lowered).split())


@dataclass(slots=True)
class OpenInvoice:
    id: int
    number: str
    debtor_id: int
    open_amount: Decimal
    currency: str
    due_date: object


@dataclass
class MatchReport:
    """Counts and amounts of one matching run, per outcome."""

    payments: int = 0
    matched: int = 0
    matched_amount: Decimal = ZERO
    partly: int = 0
    partly_amount: Decimal = ZERO
    review: int = 0
    review_amount: Decimal = ZERO
    reversed: int = 0
    reversed_amount: Decimal = ZERO
    credit_amount: Decimal = ZERO
    by_rule: dict[str, int] = field(default_factory=dict)


@dataclass
class Decision:
    """The outcome of the rules for one payment: invoices to pay, or candidates to review."""

    rule: str
    score: int
    reason: str
    invoices: list[OpenInvoice] = field(default_factory=list)
    candidates: list[tuple[int, list[OpenInvoice], str, int, str]] = field(default_factory=list)


class InvoiceIndex:
    """The open invoices of one creditor, loaded once, and the lookups the rules need."""

    def __init__(self, creditor: Creditor) -> None:
        self.creditor = creditor
        self.by_id: dict[int, OpenInvoice] = {}
        self.by_reference: dict[str, list[int]] = defaultdict(list)
        self.by_number: dict[str, list[int]] = defaultdict(list)
        self.by_digits: dict[str, list[int]] = defaultdict(list)
        self.by_debtor: dict[int, list[int]] = defaultdict(list)
        self._debtors_by_iban: dict[str, set[int]] | None = None
        self._names: dict[int, str] | None = None
        self._name_tokens: dict[str, set[int]] | None = None

        # NOTE: invoices in a payment plan are allocated like any other. When
        # payment plans exist, an allocation to such an invoice must also count
        # towards the plan's next instalment; that hook belongs in do_allocate_payment.
        rows = (
            Invoice.objects.filter(
                creditor=creditor,
                kind=InvoiceKind.INVOICE,
                status__in=PAYABLE_STATUSES,
                open_amount__gt=0,
            )
            .values_list("id", "number", "debtor_id", "open_amount", "currency", "due_date", "payment_reference")
            .iterator(chunk_size=20000)
        )
        for pk, number, debtor_id, open_amount, currency, due_date, reference in rows:
            self.by_id[pk] = OpenInvoice(pk, number, debtor_id, open_amount, currency, due_date)
            if reference:
                self.by_reference[normalise_number(reference)].append(pk)
            key = normalise_number(number)
            self.by_number[key].append(pk)
            digits = re.sub(r"\D", "", number)
            if len(digits) >= 4:
                self.by_digits[digits].append(pk)
            self.by_debtor[debtor_id].append(pk)

    def open(self, ids: Iterable[int]) -> list[OpenInvoice]:
        found = (self.by_id.get(pk) for pk in ids)
        return [invoice for invoice in found if invoice is not None and invoice.open_amount > 0]

    @property
    def debtors_by_iban(self) -> dict[str, set[int]]:
        if self._debtors_by_iban is None:
            self._debtors_by_iban = defaultdict(set)
            for iban, debtor_id in DebtorBankAccount.objects.filter(creditor=self.creditor).values_list("iban", "debtor_id"):
                self._debtors_by_iban[iban.replace(" ", "").upper()].add(debtor_id)
        return self._debtors_by_iban

    def name_candidates(self, name: str) -> list[tuple[int, float]]:
        """Return debtors whose normalised name is close to `name`, with the similarity."""
        if self._names is None:
            self._names = {}
            self._name_tokens = defaultdict(set)
            debtor_ids = set(self.by_debtor)
            for pk, debtor_name in Debtor.objects.filter(creditor=self.creditor).values_list("id", "name").iterator(chunk_size=20000):
                if pk not in debtor_ids:
                    continue
                normalised = normalise_name(debtor_name)
                self._names[pk] = normalised
                for token in set(normalised.split()):
                    self._name_tokens[token].add(pk)
        assert self._name_tokens is not None

        wanted = normalise_name(name)
        if not wanted:
            return []
        pool: set[int] = set()
        for token in set(wanted.split()):
            holders = self._name_tokens.get(token, set())
            if len(holders) <= COMMON_NAME_TOKEN:
                pool |= holders
        scored = []
        for pk in pool:
            ratio = difflib.SequenceMatcher(None, wanted, self._names[pk]).ratio()
            if ratio >= NAME_SIMILARITY:
                scored.append((pk, ratio))
        return sorted(scored, key=lambda item: -item[1])

    def settle(self, invoice_id: int, open_amount: Decimal) -> None:
        invoice = self.by_id.get(invoice_id)
        if invoice is not None:
            invoice.open_amount = open_amount


def _sorted(invoices: list[OpenInvoice]) -> list[OpenInvoice]:
    return sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.number))


def _amount_sets(invoices: list[OpenInvoice], amount: Decimal, currency: str) -> list[list[OpenInvoice]]:
    """Return the sets of `invoices` whose open amounts add up to `amount` (at most two are needed)."""
    usable = [invoice for invoice in invoices if invoice.currency == currency and invoice.open_amount > 0]
    singles = [[invoice] for invoice in usable if invoice.open_amount == amount]
    if singles:
        return singles[:2]
    if len(usable) > MAX_SUBSET_INVOICES or len(usable) < 2:
        return []
    found: list[list[OpenInvoice]] = []
    for size in range(2, len(usable) + 1):
        for combination in itertools.combinations(usable, size):
            if sum((invoice.open_amount for invoice in combination), ZERO) == amount:
                found.append(list(combination))
                if len(found) > 1:
                    return found
    return found


def _references_in(payment: Payment) -> list[str]:
    """Return the structured references of a payment whose check digits are valid."""
    found: list[str] = []
    candidates = [payment.structured_reference] if payment.structured_reference else []
    text = payment.remittance_info or ""
    candidates += [match.group(0) for match in RF_PATTERN.finditer(text)]
    candidates += [group for group in (re.sub(r"\D", "", match.group(0)) for match in DIGIT_GROUPS.finditer(text)) if len(group) == 16]
    for candidate in candidates:
        compact = normalise_number(candidate)
        if compact.startswith("RF"):
            valid = is_valid_rf_reference(compact)
        else:
            valid = compact.isdigit() and is_valid_betalingskenmerk(compact)
        if valid and compact not in found:
            found.append(compact)
    return found


def _by_debtor(invoices: list[OpenInvoice]) -> dict[int, list[OpenInvoice]]:
    grouped: dict[int, list[OpenInvoice]] = defaultdict(list)
    for invoice in invoices:
        grouped[invoice.debtor_id].append(invoice)
    return grouped


class Matcher:
    """Apply the rules to payments of one creditor against one InvoiceIndex."""

    def __init__(self, index: InvoiceIndex) -> None:
        self.index = index

    def decide(self, payment: Payment) -> Decision:
        for rule in (self.structured_reference, self.invoice_numbers, self.payer_iban, self.payer_name):
            decision = rule(payment)
            if decision is not None:
                return decision
        return Decision(MatchRule.NONE, 0, "no rule matched: no valid reference, invoice number, known IBAN or name")

    def _choose(self, rule: str, score: int, payment: Payment, groups: dict[int, list[OpenInvoice]], reason: str) -> Decision:
        """Decide between the debtors in `groups`: one debtor matches, several go to review."""
        if len(groups) == 1:
            (invoices,) = groups.values()
            return Decision(rule, score, reason, invoices=_sorted(invoices))
        # Several debtors: the amount may single one out.
        fitting = {
            debtor_id: invoices
            for debtor_id, invoices in groups.items()
            if sum((invoice.open_amount for invoice in invoices), ZERO) == payment.amount
        }
        if len(fitting) == 1:
            (invoices,) = fitting.values()
            return Decision(rule, score, reason + ", amount picks one debtor", invoices=_sorted(invoices))
        return Decision(
            rule, score, f"{reason}, but on invoices of {len(groups)} debtors",
            candidates=[(debtor_id, _sorted(invoices), rule, score, reason) for debtor_id, invoices in groups.items()],
        )

    def structured_reference(self, payment: Payment) -> Decision | None:
        references = _references_in(payment)
        invoices = self.index.open(pk for reference in references for pk in self.index.by_reference.get(reference, ()))
        if not invoices:
            return None
        reason = "structured reference " + ", ".join(references)
        return self._choose(MatchRule.STRUCTURED_REFERENCE, 100, payment, _by_debtor(invoices), reason)

    def invoice_numbers(self, payment: Payment) -> Decision | None:
        text = payment.remittance_info or ""
        if not text:
            return None

        hits: set[int] = set()
        for token in TOKENS.findall(text):
            hits.update(self.index.by_number.get(normalise_number(token), ()))
        runs: list[str] = []
        for match in DIGIT_GROUPS.finditer(text):
            joined = re.sub(r"\D", "", match.group(0))
            parts = re.findall(r"\d+", match.group(0))
            runs += [joined, *parts] if len(parts) > 1 else [joined]
        for run in runs:
            if len(run) >= 4:
                hits.update(self.index.by_digits.get(run, ()))
        invoices = self.index.open(hits)
        if invoices:
            numbers = ", ".join(invoice.number for invoice in _sorted(invoices))
            return self._choose(MatchRule.INVOICE_NUMBER, 90, payment, _by_debtor(invoices), f"invoice number {numbers} in the description")

        return self.invoice_number_typo(payment, runs)

    def invoice_number_typo(self, payment: Payment, runs: list[str]) -> Decision | None:
        """Accept one wrong digit in an invoice number when the amount equals its open amount."""
        found: dict[int, OpenInvoice] = {}
        for run in set(runs):
            if len(run) < 5:
                continue
            for position, digit in itertools.product(range(len(run)), "0123456789"):
                if run[position] == digit:
                    continue
                variant = run[:position] + digit + run[position + 1:]
                for invoice in self.index.open(self.index.by_digits.get(variant, ())):
                    if invoice.open_amount == payment.amount and invoice.currency == payment.currency:
                        found[invoice.id] = invoice
        if not found:
            return None
        invoices = list(found.values())
        reason = "invoice number with one wrong digit, amount equal to " + ", ".join(invoice.number for invoice in invoices)
        if len(invoices) == 1:
            return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=invoices)
        return Decision(
            MatchRule.INVOICE_NUMBER_TYPO, 70, reason,
            candidates=[(invoice.debtor_id, [invoice], MatchRule.INVOICE_NUMBER_TYPO, 70, reason) for invoice in invoices],
        )

    def _amount_decision(self, rule: str, score: int, payment: Payment, debtor_ids: list[int], reason: str) -> Decision | None:
        options: list[tuple[int, list[OpenInvoice]]] = []
        for debtor_id in debtor_ids:
            invoices = self.index.open(self.index.by_debtor.get(debtor_id, ()))
            for subset in _amount_sets(invoices, payment.amount, payment.currency):
                options.append((debtor_id, subset))
        if len(options) == 1:
            _, invoices = options[0]
            numbers = ", ".join(invoice.number for invoice in invoices)
            return Decision(rule, score, f"{reason}, amount equals open amount of {numbers}", invoices=_sorted(invoices))
        if options:
            return Decision(
                rule, score, f"{reason}, amount fits {len(options)} invoice sets",
                candidates=[(debtor_id, _sorted(invoices), rule, score, reason) for debtor_id, invoices in options],
            )
        return None

    def payer_iban(self, payment: Payment) -> Decision | None:
        iban = (payment.payer_iban or "").replace(" ", "").upper()
        debtor_ids = sorted(self.index.debtors_by_iban.get(iban, ())) if iban else []
        if not debtor_ids:
            return None
        decision = self._amount_decision(MatchRule.PAYER_IBAN, 60, payment, debtor_ids, "payer IBAN known")
        if decision is not None:
            return decision
        # The debtor is known but the amount fits no invoice set: a person decides.
        return Decision(
            MatchRule.PAYER_IBAN, 40, "payer IBAN known, amount fits no set of open invoices",
            candidates=[
                (debtor_id, [], MatchRule.PAYER_IBAN, 40, "payer IBAN known, amount fits no set of open invoices")
                for debtor_id in debtor_ids
            ],
        )

    def payer_name(self, payment: Payment) -> Decision | None:
        if not payment.payer_name:
            return None
        close = self.index.name_candidates(payment.payer_name)
        if not close:
            return None
        return self._amount_decision(
            MatchRule.PAYER_NAME, 50, payment, [debtor_id for debtor_id, _ in close], f"payer name close to debtor name ({payment.payer_name})"
        )


def _reverse(payment: Payment, report: MatchReport) -> None:
    """Undo the payment that a reversal (negative amount) reverses, or queue it for review."""
    transaction_row = BankTransaction.objects.filter(payment=payment).first()
    originals = Payment.objects.filter(
        creditor_id=payment.creditor_id, amount=-payment.amount, currency=payment.currency,
    ).exclude(status=PaymentStatus.REVERSED).exclude(pk=payment.pk)
    original = None
    if transaction_row is not None and transaction_row.end_to_end_id:
        original = originals.filter(bank_transaction__end_to_end_id=transaction_row.end_to_end_id).order_by("-booking_date").first()
    if original is None and payment.payer_iban:
        original = originals.filter(payer_iban=payment.payer_iban).order_by("-booking_date").first()

    if original is None:
        payment.status = PaymentStatus.REVIEW
        payment.match_reason = "reversal: the original payment was not found"
        payment.save(update_fields=["status", "match_reason"])
        PaymentMatch.objects.update_or_create(
            payment=payment,
            defaults={"creditor_id": payment.creditor_id, "rule": MatchRule.REVERSAL, "score": 0, "reason": payment.match_reason},
        )
        report.review += 1
        report.review_amount += payment.amount
        return

    reason = f"reversal of payment {original.pk}"
    do_reverse_payment(original, reversal=payment, source=SOURCE, reason=reason)
    Payment.objects.filter(pk=payment.pk).update(match_reason=reason)
    PaymentMatch.objects.update_or_create(
        payment=payment,
        defaults={"creditor_id": payment.creditor_id, "rule": MatchRule.REVERSAL, "score": 100, "reason": reason},
    )
    report.reversed += 1
    report.reversed_amount += payment.amount


def _apply(payment: Payment, decision: Decision, index: InvoiceIndex, report: MatchReport) -> None:
    if decision.invoices:
        targeted = sum((invoice.open_amount for invoice in decision.invoices), ZERO)
        payment.match_reason = decision.reason[:300]
        allocations = do_allocate_payment(
            payment, [Invoice(pk=invoice.id) for invoice in decision.invoices], source=SOURCE, reason=decision.reason
        )
        for allocation in allocations:
            index.settle(allocation.invoice_id, allocation.invoice.open_amount)
        allocated = sum((allocation.amount for allocation in allocations), ZERO)

        if allocations and payment.amount < targeted:
            Payment.objects.filter(pk=payment.pk).update(status=PaymentStatus.PARTLY_MATCHED)
            report.partly += 1
            report.partly_amount += payment.amount
        elif allocations:
            report.matched += 1
            report.matched_amount += payment.amount
            report.credit_amount += payment.amount - allocated
        PaymentMatch.objects.update_or_create(
            payment=payment,
            defaults={"creditor_id": payment.creditor_id, "rule": decision.rule, "score": decision.score, "reason": decision.reason[:300]},
        )
        if allocations:
            report.by_rule[decision.rule] = report.by_rule.get(decision.rule, 0) + 1
            return

    _queue_for_review(payment, decision, report)


def _queue_for_review(payment: Payment, decision: Decision, report: MatchReport) -> None:
    payment.status = PaymentStatus.REVIEW
    payment.match_reason = decision.reason[:300]
    payment.save(update_fields=["status", "match_reason"])
    PaymentMatch.objects.update_or_create(
        payment=payment,
        defaults={"creditor_id": payment.creditor_id, "rule": decision.rule, "score": decision.score, "reason": decision.reason[:300]},
    )
    MatchCandidate.objects.filter(payment=payment).delete()
    for debtor_id, invoices, rule, score, reason in decision.candidates:
        candidate = MatchCandidate.objects.create(
            creditor_id=payment.creditor_id, payment=payment, debtor_id=debtor_id, rule=rule, score=score, reason=reason[:300]
        )
        if invoices:
            candidate.invoices.set([invoice.id for invoice in invoices])
    report.review += 1
    report.review_amount += payment.amount


def match_payments(creditor: Creditor, payments: Iterable[Payment | int] | None = None) -> MatchReport:
    """Match the creditor's new payments (or the given ones, if still new) and return a report.

    Allocations go through `do_allocate_payment`, reversals through
    `do_reverse_payment`; ambiguous and unmatched payments get status
    review with their candidates. With nothing new this costs one query.
    """
    queryset = Payment.objects.filter(creditor=creditor, status=PaymentStatus.NEW)
    if payments is not None:
        ids = [item if isinstance(item, int) else item.pk for item in payments]
        queryset = queryset.filter(pk__in=ids) if len(ids) < 50000 else queryset
        wanted = set(ids)
    else:
        wanted = None
    pending = [payment for payment in queryset.order_by("booking_date", "id") if wanted is None or payment.pk in wanted]

    report = MatchReport(payments=len(pending))
    if not pending:
        return report

    index = InvoiceIndex(creditor)
    matcher = Matcher(index)
    for start in range(0, len(pending), CHUNK):
        with transaction.atomic():
            for payment in pending[start:start + CHUNK]:
                try:
                    with transaction.atomic():
                        if payment.amount < 0:
                            _reverse(payment, report)
                        else:
                            _apply(payment, matcher.decide(payment), index, report)
                except InvalidInput:
                    logger.exception("payment could not be matched", extra={"payment_id": payment.pk, "creditor_id": creditor.pk})
                    _queue_for_review(payment, Decision(MatchRule.NONE, 0, "matching failed; see the log"), report)

    logger.info(
        "payments matched",
        extra={"creditor_id": creditor.pk, "payments": report.payments, "matched": report.matched, "review": report.review},
    )
    return report
