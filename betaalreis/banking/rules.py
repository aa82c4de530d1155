"""The matching rules: which invoices a bank payment pays, decided in memory.

The rules run in order of certainty, and the first rule that finds invoices
or candidates decides:

1. structured reference: an ISO 11649 RF reference or a Dutch betalingskenmerk
   with valid check digits, equal to an invoice's payment reference (score 100);
2. invoice numbers in the remittance text, several per payment, ignoring
   spaces, dashes and prefixes (score 90). One wrong digit is accepted only
   when the amount equals that invoice's open amount (score 70);
3. payer IBAN linked to a debtor, and the amount equal to one open invoice
   or to exactly one set of that debtor's open invoices (score 60);
4. payer name close to a debtor's name, and the amount as in rule 3 (score 50).

When a rule finds several debtors or invoice sets of the same score, the
Decision lists them as candidates for the review queue instead of invoices
to pay.

The rules read the creditor's open invoices from an InvoiceIndex, which
fetches per chunk of payments only the invoices they name (by normalised
reference, number or digits, by debtor or by amount), so deciding costs no
query per payment and no run loads every open invoice.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from django.db import connection, connections
from django.db.models import QuerySet

from betaalreis.banking.models import MatchRule
from betaalreis.ledger.actions import PAYABLE_STATUSES
from betaalreis.ledger.match_keys import key_digits, normalise_name, normalise_number
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

# Keys per IN (...) query, below SQLite's default limit of 999 parameters.
FETCH_BATCH = 900
_PAYABLE = frozenset(status.value for status in PAYABLE_STATUSES)
_FETCHED_COLUMNS = ("id", "creditor_id", "number", "debtor_id", "open_amount", "currency", "due_date", "kind", "status")

RF_PATTERN = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}\b", re.IGNORECASE)
DIGIT_GROUPS = re.compile(r"\d+(?:[ \-./]\d+)*")
_DIGITS = re.compile(r"\d+")
_NON_DIGITS = re.compile(r"\D")
TOKENS = re.compile(r"[A-Za-z0-9]+(?:[\-_/.][A-Za-z0-9]+)*")


def _raw_rows(queryset: QuerySet) -> Iterator[tuple]:
    """Yield the rows of a values_list query as the database driver returns them.

    This skips Django's per-value converters on the many rows a run may
    load. Callers convert the few values that need it.
    """
    sql, params = queryset.query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(20000):
            yield from rows


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


@dataclass(slots=True)
class PaymentKeys:
    """The references, normalised tokens and digit runs in a payment's text that could name an invoice."""

    references: list[str]
    number_keys: set[str]
    digit_runs: list[str]


def payment_keys(payment: PaymentFacts) -> PaymentKeys:
    """Return the valid references, normalised tokens and digit runs of a payment."""
    text = payment.remittance_info or ""
    number_keys = {normalise_number(token) for token in TOKENS.findall(text)} if text else set()
    groups: list[str] = []
    runs: list[str] = []
    for match in DIGIT_GROUPS.finditer(text):
        group = match.group(0)
        if group.isdigit():
            groups.append(group)
            runs.append(group)
            continue
        joined = _NON_DIGITS.sub("", group)
        groups.append(joined)
        parts = _DIGITS.findall(group)
        runs += [joined, *parts] if len(parts) > 1 else [joined]
    return PaymentKeys(_references_in(payment, groups), number_keys, runs)


class InvoiceIndex:
    """The creditor's open invoices that payments name, fetched by key, and the lookups the rules need.

    Each lookup (reference, number, digits, debtor, amount) fetches the keys
    it has not seen with one query. `prefetch` collects the keys of a whole
    chunk of payments first, so deciding a chunk costs a few queries in all
    and never loads invoices that no payment names. A fetched key stays
    complete for the run: invoices paid meanwhile keep their place with the
    lower open amount that `settle` records, and `open` leaves them out.
    """

    def __init__(self, creditor: Creditor) -> None:
        self.creditor = creditor
        self.by_id: dict[int, OpenInvoice] = {}
        self.by_reference: dict[str, list[int]] = {}
        self.by_number: dict[str, list[int]] = {}
        self.by_digits: dict[str, list[int]] = {}
        self.by_debtor: dict[int, list[int]] = {}
        self.by_amount: dict[tuple[str, Decimal], set[int]] = defaultdict(set)
        self._amounts_fetched: set[tuple[str, Decimal]] = set()
        self._debtors_by_iban: dict[str, set[int]] | None = None
        self._names: dict[int, str] | None = None
        self._name_tokens: dict[str, set[int]] | None = None
        self._close_names: dict[str, list[tuple[int, float]]] = {}

    def _open_invoices(self) -> QuerySet:
        return Invoice.objects.filter(
            creditor=self.creditor,
            kind=InvoiceKind.INVOICE,
            status__in=PAYABLE_STATUSES,
            open_amount__gt=0,
        )

    def _fetch(self, column: str, keys: list, target: dict | None) -> None:
        """Fetch the open invoices whose `column` is one of `keys`, and list them per key in `target`.

        The query filters on the creditor and `column` only, so the database
        uses the (creditor, column) index. Given the whole filter, SQLite
        would rather scan the (creditor, open_amount) index. The rows that are
        not open are dropped here instead. By debtor, even the creditor is
        checked here, because SQLite prefers any (creditor, ...) index to the
        debtor index, and a debtor id from a payment's reference may belong to
        another creditor.
        """
        if target is not None:
            for key in keys:
                target[key] = []
        quote = connection.ops.quote_name
        table = Invoice._meta.db_table
        columns = ", ".join(quote(name) for name in (*_FETCHED_COLUMNS, column))
        scope = "" if column == "debtor_id" else f"{quote('creditor_id')} = %s AND "
        scope_params = [] if column == "debtor_id" else [self.creditor.pk]
        for start in range(0, len(keys), FETCH_BATCH):
            batch = keys[start:start + FETCH_BATCH]
            sql = (
                f"SELECT {columns} FROM {quote(table)} WHERE {scope}"
                f"{quote(column)} IN ({', '.join(['%s'] * len(batch))}) "
                f"ORDER BY {quote('due_date')}, {quote('number')}"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, [*scope_params, *batch])
                rows = cursor.fetchall()
            for pk, creditor_id, number, debtor_id, open_amount, currency, due_date, kind, status, key in rows:
                # Invoices in a payment plan (status payment_plan) are allocated like any
                # other. payments.plans.paid_so_far counts a plan as paid by how far the
                # open amounts of its invoices went down, so an allocation counts towards
                # the plan without a further step.
                if creditor_id != self.creditor.pk or kind != InvoiceKind.INVOICE.value or status not in _PAYABLE or not open_amount > 0:
                    continue
                if pk not in self.by_id:
                    self._add(pk, number, debtor_id, open_amount, currency, due_date)
                if target is not None:
                    target[key].append(pk)

    def _add(self, pk: int, number: str, debtor_id: int, open_amount: object, currency: str, due_date: object) -> None:
        if not isinstance(open_amount, Decimal):
            # SQLite returns the NUMERIC column as int or float. str() of such a
            # float gives back its two decimals exactly, and a Decimal without
            # trailing zeros compares and hashes equal to one with them.
            open_amount = Decimal(str(open_amount))
        if not isinstance(due_date, dt.date):
            due_date = dt.date.fromisoformat(str(due_date))
        self.by_id[pk] = OpenInvoice(pk, number, debtor_id, open_amount, currency, due_date)
        self.by_amount[(currency, open_amount)].add(pk)

    def fetch_references(self, references: Iterable[str]) -> None:
        missing = sorted({reference for reference in references if reference not in self.by_reference})
        if missing:
            self._fetch("reference_key", missing, self.by_reference)

    def fetch_numbers(self, keys: Iterable[str]) -> None:
        missing = sorted({key for key in keys if key and key not in self.by_number})
        if missing:
            self._fetch("number_key", missing, self.by_number)

    def fetch_digits(self, runs: Iterable[str]) -> None:
        missing = sorted({run for run in runs if len(run) >= 4 and run not in self.by_digits})
        if missing:
            self._fetch("number_digits", missing, self.by_digits)

    def fetch_debtors(self, debtor_ids: Iterable[int]) -> None:
        missing = sorted({pk for pk in debtor_ids if pk not in self.by_debtor})
        if missing:
            self._fetch("debtor_id", missing, self.by_debtor)

    def fetch_amounts(self, amounts: Iterable[tuple[str, Decimal]]) -> None:
        """Fetch the open invoices of the given (currency, open amount) pairs into `by_amount`."""
        # Open invoices have an open amount above zero, and the query must not
        # fetch every paid invoice for a payment of zero.
        missing = sorted({amount for amount in amounts if amount not in self._amounts_fetched and amount[1] > 0})
        if not missing:
            return
        # The query ignores the currency, so every currency's bucket of these
        # amounts is complete afterwards. The invoices land in by_amount
        # through _add, and an invoice already in by_id keeps its bucket.
        amounts_only = sorted({amount for _, amount in missing})
        self._amounts_fetched.update(missing)
        self._fetch("open_amount", amounts_only, None)

    def open(self, ids: Iterable[int]) -> list[OpenInvoice]:
        found = (self.by_id.get(pk) for pk in ids)
        return [invoice for invoice in found if invoice is not None and invoice.open_amount > 0]

    def references(self, references: list[str]) -> Iterator[int]:
        self.fetch_references(references)
        for reference in references:
            yield from self.by_reference[reference]

    def numbers(self, keys: PaymentKeys) -> set[int]:
        """Return the ids of invoices whose number or digits a payment quotes."""
        self.fetch_numbers(keys.number_keys)
        self.fetch_digits(keys.digit_runs)
        hits: set[int] = set()
        for key in keys.number_keys:
            hits.update(self.by_number.get(key, ()))
        for run in keys.digit_runs:
            if len(run) >= 4:
                hits.update(self.by_digits[run])
        return hits

    def debtor_invoices(self, debtor_id: int) -> list[OpenInvoice]:
        self.fetch_debtors((debtor_id,))
        return self.open(self.by_debtor[debtor_id])

    def same_amount(self, currency: str, amount: Decimal) -> set[int]:
        self.fetch_amounts(((currency, amount),))
        return self.by_amount.get((currency, amount), set())

    @property
    def debtors_by_iban(self) -> dict[str, set[int]]:
        if self._debtors_by_iban is None:
            self._debtors_by_iban = defaultdict(set)
            for iban, debtor_id in DebtorBankAccount.objects.filter(creditor=self.creditor).values_list("iban", "debtor_id"):
                self._debtors_by_iban[iban.replace(" ", "").upper()].add(debtor_id)
        return self._debtors_by_iban

    def prefetch(self, payments: Sequence[PaymentFacts]) -> list[PaymentKeys]:
        """Fetch what the rules may need for `payments` in a few queries; return their keys in order.

        The first round fetches what the payments quote. The second fetches,
        for the payments that quote no open invoice, what the later rules
        compare: invoices of the same amount, and the invoices of debtors known
        by IBAN or name. A payment whose invoices an earlier payment of the
        chunk pays may still need a key that is not fetched, and the lookups
        then fetch it on their own.
        """
        keys = [payment_keys(payment) for payment in payments]
        self.fetch_references(reference for item in keys for reference in item.references)
        self.fetch_numbers(key for item in keys for key in item.number_keys)
        self.fetch_digits(run for item in keys for run in item.digit_runs)
        self.fetch_debtors(
            debtor_id for item in keys for reference in item.references
            if (debtor_id := _debtor_in_reference(reference)) is not None
        )

        amounts: set[tuple[str, Decimal]] = set()
        debtor_ids: set[int] = set()
        named: list[str] = []
        for payment, item in zip(payments, keys, strict=True):
            if self.open(self.references(item.references)) or self.open(self.numbers(item)):
                continue
            if payment.remittance_info and any(len(run) >= 5 for run in item.digit_runs):
                amounts.add((payment.currency, payment.amount))
            iban = (payment.payer_iban or "").replace(" ", "").upper()
            known = self.debtors_by_iban.get(iban, ()) if iban else ()
            debtor_ids.update(known)
            if not known and payment.payer_name:
                named.append(payment.payer_name)
        self.fetch_amounts(amounts)
        # The name rule needs the invoices of every debtor that shares a name
        # token with a payer, to know whether the debtor has any open.
        self.fetch_debtors(debtor_ids.union(*(self.name_holders(name) for name in named)))
        return keys

    def name_candidates(self, name: str) -> list[tuple[int, float]]:
        """Return the debtors whose names are closest to `name`, with their similarity.

        Only names at least NAME_SIMILARITY alike count, and only those within
        NAME_TIE of the best, so one clearly closer name wins on its own.
        The result is kept per name for the run, because `prefetch` and the
        rule both ask.
        """
        found = self._close_names.get(name)
        if found is None:
            found = self._close_names[name] = self._name_candidates(name)
        return found

    def _load_names(self) -> dict[str, set[int]]:
        """Load the normalised names of all the creditor's debtors, by name token."""
        if self._name_tokens is None:
            self._names = {}
            self._name_tokens = defaultdict(set)
            queryset = Debtor.objects.filter(creditor=self.creditor).order_by().values_list("id", "name_key")
            for pk, name_key in _raw_rows(queryset):
                self._names[pk] = name_key
                for token in set(name_key.split()):
                    self._name_tokens[token].add(pk)
        return self._name_tokens

    def name_holders(self, name: str) -> set[int]:
        """Return the debtors that share a name token with `name`, leaving out tokens common to many debtors."""
        name_tokens = self._load_names()
        holders: set[int] = set()
        for token in set(normalise_name(name).split()):
            found = name_tokens.get(token, ())
            if len(found) <= COMMON_NAME_TOKEN:
                holders.update(found)
        return holders

    def _name_candidates(self, name: str) -> list[tuple[int, float]]:
        name_tokens = self._load_names()
        assert self._names is not None
        wanted = normalise_name(name)
        if not wanted:
            return []

        # Only debtors that share the most name tokens with the payer are
        # compared, because difflib compares the names character by character in Python.
        # NOTE: a token counts as common by the number of all the creditor's
        # debtors that have it, also those without an open invoice.
        shared: Counter[int] = Counter()
        for token in set(wanted.split()):
            holders = name_tokens.get(token, ())
            if len(holders) <= COMMON_NAME_TOKEN:
                shared.update(holders)
        # Only debtors with an open invoice can be paid by name.
        self.fetch_debtors(shared)
        shared = Counter({pk: count for pk, count in shared.items() if self.by_debtor[pk]})
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

        NOTE: an invoice that a reversal reopens, but that was not open when
        one of its keys was fetched, stays unknown under that key until the
        next run.
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


def _references_in(payment: PaymentFacts, digit_groups: list[str]) -> list[str]:
    """Return the structured references of a payment whose check digits are valid.

    `digit_groups` are the digit groups of its remittance text with the
    separators removed.
    """
    found: list[str] = []
    candidates = [payment.structured_reference] if payment.structured_reference else []
    text = payment.remittance_info or ""
    if "RF" in text.upper():
        candidates += [match.group(0) for match in RF_PATTERN.finditer(text)]
    candidates += [group for group in digit_groups if len(group) == 16]
    for candidate in candidates:
        compact = normalise_number(candidate)
        if compact.startswith("RF"):
            valid = is_valid_rf_reference(compact)
        else:
            valid = compact.isdigit() and is_valid_betalingskenmerk(compact)
        if valid and compact not in found:
            found.append(compact)
    return found


def _debtor_in_reference(reference: str) -> int | None:
    """Return the debtor id of a message reference (RF, check digits, "D", debtor id), or None."""
    body = reference[4:]
    if reference.startswith("RF") and body[:1] == "D" and body[1:].isdigit():
        return int(body[1:])
    return None


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

    def decide(self, payment: PaymentFacts, keys: PaymentKeys | None = None) -> Decision:
        """Apply the rules in order; `keys` are the payment's `payment_keys`, computed here when not given."""
        if keys is None:
            keys = payment_keys(payment)
        decision = self.structured_reference(payment, keys) or self.invoice_numbers(payment, keys)
        if decision is None:
            decision = self.payer_iban(payment) or self.payer_name(payment)
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
        return Decision(
            rule, score, f"{reason}, but on invoices of {len(groups)} debtors",
            candidates=[(debtor_id, _sorted(invoices), rule, score, reason) for debtor_id, invoices in groups.items()],
        )

    def structured_reference(self, payment: PaymentFacts, keys: PaymentKeys) -> Decision | None:
        references = keys.references
        if not references:
            return None
        invoices = self.index.open(self.index.references(references))
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
            debtor_id = _debtor_in_reference(reference)
            if debtor_id is not None:
                invoices = self.index.debtor_invoices(debtor_id)
                if invoices:
                    return invoices
        return []

    def invoice_numbers(self, payment: PaymentFacts, keys: PaymentKeys) -> Decision | None:
        if not payment.remittance_info:
            return None

        invoices = self.index.open(self.index.numbers(keys))
        if invoices:
            numbers = ", ".join(invoice.number for invoice in _sorted(invoices))
            return self._choose(MatchRule.INVOICE_NUMBER, 90, payment, _by_debtor(invoices), f"invoice number {numbers} in the description")

        return self.invoice_number_typo(payment, keys.digit_runs)

    def invoice_number_typo(self, payment: PaymentFacts, runs: list[str]) -> Decision | None:
        """Accept one wrong digit in an invoice number when the amount equals its open amount.

        Only invoices whose open amount equals the payment are compared, so
        the amount index keeps this cheap even with a million open invoices.
        """
        lengths = {len(run) for run in runs if len(run) >= 5}
        if not lengths:
            return None
        same_amount = self.index.same_amount(payment.currency, payment.amount)
        if not same_amount:
            return None
        found: list[OpenInvoice] = []
        for invoice in self.index.open(same_amount):
            digits = key_digits(normalise_number(invoice.number))
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
            invoices = self.index.debtor_invoices(debtor_id)
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
