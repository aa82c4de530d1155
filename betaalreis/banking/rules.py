"""The matching rules: which invoices a bank payment pays, decided in memory.

The rules run in order of certainty, and the first rule that finds invoices
or candidates decides:

1. structured reference: an ISO 11649 RF reference or a Dutch betalingskenmerk
   with valid check digits, equal to an invoice's payment reference (score 100);
2. invoice numbers in the remittance text, several per payment, ignoring
   spaces, dashes and prefixes (score 90). A number inside a longer
   reference or a date does not count (see `remittance`), and a bare number
   of up to four digits counts only when the amount, payer IBAN or payer name
   confirms it. One wrong digit is accepted only when the amount equals that
   invoice's open amount (score 70);
3. payer IBAN linked to a debtor, and the amount equal to one open invoice
   or to exactly one set of that debtor's open invoices (score 60);
4. payer name close to a debtor's name, and the amount as in rule 3 (score 50).

When a rule finds several debtors or invoice sets of the same score, and
neither the amount nor the payer IBAN or name picks one, the Decision lists them as candidates for the review queue instead of invoices
to pay.

The creditor's open invoices are loaded once into dictionaries (by
reference, by normalised number, by digits, by debtor), so deciding costs
no query per payment.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.db import connections
from django.db.models import QuerySet

from betaalreis.banking.models import MatchRule
from betaalreis.banking.remittance import confirmed_invoices, number_tokens, payer_debtors
from betaalreis.ledger.actions import PAYABLE_STATUSES
from betaalreis.ledger.models import Creditor, Debtor, DebtorBankAccount, Invoice, InvoiceKind
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference

ZERO = Decimal("0.00")
# The subset search for rule 3 and 4 tries every combination of a debtor's
# open invoices up to this many invoices (2^12 = 4096 sums).
MAX_SUBSET_INVOICES = 12
# difflib ratio from which a payer name counts as a debtor's name, and the
# margin within which two names count as equally close.
NAME_SIMILARITY = 0.85
NAME_TIE = 0.02
MAX_NAME_COMPARISONS = 50
# A name token shared by more debtors than this ("van", "de") does not
# narrow the search, so the name index skips it.
COMMON_NAME_TOKEN = 500

_DROP_SEPARATORS = str.maketrans("", "", " -./_:#")
_DROP_LETTERS = str.maketrans("", "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

RF_PATTERN = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}\b", re.IGNORECASE)
DIGIT_GROUPS = re.compile(r"\d+(?:[ \-./]\d+)*")
TOKENS = re.compile(r"[A-Za-z0-9]+(?:[\-_/.][A-Za-z0-9]+)*")
LEGAL_FORMS = re.compile(
    r"\b(b\.?v\.?|n\.?v\.?|v\.?o\.?f\.?|c\.?v\.?|bvba|gmbh|ltd|holding|h\.?o\.?o\.?d\.?n\.?|i\.?o\.?|"
    r"inzake|en/of|eo|dhr|mw|mevr|hr|de heer|mevrouw|fa|firma)\b"
)


def normalise_number(value: str) -> str:
    """Return an invoice number without spaces, dashes or dots, in upper case."""
    # str.translate removes the usual separators without a regular expression,
    # which matters for the million numbers a run may load. The expression
    # handles whatever else is left.
    key = value.translate(_DROP_SEPARATORS).upper()
    if key.isascii() and key.isalnum():
        return key
    return re.sub(r"[^0-9A-Z]", "", key)


def _raw_rows(queryset: QuerySet) -> Iterator[tuple]:
    """Yield the rows of a values_list query as the database driver returns them.

    This skips Django's per-value converters on the million rows a run may
    load. Callers convert the few values that need it.
    """
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20000):
            yield from rows


def normalise_name(value: str) -> str:
    """Return a name in lower case without legal forms, titles and punctuation."""
    lowered = LEGAL_FORMS.sub(" ", value.lower())
    return " ".join(re.sub(r"[^a-z0-9à-ÿ ]", " ", lowered).split())


class PaymentFacts(Protocol):
    """Payment fields the rules read. A ledger Payment has all of them."""

    amount: Decimal
    currency: str
    payer_name: str
    payer_iban: str
    structured_reference: str
    remittance_info: str


@dataclass(slots=True)
class OpenInvoice:
    id: int
    number: str
    debtor_id: int
    open_amount: Decimal
    currency: str
    due_date: dt.date


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
        self.by_amount: dict[tuple[str, Decimal], set[int]] = defaultdict(set)
        self._debtors_by_iban: dict[str, set[int]] | None = None
        self._names: dict[int, str] | None = None
        self._name_tokens: dict[str, set[int]] | None = None

        # Invoices in a payment plan (status payment_plan) are allocated like any
        # other. payments.plans.paid_so_far counts a plan as paid by how far the
        # open amounts of its invoices went down, so an allocation counts towards
        # the plan without a further step.
        queryset = Invoice.objects.filter(
            creditor=creditor,
            kind=InvoiceKind.INVOICE,
            status__in=PAYABLE_STATUSES,
            open_amount__gt=0,
        ).values_list("id", "number", "debtor_id", "open_amount", "currency", "due_date", "payment_reference")
        for pk, number, debtor_id, open_amount, currency, due_date, reference in _raw_rows(queryset):
            if not isinstance(open_amount, Decimal):
                # SQLite returns the NUMERIC column as int or float. str() of such a
                # float gives back its two decimals exactly, and a Decimal without
                # trailing zeros compares and hashes equal to one with them.
                open_amount = Decimal(str(open_amount))
            self.by_id[pk] = OpenInvoice(pk, number, debtor_id, open_amount, currency, due_date)
            self.by_amount[(currency, open_amount)].add(pk)
            if reference:
                compact = reference if reference.isascii() and reference.isalnum() else normalise_number(reference)
                self.by_reference[compact.upper()].append(pk)
            key = normalise_number(number)
            self.by_number[key].append(pk)
            digits = key.translate(_DROP_LETTERS)
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
        """Return the debtors whose names are closest to `name`, with their similarity.

        Only names at least NAME_SIMILARITY alike count, and only those within
        NAME_TIE of the best, so one clearly closer name wins on its own.
        """
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

        # Only debtors that share the most name tokens with the payer are
        # compared, because difflib compares the names character by character in Python.
        shared: Counter[int] = Counter()
        for token in set(wanted.split()):
            holders = self._name_tokens.get(token, set())
            if len(holders) <= COMMON_NAME_TOKEN:
                shared.update(holders)
        if not shared:
            return []
        most = max(shared.values())
        pool = sorted(pk for pk, count in shared.items() if count == most)[:MAX_NAME_COMPARISONS]

        scored = []
        for pk in pool:
            matcher = difflib.SequenceMatcher(None, wanted, self._names[pk])
            if matcher.quick_ratio() < NAME_SIMILARITY:
                continue
            ratio = matcher.ratio()
            if ratio >= NAME_SIMILARITY:
                scored.append((pk, ratio))
        if not scored:
            return []
        best = max(ratio for _, ratio in scored)
        return sorted((item for item in scored if item[1] >= best - NAME_TIE), key=lambda item: -item[1])

    def settle(self, invoice_id: int, open_amount: Decimal) -> None:
        """Record a new open amount of an invoice, as an allocation or a reversal left it.

        NOTE: an invoice that was not open when the index was loaded (paid
        before this run, then reopened by a reversal) stays unknown to the
        index until the next run.
        """
        invoice = self.by_id.get(invoice_id)
        if invoice is None:
            return
        self.by_amount[(invoice.currency, invoice.open_amount)].discard(invoice_id)
        invoice.open_amount = open_amount
        if open_amount > 0:
            self.by_amount[(invoice.currency, open_amount)].add(invoice_id)


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


def _references_in(payment: PaymentFacts) -> list[str]:
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


def split_candidate(
    rule: str, score: int, reason: str, groups: dict[int, list[OpenInvoice]]
) -> tuple[int, list[OpenInvoice], str, int, str]:
    """Return a review candidate that pays the named invoices of every debtor in `groups`, oldest due first.

    The debtor of the oldest invoice is the candidate's debtor, who keeps any
    rest of the payment as credit.
    """
    invoices = _sorted([invoice for group in groups.values() for invoice in group])
    return (invoices[0].debtor_id, invoices, rule, score, f"{reason}, split over {len(groups)} debtors")


def _one_digit_apart(left: str, right: str) -> bool:
    return sum(1 for a, b in zip(left, right, strict=True) if a != b) == 1


def _by_debtor(invoices: list[OpenInvoice]) -> dict[int, list[OpenInvoice]]:
    grouped: dict[int, list[OpenInvoice]] = defaultdict(list)
    for invoice in invoices:
        grouped[invoice.debtor_id].append(invoice)
    return grouped


class Matcher:
    """Apply the rules to payments of one creditor against one InvoiceIndex."""

    def __init__(self, index: InvoiceIndex) -> None:
        self.index = index

    def decide(self, payment: PaymentFacts) -> Decision:
        for rule in (self.structured_reference, self.invoice_numbers, self.payer_iban, self.payer_name):
            decision = rule(payment)
            if decision is not None:
                return decision
        return Decision(MatchRule.NONE, 0, "no rule matched: no valid reference, invoice number, known IBAN or name")

    def _choose(self, rule: str, score: int, payment: PaymentFacts, groups: dict[int, list[OpenInvoice]], reason: str) -> Decision:
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
        payers = payer_debtors(payment, groups, self.index)
        if len(payers) == 1:
            (debtor_id,) = payers
            # Only when the payer's own invoices take the whole payment: a
            # larger payment may also pay the other debtors' invoices.
            if sum((invoice.open_amount for invoice in groups[debtor_id]), ZERO) >= payment.amount:
                return Decision(rule, score, reason + ", payer IBAN or name picks one debtor", invoices=_sorted(groups[debtor_id]))
        candidates = [(debtor_id, _sorted(invoices), rule, score, reason) for debtor_id, invoices in groups.items()]
        if all(sum((invoice.open_amount for invoice in invoices), ZERO) < payment.amount for invoices in groups.values()):
            # No single debtor's invoices take the whole payment, so it may pay for several.
            candidates.append(split_candidate(rule, score, reason, groups))
        return Decision(rule, score, f"{reason}, but on invoices of {len(groups)} debtors", candidates=candidates)

    def structured_reference(self, payment: PaymentFacts) -> Decision | None:
        references = _references_in(payment)
        invoices = self.index.open(pk for reference in references for pk in self.index.by_reference.get(reference, ()))
        if not invoices:
            invoices = self._debtor_reference_invoices(references)
        if not invoices:
            return None
        reason = "structured reference " + ", ".join(references)
        return self._choose(MatchRule.STRUCTURED_REFERENCE, 100, payment, _by_debtor(invoices), reason)

    def _debtor_reference_invoices(self, references: list[str]) -> list[OpenInvoice]:
        """Return the open invoices of the debtor a message reference names.

        A message that lists several invoices gives the debtor one RF
        reference to quote for all of them, with body "D" plus the debtor id (see
        `betaalreis.channels.render.context.debtor_payment_reference`). Only
        this creditor's debtors are in the index, so another creditor's
        reference finds nothing.
        """
        for reference in references:
            body = reference[4:]
            if reference.startswith("RF") and body[:1] == "D" and body[1:].isdigit():
                invoices = self.index.open(self.index.by_debtor.get(int(body[1:]), ()))
                if invoices:
                    return invoices
        return []

    def invoice_numbers(self, payment: PaymentFacts) -> Decision | None:
        text = payment.remittance_info or ""
        if not text:
            return None

        tokens = number_tokens(text)
        strong_hits: set[int] = set()
        weak_hits: set[int] = set()
        for key in tokens.number_keys:
            found = self.index.by_number.get(key, ())
            (weak_hits if key in tokens.weak_keys else strong_hits).update(found)
        runs = tokens.digit_runs
        for run in runs:
            if len(run) >= 4:
                found = self.index.by_digits.get(run, ())
                (weak_hits if run in tokens.weak_keys else strong_hits).update(found)
        strong = self.index.open(strong_hits)
        weak = self.index.open(weak_hits - strong_hits)
        confirmed = confirmed_invoices(payment, weak, strong, self.index)
        invoices = strong + confirmed
        if not invoices and weak:
            return self._unconfirmed_numbers(weak)
        if invoices:
            numbers = ", ".join(invoice.number for invoice in _sorted(invoices))
            reason = f"invoice number {numbers} in the description"
            if confirmed:
                reason += " (short number, confirmed by amount, payer IBAN or name)"
            return self._choose(MatchRule.INVOICE_NUMBER, 90, payment, _by_debtor(invoices), reason)

        return self.invoice_number_typo(payment, runs)

    def _unconfirmed_numbers(self, weak: list[OpenInvoice]) -> Decision:
        """Send a payment that names only short numbers, which nothing confirms, to review."""
        numbers = ", ".join(invoice.number for invoice in _sorted(weak))
        reason = f"short number {numbers} in the description, not confirmed by amount, payer IBAN or name"
        return Decision(
            MatchRule.INVOICE_NUMBER, 30, reason,
            candidates=[
                (debtor_id, _sorted(invoices), MatchRule.INVOICE_NUMBER, 30, reason)
                for debtor_id, invoices in _by_debtor(weak).items()
            ],
        )

    def invoice_number_typo(self, payment: PaymentFacts, runs: list[str]) -> Decision | None:
        """Accept one wrong digit in an invoice number when the amount equals its open amount.

        Only invoices whose open amount equals the payment are compared, so
        the amount index keeps this cheap even with a million open invoices.
        """
        same_amount = self.index.by_amount.get((payment.currency, payment.amount))
        if not same_amount:
            return None
        lengths = {len(run) for run in runs if len(run) >= 5}
        found: list[OpenInvoice] = []
        for invoice in self.index.open(same_amount):
            digits = normalise_number(invoice.number).translate(_DROP_LETTERS)
            if len(digits) not in lengths:
                continue
            if any(len(run) == len(digits) and _one_digit_apart(run, digits) for run in runs):
                found.append(invoice)
        if not found:
            return None
        reason = "invoice number with one wrong digit, amount equal to " + ", ".join(invoice.number for invoice in found)
        if len(found) == 1:
            return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=found)
        return Decision(
            MatchRule.INVOICE_NUMBER_TYPO, 70, reason,
            candidates=[(invoice.debtor_id, [invoice], MatchRule.INVOICE_NUMBER_TYPO, 70, reason) for invoice in found],
        )

    def _amount_decision(self, rule: str, score: int, payment: PaymentFacts, debtor_ids: list[int], reason: str) -> Decision | None:
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

    def payer_iban(self, payment: PaymentFacts) -> Decision | None:
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

    def payer_name(self, payment: PaymentFacts) -> Decision | None:
        if not payment.payer_name:
            return None
        close = self.index.name_candidates(payment.payer_name)
        if not close:
            return None
        return self._amount_decision(
            MatchRule.PAYER_NAME, 50, payment, [debtor_id for debtor_id, _ in close], f"payer name close to debtor name ({payment.payer_name})"
        )
