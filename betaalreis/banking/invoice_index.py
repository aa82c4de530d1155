"""The open invoices and debtors that bank payments name, fetched by key for the matching rules.

InvoiceIndex fetches per chunk of payments only the invoices they quote:
by normalised payment reference, invoice number or its digits (the columns
that ledger.match_keys keeps), then by debtor or by open amount for the
payments that quote nothing open. The rules in rules.py read it in memory,
so deciding costs no query per payment and no run loads every open invoice.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import chain
from typing import Protocol

from django.db import connection

from betaalreis.banking.bulk import postgres_array_literal, raw_rows
from betaalreis.banking.remittance import letter_o_tokens, may_have_letter_o_for_zero, number_tokens
from betaalreis.ledger.actions import PAYABLE_STATUSES
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.match_keys import normalise_name, normalise_number
from betaalreis.ledger.models import Creditor, Debtor, DebtorBankAccount, Invoice, InvoiceKind
from betaalreis.legal.references import is_valid_betalingskenmerk, is_valid_rf_reference

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
_INVOICE = InvoiceKind.INVOICE.value
_ZERO = Decimal("0")
# PostgreSQL array types of the key columns that are not text.
_ARRAY_TYPES = {"debtor_id": "bigint", "open_amount": "numeric"}
_FETCHED_COLUMNS = ("id", "creditor_id", "number", "debtor_id", "open_amount", "currency", "due_date", "kind", "status")

# The length of a betalingskenmerk found in a remittance text.
KENMERK_DIGITS = 16
RF_PATTERN = re.compile(r"\bRF\s?\d{2}(?:\s?[A-Z0-9]){1,21}\b", re.IGNORECASE)
DIGIT_GROUPS = re.compile(r"\d+(?:[ \-./]\d+)*")
_NON_DIGITS = re.compile(r"\D")


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


@dataclass(slots=True)
class PaymentKeys:
    """The references, normalised words and digit runs in a payment's text that could name an invoice.

    `weak_keys` are the words and runs that name an invoice only when the
    payment confirms it (see remittance.number_tokens).
    """

    references: list[str]
    number_keys: set[str]
    digit_runs: list[str]
    weak_keys: set[str]
    # Tails of longer numbers, mapped to the keys of their whole word (see remittance.NumberTokens).
    tail_keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What `InvoiceIndex.numbers` found for these keys, kept because a
    # fetched key's invoices do not change within a run.
    named_invoices: NamedInvoices | None = None
    # The keys that the text gives with letters O typed for zeros read as 0
    # ("INV-2O24-0012"), or None when it has no such O (see remittance.letter_o_tokens).
    letter_o: PaymentKeys | None = None


@dataclass(slots=True)
class NamedInvoices:
    """The ids of the invoices a payment's text names, by how sure the naming is.

    `strong`: a whole word or digit run names the invoice. `weak`: only a weak
    key names it, or a tail that names several invoices. `tails`: only the
    tail of a longer number names it, as the one invoice with that tail. An
    invoice named in several ways is in each of those sets.
    """

    strong: set[int]
    weak: set[int]
    tails: set[int]


def payment_keys(payment: PaymentFacts) -> PaymentKeys:
    """Return the valid references, normalised words, digit runs and weak keys of a payment."""
    text = payment.remittance_info or ""
    if not text:
        return PaymentKeys(references_in(payment, []), set(), [], set())

    # Structured references are looked for in every digit group, also in
    # those that number_tokens splits or leaves out (dates, long references).
    # Only groups of 16 digits can be one, so shorter groups are left out.
    groups = [
        group if group.isdigit() else _NON_DIGITS.sub("", group)
        for group in DIGIT_GROUPS.findall(text)
        if len(group) >= KENMERK_DIGITS
    ]
    tokens = number_tokens(text)
    keys = PaymentKeys(
        references_in(payment, groups), tokens.number_keys, tokens.digit_runs, tokens.weak_keys, tokens.tail_keys
    )
    if may_have_letter_o_for_zero(text) is not None:
        letter_o = letter_o_tokens(text, tokens)
        if letter_o is not None:
            keys.letter_o = PaymentKeys([], letter_o.number_keys, letter_o.digit_runs, set())
    return keys


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
        # Open invoices by currency and open amount. The amount key is a float,
        # because hashing a Decimal took about 0.7 µs in a timeit run and a
        # float 0.06 µs. Floats keep money amounts apart, because MONEY has at
        # most 14 digits and distinct decimals of up to 15 digits map to distinct floats.
        self.by_amount: dict[tuple[str, float], set[int]] = defaultdict(set)
        self._amounts_fetched: set[tuple[str, Decimal]] = set()
        self._debtors_by_iban: dict[str, set[int]] | None = None
        self._names: dict[int, str] | None = None
        self._name_tokens: dict[str, set[int]] | None = None
        self._close_names: dict[str, list[tuple[int, float]]] = {}
        self._requested_totals: dict[frozenset[int], set[tuple[str, Decimal]]] = {}
        self._requested_alone: dict[tuple[str, Decimal], dict[int, str]] = {}
        # Debtor ids from payment references, checked against this creditor's debtors.
        self._own_debtors: set[int] = set()
        self._debtors_checked: set[int] = set()

    def _fetch(self, column: str, keys: list, target: dict | None) -> None:
        """Fetch the open invoices whose `column` is one of `keys`, and list them per key in `target`.

        The query filters on the creditor and `column` only, so the database
        uses the (creditor, column) index. Given the whole filter, SQLite
        would rather scan the (creditor, open_amount) index. The rows that are
        not open are dropped in `_add_rows` instead. By debtor, even the creditor is
        checked there, because SQLite prefers any (creditor, ...) index to the
        debtor index, and a debtor id from a payment's reference may belong to
        another creditor.
        """
        if target is not None:
            for key in keys:
                target[key] = []
        quote = connection.ops.quote_name
        table = Invoice._meta.db_table
        columns = ", ".join(_select_column(name) for name in (*_FETCHED_COLUMNS, column))
        scope = "" if column == "debtor_id" else f"{quote('creditor_id')} = %s AND "
        scope_params = [] if column == "debtor_id" else [self.creditor.pk]
        # PostgreSQL takes all keys as one array parameter, because psycopg
        # splits and quotes thousands of separate parameters in Python.
        batch_size = len(keys) if connection.vendor == "postgresql" else FETCH_BATCH
        for start in range(0, len(keys), batch_size):
            batch = keys[start:start + batch_size]
            if connection.vendor == "postgresql":
                array_type = _ARRAY_TYPES.get(column, "text")
                condition, params = f"{quote(column)} = ANY(%s::{array_type}[])", [*scope_params, postgres_array_literal(batch)]
            else:
                condition, params = f"{quote(column)} IN ({', '.join(['%s'] * len(batch))})", [*scope_params, *batch]
            sql = (
                f"SELECT {columns} FROM {quote(table)} WHERE {scope}{condition} "
                f"ORDER BY {quote('due_date')}, {quote('number')}"
            )
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            self._add_rows(rows, target)

    def _add_rows(self, rows: list[tuple], target: dict | None) -> None:
        """Add the open ones of fetched invoice rows (`_FETCHED_COLUMNS` and the key) to the index."""
        by_id, by_amount = self.by_id, self.by_amount
        own_creditor_id = self.creditor.pk
        # On SQLite the due date comes as text (see _select_column). A fetch
        # returns the same few due dates many times, so each is parsed once.
        dates: dict[object, dt.date] = {}
        for pk, creditor_id, number, debtor_id, open_amount, currency, due_date, kind, status, key in rows:
            # Invoices in a payment plan (status payment_plan) are allocated like any
            # other. payments.plans.paid_so_far counts a plan as paid by how far the
            # open amounts of its invoices went down, so an allocation counts towards
            # the plan without a further step.
            if creditor_id != own_creditor_id or kind != _INVOICE or status not in _PAYABLE or not open_amount > 0:
                continue
            if pk not in by_id:
                # SQLite returns the NUMERIC column as int or float. str() of such a
                # float gives back its two decimals exactly, and a Decimal without
                # trailing zeros compares and hashes equal to one with them.
                amount = open_amount if type(open_amount) is Decimal else Decimal(str(open_amount))
                day = dates.get(due_date)
                if day is None:
                    day = dates[due_date] = (
                        due_date if isinstance(due_date, dt.date) else dt.date.fromisoformat(str(due_date))
                    )
                by_id[pk] = OpenInvoice(pk, number, debtor_id, amount, currency, day)
                by_amount[(currency, float(open_amount))].add(pk)
            if target is not None:
                target[key].append(pk)

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

    def fetch_own_debtors(self, debtor_ids: Iterable[int]) -> None:
        """Check which of `debtor_ids` belong to this creditor, with one query per FETCH_BATCH ids not checked yet.

        A debtor with an invoice under `by_debtor` needs no query, because
        `_add_rows` keeps only this creditor's invoices.
        """
        missing = sorted({pk for pk in debtor_ids if pk not in self._debtors_checked})
        if not missing:
            return
        self._debtors_checked.update(missing)
        self._own_debtors.update(pk for pk in missing if self.by_debtor.get(pk))
        unknown = [pk for pk in missing if pk not in self._own_debtors]
        for start in range(0, len(unknown), FETCH_BATCH):
            batch = unknown[start:start + FETCH_BATCH]
            rows = Debtor.objects.filter(creditor=self.creditor, pk__in=batch).values_list("pk", flat=True)
            self._own_debtors.update(rows)

    def is_own_debtor(self, debtor_id: int) -> bool:
        """Return whether `debtor_id` is a debtor of this creditor, which `prefetch` checks per chunk of payments."""
        self.fetch_own_debtors([debtor_id])
        return debtor_id in self._own_debtors

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
        by_id = self.by_id
        found: list[OpenInvoice] = []
        for pk in ids:
            invoice = by_id.get(pk)
            if invoice is not None and invoice.open_amount > _ZERO:
                found.append(invoice)
        return found

    def any_open(self, ids: Iterable[int]) -> bool:
        """Return whether any of `ids` is a known invoice with an open amount, as `open` would list it."""
        by_id = self.by_id
        for pk in ids:
            invoice = by_id.get(pk)
            if invoice is not None and invoice.open_amount > _ZERO:
                return True
        return False

    def references(self, references: list[str]) -> Iterator[int]:
        self.fetch_references(references)
        for reference in references:
            yield from self.by_reference[reference]

    def numbers(self, keys: PaymentKeys) -> NamedInvoices:
        """Return the ids of invoices whose number or digits a payment quotes, by how sure the naming is."""
        if keys.named_invoices is not None:
            return keys.named_invoices
        by_number, by_digits = self.by_number, self.by_digits
        long_runs = [run for run in keys.digit_runs if len(run) >= 4]
        # After `prefetch` every key is known, and the fetch calls would only check that.
        if not keys.number_keys <= by_number.keys():
            self.fetch_numbers(keys.number_keys)
        for run in long_runs:
            if run not in by_digits:
                self.fetch_digits(long_runs)
                break
        tail_keys = keys.tail_keys
        if tail_keys and not (by_number.keys() >= tail_keys.keys() and by_digits.keys() >= tail_keys.keys()):
            self.fetch_numbers(tail_keys)
            self.fetch_digits(tail_keys)

        named = NamedInvoices(set(), set(), set())
        weak_keys = keys.weak_keys
        for key in keys.number_keys:
            found = by_number.get(key)
            if found:
                (named.weak if key in weak_keys else named.strong).update(found)
        for run in long_runs:
            found = by_digits[run]
            if found:
                (named.weak if run in weak_keys else named.strong).update(found)
        for tail, whole in tail_keys.items():
            if any(by_number.get(key) or by_digits.get(key) for key in whole):
                # The whole word is an invoice number, so its tail is part of it.
                continue
            found_set = {*by_number[tail], *by_digits[tail]}
            (named.tails if len(found_set) == 1 else named.weak).update(found_set)
        keys.named_invoices = named
        return named

    def debtor_invoices(self, debtor_id: int) -> list[OpenInvoice]:
        self.fetch_debtors((debtor_id,))
        return self.open(self.by_debtor[debtor_id])

    def same_amount(self, currency: str, amount: Decimal) -> set[int]:
        self.fetch_amounts(((currency, amount),))
        return self.by_amount.get((currency, float(amount)), set())

    def requested_totals(self, invoice_ids: Iterable[int]) -> set[tuple[str, Decimal]]:
        """Return the (currency, total) pairs that sent messages requested for exactly the invoices `invoice_ids`.

        A message counts only when it listed these invoices and no others,
        and only when it was sent since each invoice's latest dunning restart.
        Its total is the claim as the message stated it: principal, interest
        and costs. Two queries per set of invoices, kept for the run.
        """
        from betaalreis.dunning.reopening import counted_message_items
        from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

        wanted = frozenset(invoice_ids)
        found = self._requested_totals.get(wanted)
        if found is not None:
            return found
        naming = counted_message_items(CommunicationInvoice.objects.filter(
            communication__creditor=self.creditor,
            communication__status=CommunicationStatus.SENT,
            invoice_id__in=list(wanted),
        )).values("communication_id")
        rows = CommunicationInvoice.objects.filter(communication_id__in=naming).values_list(
            "communication_id", "invoice_id", "communication__currency", "communication__total_amount"
        )
        listed: dict[int, set[int]] = defaultdict(set)
        totals: dict[int, tuple[str, Decimal]] = {}
        for communication_id, invoice_id, currency, total in rows:
            listed[communication_id].add(invoice_id)
            totals[communication_id] = (currency, total)
        found = {totals[pk] for pk, ids in listed.items() if ids == wanted}
        self._requested_totals[wanted] = found
        return found

    def requested_alone(self, currency: str, amount: Decimal) -> dict[int, str]:
        """Return the number digits, by invoice id, of invoices that a sent message listing only them requested `amount` for.

        Messages sent before an invoice's dunning restarted still appear, so
        check a found invoice with `requested_totals`.
        """
        key = (currency, amount)
        if key not in self._requested_alone:
            self.fetch_requested_alone([key])
        return self._requested_alone[key]

    def fetch_requested_alone(self, amounts: Iterable[tuple[str, Decimal]]) -> None:
        """Fetch, for the (currency, amount) pairs not fetched yet, what `requested_alone` returns.

        One query per FETCH_BATCH amounts, on the (creditor, total_amount) index of
        communications, kept for the run.
        """
        from betaalreis.outbox.models import CommunicationInvoice, CommunicationStatus

        missing = sorted({key for key in amounts if key not in self._requested_alone and key[1] > 0})
        for key in missing:
            self._requested_alone[key] = {}
        requested_keys = set(missing)
        amounts_only = sorted({amount for _, amount in missing})
        listed: dict[int, list[tuple[tuple[str, Decimal], int, str]]] = defaultdict(list)
        for start in range(0, len(amounts_only), FETCH_BATCH):
            rows = CommunicationInvoice.objects.filter(
                communication__creditor=self.creditor,
                communication__total_amount__in=amounts_only[start:start + FETCH_BATCH],
                communication__status=CommunicationStatus.SENT,
            ).values_list(
                "communication_id", "communication__currency", "communication__total_amount",
                "invoice_id", "invoice__number_digits",
            )
            for communication_id, currency, total, invoice_id, digits in rows:
                listed[communication_id].append(((currency, total), invoice_id, digits))

        for items in listed.values():
            key, invoice_id, digits = items[0]
            if len(items) == 1 and key in requested_keys:
                self._requested_alone[key][invoice_id] = digits

    @property
    def debtors_by_iban(self) -> dict[str, set[int]]:
        if self._debtors_by_iban is None:
            self._debtors_by_iban = defaultdict(set)
            for iban, debtor_id in DebtorBankAccount.objects.filter(creditor=self.creditor).values_list("iban", "debtor_id"):
                self._debtors_by_iban[compact_iban(iban)].add(debtor_id)
        return self._debtors_by_iban

    def add_bank_account(self, iban: str, debtor_id: int) -> None:
        """Record a new link of a compact IBAN to a debtor, when the links are loaded (a later load reads it from the database)."""
        if self._debtors_by_iban is not None:
            self._debtors_by_iban[iban].add(debtor_id)

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
        self.fetch_references(chain.from_iterable(item.references for item in keys))
        self.fetch_numbers(chain.from_iterable(chain(item.number_keys, item.tail_keys) for item in keys))
        self.fetch_digits(chain.from_iterable(chain(item.digit_runs, item.tail_keys) for item in keys))
        referenced_debtors = {
            debtor_id for item in keys for reference in item.references
            if (debtor_id := debtor_in_reference(reference)) is not None
        }
        self.fetch_debtors(referenced_debtors)
        # The rules ask whether a referenced debtor without open invoices is this creditor's.
        self.fetch_own_debtors(referenced_debtors)

        amounts: set[tuple[str, Decimal]] = set()
        debtor_ids: set[int] = set()
        named: list[str] = []
        for payment, item in zip(payments, keys, strict=True):
            quoted = self.numbers(item)
            if item.references and self.any_open(self.references(item.references)):
                continue
            if self.any_open(quoted.strong) or self.any_open(quoted.weak) or self.any_open(quoted.tails):
                continue
            if payment.remittance_info and any(len(run) >= 5 for run in item.digit_runs):
                amounts.add((payment.currency, payment.amount))
            iban = compact_iban(payment.payer_iban or "")
            known = self.debtors_by_iban.get(iban, ()) if iban else ()
            debtor_ids.update(known)
            if not known and payment.payer_name:
                named.append(payment.payer_name)
        self.fetch_amounts(amounts)
        self.fetch_requested_alone(amounts)
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
            names, name_tokens = self._names, self._name_tokens
            for pk, name_key in raw_rows(queryset):
                names[pk] = name_key
                for token in name_key.split():
                    name_tokens[token].add(pk)
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
            if self._names[pk] == wanted and len(wanted) < 200:
                # difflib's ratio of two equal strings is 1.0. From 200
                # characters on, its autojunk heuristic may give less.
                scored.append((pk, 1.0))
                continue
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
        if invoice is None or invoice.open_amount == open_amount:
            # Unchanged, as when an allocation confirms what matching reserved.
            return
        self.by_amount[(invoice.currency, float(invoice.open_amount))].discard(invoice_id)
        invoice.open_amount = open_amount
        if open_amount > 0:
            self.by_amount[(invoice.currency, float(open_amount))].add(invoice_id)


def _select_column(name: str) -> str:
    """Return the SELECT expression of an invoice column for `InvoiceIndex._fetch`.

    Django's SQLite backend registers a converter for columns declared as
    date, which parses each value in a Python call. A CAST leaves the
    expression without a declared type, so SQLite returns the ISO text and
    `_add_rows` parses each distinct date once.
    """
    quoted = connection.ops.quote_name(name)
    if name == "due_date" and connection.vendor == "sqlite":
        return f"CAST({quoted} AS TEXT)"
    return quoted


def references_in(payment: PaymentFacts, digit_groups: list[str]) -> list[str]:
    """Return the structured references of a payment whose check digits are valid.

    `digit_groups` are the digit groups of its remittance text with the
    separators removed.
    """
    found: list[str] = []
    candidates = [payment.structured_reference] if payment.structured_reference else []
    text = payment.remittance_info or ""
    if "RF" in text.upper():
        candidates += [reference for match in RF_PATTERN.finditer(text) for reference in _valid_rf_references(match.group(0))]
    candidates += [group for group in digit_groups if len(group) == KENMERK_DIGITS]
    for candidate in candidates:
        compact = normalise_number(candidate)
        if compact.startswith("RF"):
            valid = is_valid_rf_reference(compact)
        else:
            valid = compact.isdigit() and is_valid_betalingskenmerk(compact)
        if valid and compact not in found:
            found.append(compact)
    return found


def _valid_rf_references(match: str) -> list[str]:
    """Return the references with valid check digits in an RF match, each the longest run of whole words.

    The pattern reads the words after a reference as part of it, so "RF45 D5
    restant" or two references in a row match as one. Each word that starts
    with RF begins a candidate, and dropping words from its end finds RF45D5.
    """
    words = match.split()
    found: list[str] = []
    start = 0
    while start < len(words):
        if words[start][:2].upper() != "RF":
            start += 1
            continue

        end = len(words)
        while end > start and not is_valid_rf_reference(normalise_number("".join(words[start:end]))):
            end -= 1
        if end == start:
            start += 1
            continue
        found.append("".join(words[start:end]))
        start = end
    return found


def debtor_in_reference(reference: str) -> int | None:
    """Return the debtor id of a message reference (RF, check digits, "D", debtor id), or None."""
    body = reference[4:]
    if reference.startswith("RF") and body[:1] == "D" and body[1:].isdigit():
        return int(body[1:])
    return None
