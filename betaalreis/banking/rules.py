"""The matching rules: which invoices a bank payment pays, decided in memory.

The rules run in order of certainty, and the first rule that finds invoices
or candidates decides:

1. structured reference: an ISO 11649 RF reference or a Dutch betalingskenmerk
   with valid check digits, equal to an invoice's payment reference (score 100);
2. invoice numbers in the remittance text, several per payment, ignoring
   spaces, dashes and prefixes (score 90). A number inside a longer
   reference or a date does not count (see `remittance`), and a bare number
   of up to four digits counts only when the amount, payer IBAN or payer name
   confirms it. An invoice number at the end of a longer number
   ("ordernr 1501-2026-0301") counts when the whole number names no invoice
   and the tail names only one (score 80). A tail that names several counts
   as a short number does. The letter O typed for a zero ("INV-2O24-0012")
   is accepted only when the amount equals that invoice's open amount or the
   total that a sent message requested for it (score 70). A number of five
   or more digits with one wrong digit is accepted only when the amount
   equals the open amount of exactly one invoice one digit away, no other
   open invoice is one digit away, the text names no invoice that is not
   open, and the payer IBAN is not linked only to other debtors (score 70).
   Otherwise it goes to review with these invoices as candidates.
   A number with one wrong digit beside whole numbers of the same debtor
   ("2026-1003 en 2026-0104") counts when the amount equals the open amount
   of all these invoices together, or the total a sent message requested for
   exactly them (score 70);
3. payer IBAN linked to a debtor, and the amount equal to one open invoice
   or to exactly one set of that debtor's open invoices (score 60);
4. payer name close to a debtor's name, and the amount as in rule 3 (score 50);
5. an invoice number typed with the letter O for a zero that the amount did
   not confirm: a candidate for review (score 30).

When a rule finds several debtors or invoice sets of the same score, and
neither the amount nor the payer IBAN or name picks one, the Decision lists them as candidates for the review queue instead of invoices
to pay.

The rules read the creditor's open invoices from an InvoiceIndex
(invoice_index.py), which fetches per chunk of payments only the invoices
they name, so deciding costs no query per payment.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from betaalreis.banking.invoice_index import (
    InvoiceIndex,
    OpenInvoice,
    PaymentFacts,
    PaymentKeys,
    debtor_in_reference,
    payment_keys,
)
from betaalreis.banking.models import MatchRule
from betaalreis.banking.remittance import confirmed_invoices, payer_debtors
from betaalreis.banking.typo_numbers import MIN_TYPO_DIGITS, NearNumbers, near_numbers, typo_runs
from betaalreis.ledger.iban import compact_iban
from betaalreis.ledger.match_keys import key_digits, normalise_number

ZERO = Decimal("0.00")
# The subset search for rule 3 and 4 tries every combination of a debtor's
# open invoices up to this many invoices (2^12 = 4096 sums).
MAX_SUBSET_INVOICES = 12


@dataclass
class Decision:
    """The outcome of the rules for one payment: invoices to pay, or candidates to review."""

    rule: str
    score: int
    reason: str
    invoices: list[OpenInvoice] = field(default_factory=list)
    candidates: list[tuple[int, list[OpenInvoice], str, int, str]] = field(default_factory=list)
    # True when the payment quotes a structured reference or whole invoice
    # numbers, all of one debtor, so its payer account is that debtor's
    # (see `iban_learning`). Weaker rules leave it False.
    names_debtor: bool = False


def _sorted(invoices: list[OpenInvoice]) -> list[OpenInvoice]:
    if len(invoices) < 2:
        # Most payments pay one invoice, which needs no sort key.
        return list(invoices)
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


def _one_digit_from_a_run(digits: str, runs: list[str], lengths: set[int]) -> bool:
    """Return whether `digits` has one of `lengths` and is one digit apart from a run of the same length."""
    if len(digits) not in lengths:
        return False
    return any(len(run) == len(digits) and _one_digit_apart(run, digits) for run in runs)


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
        if decision is not None:
            return decision
        weaker = self.payer_iban(payment) or self.payer_name(payment) or self.letter_o_candidates(keys)
        if weaker is not None and weaker.invoices:
            return weaker
        # A reference of a debtor whose invoices are all closed explains the
        # payment better than review candidates from a known IBAN or name. So
        # a second payment of one reference gets the same reason whether or
        # not the first one has linked the payer IBAN to the debtor yet.
        settled_debtor = self._debtor_without_open_invoices(keys.references)
        if settled_debtor is not None:
            return self._settled_debtor_decision(*settled_debtor, other=weaker)
        if weaker is not None:
            return weaker
        return Decision(MatchRule.NONE, 0, "no rule matched: no valid reference, invoice number, known IBAN or name")

    @staticmethod
    def _settled_debtor_decision(debtor_id: int, reference: str, *, other: Decision | None) -> Decision:
        """Return the review decision for a payment whose reference names a debtor without open invoices.

        The reference's debtor is the first candidate. The candidates of
        `other` (a known IBAN or name without a fitting amount) for other
        debtors follow it.
        """
        reason = (
            f"structured reference {reference} names a debtor without open invoices; "
            "paid twice or paid late, so keep it as credit or refund it"
        )
        candidates = [(debtor_id, [], MatchRule.STRUCTURED_REFERENCE, 100, reason)]
        if other is not None:
            candidates += [candidate for candidate in other.candidates if candidate[0] != debtor_id]
        return Decision(MatchRule.NONE, 0, reason, candidates=candidates)

    def _debtor_without_open_invoices(self, references: list[str]) -> tuple[int, str] | None:
        """Return the debtor of this creditor that a message reference names, with the reference, or None."""
        for reference in references:
            debtor_id = debtor_in_reference(reference)
            if debtor_id is not None and self.index.is_own_debtor(debtor_id):
                return debtor_id, reference
        return None

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
        # By debtor id, so the review queue lists the candidates in the same order on every run.
        candidates = [(debtor_id, _sorted(invoices), rule, score, reason) for debtor_id, invoices in sorted(groups.items())]
        if all(sum((invoice.open_amount for invoice in invoices), ZERO) < payment.amount for invoices in groups.values()):
            # No single debtor's invoices take the whole payment, so it may pay for several.
            candidates.append(split_candidate(rule, score, reason, groups))
        return Decision(rule, score, f"{reason}, but on invoices of {len(groups)} debtors", candidates=candidates)

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
        groups = _by_debtor(invoices)
        decision = self._choose(MatchRule.STRUCTURED_REFERENCE, 100, payment, groups, reason)
        decision.names_debtor = len(groups) == 1
        return decision

    def _debtor_reference_invoices(self, references: list[str]) -> list[OpenInvoice]:
        """Return the open invoices of the debtor a message reference names.

        A message that lists several invoices gives the debtor one RF
        reference to quote for all of them, with body "D" plus the debtor id (see
        `betaalreis.channels.render.context.debtor_payment_reference`). Only
        this creditor's debtors are in the index, so another creditor's
        reference finds nothing.
        """
        for reference in references:
            debtor_id = debtor_in_reference(reference)
            if debtor_id is not None:
                invoices = self.index.debtor_invoices(debtor_id)
                if invoices:
                    return invoices
        return []

    def invoice_numbers(self, payment: PaymentFacts, keys: PaymentKeys) -> Decision | None:
        if not payment.remittance_info:
            return None

        named = self.index.numbers(keys)
        strong = self.index.open(named.strong)
        if named.tails or named.weak:
            tails = self.index.open(named.tails - named.strong)
            weak = self.index.open(named.weak - named.strong - named.tails)
            confirmed = confirmed_invoices(payment, weak, strong + tails, self.index)
            invoices = strong + tails + confirmed
        else:
            # Only whole numbers name invoices, as in most payments.
            tails, weak, confirmed, invoices = [], [], [], strong
        if not invoices and weak:
            return self._unconfirmed_numbers(weak)
        if invoices:
            numbers = ", ".join(invoice.number for invoice in _sorted(invoices))
            reason = f"invoice number {numbers} in the description"
            if tails:
                reason += " (at the end of a longer number)"
            if confirmed:
                reason += " (short number, confirmed by amount, payer IBAN or name)"
            # A tail alone is less sure than a whole number.
            score = 80 if tails and not strong else 90
            if strong and not tails and not confirmed:
                typo = self.typo_beside_numbers(payment, keys, strong)
                if typo is not None:
                    return typo
            groups = _by_debtor(invoices)
            decision = self._choose(MatchRule.INVOICE_NUMBER, score, payment, groups, reason)
            # A tail or a confirmed short number may be another number by chance.
            decision.names_debtor = len(groups) == 1 and not tails and not confirmed
            return decision

        return self.invoice_number_typo(payment, keys.digit_runs) or self.letter_o_for_zero(payment, keys)

    def _amount_confirmation(self, payment: PaymentFacts, invoices: list[OpenInvoice]) -> str | None:
        """Return the reason phrase when the payment equals what `invoices` together are due, else None.

        Due is their open amount (the principal left), or the total of a sent
        message that requested exactly these invoices: principal, interest
        and costs as the message stated them.
        """
        if any(invoice.currency != payment.currency for invoice in invoices):
            return None
        if sum((invoice.open_amount for invoice in invoices), ZERO) == payment.amount:
            return "amount equals their open amount"
        if (payment.currency, payment.amount) in self.index.requested_totals(invoice.id for invoice in invoices):
            return "amount equals the total a sent message requested for them"
        return None

    def typo_beside_numbers(self, payment: PaymentFacts, keys: PaymentKeys, named: list[OpenInvoice]) -> Decision | None:
        """Pay whole-number invoices and a number with one wrong digit beside them, when the amount confirms the set.

        The debtor paid "factuur 2026-1003 en 2026-0104" for 2026-0103 and
        2026-0104. The typo candidates are the other open invoices of the one
        debtor that `named` belong to, one digit away from a digit run that
        names no invoice. Exactly one choice of candidates, one per such run,
        must make the amount equal what the invoices together are due
        (`_amount_confirmation`). Otherwise the whole numbers decide alone.
        """
        if len(_by_debtor(named)) != 1 or payment.amount <= sum((invoice.open_amount for invoice in named), ZERO):
            return None
        by_digits = self.index.by_digits
        unnamed = [run for run in dict.fromkeys(keys.digit_runs) if len(run) >= 5 and not by_digits.get(run)]
        if not unnamed:
            return None
        named_ids = {invoice.id for invoice in named}
        others = [
            (invoice, key_digits(normalise_number(invoice.number)))
            for invoice in self.index.debtor_invoices(named[0].debtor_id)
            if invoice.id not in named_ids
        ]
        choices: list[list[tuple[str, OpenInvoice]]] = []
        for run in unnamed:
            near = [(run, invoice) for invoice, digits in others if len(digits) == len(run) and _one_digit_apart(run, digits)]
            if near:
                choices.append(near)
        if not choices:
            return None

        confirmed: list[tuple[list[tuple[str, OpenInvoice]], str]] = []
        for choice in itertools.product(*choices):
            typo_invoices = [invoice for _, invoice in choice]
            if len({invoice.id for invoice in typo_invoices}) != len(typo_invoices):
                continue
            phrase = self._amount_confirmation(payment, named + typo_invoices)
            if phrase is not None:
                confirmed.append((list(choice), phrase))
        if len(confirmed) != 1:
            return None

        choice, phrase = confirmed[0]
        numbers = ", ".join(invoice.number for invoice in _sorted(named))
        written = ", ".join(f"{invoice.number} written as {run}" for run, invoice in choice)
        reason = f"invoice number {numbers} in the description, and {written} with one wrong digit, {phrase}"
        return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=_sorted(named + [invoice for _, invoice in choice]))

    def _unconfirmed_numbers(self, weak: list[OpenInvoice]) -> Decision:
        """Send a payment that names only short or ambiguous numbers, which nothing confirms, to review."""
        numbers = ", ".join(invoice.number for invoice in _sorted(weak))
        reason = f"short or ambiguous number {numbers} in the description, not confirmed by amount, payer IBAN or name"
        return Decision(
            MatchRule.INVOICE_NUMBER, 30, reason,
            candidates=[
                (debtor_id, _sorted(invoices), MatchRule.INVOICE_NUMBER, 30, reason)
                for debtor_id, invoices in _by_debtor(weak).items()
            ],
        )

    def invoice_number_typo(self, payment: PaymentFacts, runs: list[str]) -> Decision | None:
        """Pay an invoice whose number the text gives with one wrong digit, when the amount confirms it.

        The amount confirms an invoice when it equals the invoice's open
        amount, or else the total that a sent message requested for that
        invoice alone (principal, interest and costs as the message stated
        them). A partial payment never does. An invoice that the amount
        confirms still goes to review, with every invoice one digit away as a
        candidate, when anything points elsewhere (`_typo_doubts`). Only
        invoices whose open amount or requested total equals the payment are
        compared first, so indexes keep this cheap even with a million open
        invoices, and only then are the other invoices one digit away looked up.
        """
        # NOTE: a partial payment with a typed number reaches review without
        # the invoice one digit away as a candidate. Looking up the near
        # numbers of every payment that no rule matched, with an ORM query,
        # made the match step of `python -m bench.bank_match --entries 20000
        # --invoices 200000` (SQLite, 2 cores) take 5.4 s of CPU instead of 2.6 s.
        lengths = {len(run) for run in runs if len(run) >= MIN_TYPO_DIGITS}
        if not lengths:
            return None

        found = [
            invoice for invoice in self.index.open(self.index.same_amount(payment.currency, payment.amount))
            if _one_digit_from_a_run(key_digits(normalise_number(invoice.number)), runs, lengths)
        ]
        phrase = "amount equal to "
        if not found:
            found = self._typo_requested_alone(payment, runs, lengths)
            phrase = "amount equal to the total a sent message requested for "
        if not found:
            return None
        found = _sorted(found)
        reason = "invoice number with one wrong digit, " + phrase + ", ".join(invoice.number for invoice in found)
        # Only the runs that a found invoice is one digit from, usually one, so the lookup stays small.
        found_digits = [key_digits(normalise_number(invoice.number)) for invoice in found]
        typed = [
            run for run in typo_runs(self.index, runs)
            if any(len(run) == len(digits) and _one_digit_apart(run, digits) for digits in found_digits)
        ]
        near = near_numbers(self.index, typed)
        doubts = self._typo_doubts(payment, found, near)
        if not doubts:
            return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=found)

        reason += "".join("; " + doubt for doubt in doubts)
        rule = MatchRule.INVOICE_NUMBER_TYPO
        found_ids = {invoice.id for invoice in found}
        candidates = [(invoice.debtor_id, [invoice], rule, 70, reason) for invoice in found]
        candidates += [(invoice.debtor_id, [invoice], rule, 30, reason) for invoice in near.open if invoice.id not in found_ids]
        by_payer = self.payer_iban(payment)
        listed = [{invoice.id for invoice in invoices} for _, invoices, _, _, _ in candidates]
        if by_payer is not None and by_payer.invoices:
            # The payer's own match may be an invoice that is listed already.
            if {invoice.id for invoice in by_payer.invoices} not in listed:
                candidates.append((by_payer.invoices[0].debtor_id, by_payer.invoices, by_payer.rule, by_payer.score, by_payer.reason))
        elif by_payer is not None:
            candidates += [candidate for candidate in by_payer.candidates if candidate[0] not in {item[0] for item in candidates}]
        return Decision(rule, 70, reason, candidates=candidates)

    def _typo_requested_alone(self, payment: PaymentFacts, runs: list[str], lengths: set[int]) -> list[OpenInvoice]:
        """Return the open invoices one digit from a run whose requested total, alone in a sent message, equals the payment."""
        requested = self.index.requested_alone(payment.currency, payment.amount)
        near_ids = [
            invoice_id for invoice_id, digits in requested.items()
            if digits and _one_digit_from_a_run(digits, runs, lengths)
        ]
        if not near_ids:
            return []

        # Loads the open ones among them into the index, which skips the others.
        self.index.fetch_digits(requested[invoice_id] for invoice_id in near_ids)
        return [
            invoice for invoice in self.index.open(near_ids)
            if (payment.currency, payment.amount) in self.index.requested_totals([invoice.id])
        ]

    def _typo_doubts(self, payment: PaymentFacts, found: list[OpenInvoice], near: NearNumbers) -> list[str]:
        """Return why the invoices that the amount confirms for a typed number may still be the wrong ones.

        Any doubt sends the payment to review. The doubts are:
        - the amount fits several invoices;
        - another open invoice is also one digit away;
        - the text names an invoice that is not open, so the debtor quoted a
          real number and made no typo;
        - the payer IBAN is linked only to other debtors.
        """
        doubts: list[str] = []
        if len(found) > 1:
            doubts.append("more than one invoice of this amount is one digit away")
        found_ids = {invoice.id for invoice in found}
        others = [invoice for invoice in near.open if invoice.id not in found_ids]
        if others:
            doubts.append("also one digit away from " + ", ".join(invoice.number for invoice in others))
        if near.not_open:
            doubts.append("the description names invoice " + ", ".join(near.not_open) + ", which is not open")
        iban = compact_iban(payment.payer_iban or "")
        payer_debtor_ids = self.index.debtors_by_iban.get(iban, set()) if iban else set()
        if payer_debtor_ids and not payer_debtor_ids & {invoice.debtor_id for invoice in found}:
            doubts.append("the payer IBAN is linked to another debtor")
        return doubts

    def _letter_o_invoices(self, keys: PaymentKeys) -> list[OpenInvoice]:
        if keys.letter_o is None:
            return []
        return _sorted(self.index.open(self.index.numbers(keys.letter_o).strong))

    def letter_o_for_zero(self, payment: PaymentFacts, keys: PaymentKeys) -> Decision | None:
        """Pay the invoices that the text names with the letter O for a zero ("INV-2O24-0012"), if the amount confirms it.

        The amount must equal the open amount of one such invoice, or of all
        of them when they are one debtor's, or the total that a sent message
        requested for one of them or for all of them. Otherwise
        `letter_o_candidates` offers them for review once the payer rules
        have found nothing.
        """
        invoices = self._letter_o_invoices(keys)
        if not invoices:
            return None
        same_currency = [invoice for invoice in invoices if invoice.currency == payment.currency]
        single = [invoice for invoice in same_currency if invoice.open_amount == payment.amount]
        if len(single) == 1:
            paid = single
        elif len(_by_debtor(same_currency)) == 1 and sum((invoice.open_amount for invoice in same_currency), ZERO) == payment.amount:
            paid = same_currency
        else:
            return self._letter_o_requested(payment, same_currency)
        numbers = ", ".join(invoice.number for invoice in paid)
        reason = f"invoice number {numbers} written with the letter O for a zero, amount equals open amount of {numbers}"
        return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=paid)

    def _letter_o_requested(self, payment: PaymentFacts, invoices: list[OpenInvoice]) -> Decision | None:
        """Pay O-for-zero invoices when the amount equals what a sent message requested for one of them or all of them."""
        options = [[invoice] for invoice in invoices]
        if len(invoices) > 1 and len(_by_debtor(invoices)) == 1:
            options.append(invoices)
        requested = [
            option for option in options
            if (payment.currency, payment.amount) in self.index.requested_totals(invoice.id for invoice in option)
        ]
        if len(requested) != 1:
            return None
        paid = requested[0]
        numbers = ", ".join(invoice.number for invoice in paid)
        reason = (
            f"invoice number {numbers} written with the letter O for a zero, "
            f"amount equals the total a sent message requested for {numbers}"
        )
        return Decision(MatchRule.INVOICE_NUMBER_TYPO, 70, reason, invoices=paid)

    def letter_o_candidates(self, keys: PaymentKeys) -> Decision | None:
        """Send a payment whose text names invoices with the letter O for a zero, not confirmed by the amount, to review."""
        invoices = self._letter_o_invoices(keys)
        if not invoices:
            return None
        numbers = ", ".join(invoice.number for invoice in invoices)
        reason = f"invoice number {numbers} written with the letter O for a zero, not confirmed by the amount"
        rule = MatchRule.INVOICE_NUMBER_TYPO
        return Decision(
            rule, 30, reason,
            candidates=[(debtor_id, group, rule, 30, reason) for debtor_id, group in _by_debtor(invoices).items()],
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
        iban = compact_iban(payment.payer_iban or "")
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
