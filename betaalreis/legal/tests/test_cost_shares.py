"""Collection costs fixed once per claim and split over its invoices (`betaalreis.legal.cost_shares`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from betaalreis.legal.claims import ClaimItem, CostsStatus, LetterTerm, compute_claim
from betaalreis.legal.cost_shares import claim_for_invoices, invoice_costs, split_by_weight
from betaalreis.legal.policy import BusinessCostMode, LegalSettings

D = Decimal
DUE = dt.date(2026, 8, 1)
TERM_END = dt.date(2026, 9, 30)
ON = dt.date(2026, 11, 20)
SETTINGS = LegalSettings()


def consumer_claim(amounts: dict[str, str], **letter: object):
    items = [ClaimItem(number, D(amount), DUE) for number, amount in amounts.items()]
    return compute_claim(
        debtor_kind="consumer", items=items, on=ON, fourteen_day_term_end=TERM_END, settings=SETTINGS,
        letter_terms=(LetterTerm(TERM_END, None, D(str(letter.get("closed", "0")))),),
        costs_paid_before=D(str(letter.get("paid_before", "0"))),
    )


def requested_costs(claim, numbers: list[str]) -> Decimal:
    """Return the collection costs a message for `numbers` requests."""
    return claim_for_invoices(claim, numbers, SETTINGS).costs.outstanding


# (case, principals by invoice, messages as lists of invoices, costs the letter fixed, costs each message requests)
CONSUMER_CASES = [
    (
        "one letter for three invoices, two single-invoice final notices, portal for the third",
        {"A": "100.00", "B": "80.00", "C": "70.58"},
        [["A"], ["B"], ["C"]],
        D("40.00"),
        [D("15.96"), D("12.77"), D("11.27")],
    ),
    (
        "five invoices of EUR 1,043.29, notices for four and then the fifth",
        {"A": "200.00", "B": "250.00", "C": "219.06", "D": "200.00", "E": "174.23"},
        [["A", "B", "C", "D"], ["E"]],
        D("156.49"),
        [D("130.36"), D("26.13")],
    ),
    (
        "seven invoices of EUR 1,511.98, five single-invoice messages",
        {"A": "300.00", "B": "200.00", "C": "215.60", "D": "230.15", "E": "174.23", "F": "160.59", "G": "231.41"},
        [["A", "B", "C"], ["D"], ["E"], ["F"], ["G"]],
        D("226.80"),
        [D("107.34"), D("34.52"), D("26.14"), D("24.09"), D("34.71")],
    ),
]


@pytest.mark.parametrize(("case", "amounts", "messages", "fixed", "requested"), CONSUMER_CASES, ids=[c[0] for c in CONSUMER_CASES])
def test_consumer_messages_share_fixed_costs(case, amounts, messages, fixed, requested):
    claim = consumer_claim(amounts)

    assert claim.costs.status == CostsStatus.DUE
    assert claim.costs.total == fixed
    assert [requested_costs(claim, numbers) for numbers in messages] == requested
    assert sum(requested, D(0)) == fixed


@pytest.mark.parametrize(("case", "amounts", "messages", "fixed", "requested"), CONSUMER_CASES, ids=[c[0] for c in CONSUMER_CASES])
def test_share_never_above_own_costs(case, amounts, messages, fixed, requested):
    claim = consumer_claim(amounts)

    for numbers in messages:
        alone = consumer_claim({number: amounts[number] for number in numbers})
        assert requested_costs(claim, numbers) <= alone.costs.total


def test_all_invoices_get_whole_costs():
    claim = consumer_claim({"A": "100.00", "B": "80.00", "C": "70.58"})
    part = claim_for_invoices(claim, ["A", "B", "C"], SETTINGS)

    assert part.costs.outstanding == claim.costs.outstanding == D("40.00")
    assert part.total_outstanding == claim.total_outstanding


def test_part_keeps_own_principal_and_interest():
    claim = consumer_claim({"A": "100.00", "B": "80.00"})
    part = claim_for_invoices(claim, ["B"], SETTINGS)
    (item,) = part.items

    assert item.invoice_number == "B"
    assert part.principal_outstanding == D("80.00")
    assert part.interest_outstanding == item.interest_outstanding
    assert part.total_outstanding == D("80.00") + item.interest_outstanding + part.costs.outstanding
    assert {period.invoice_number for period in part.interest_periods} == {"B"}


def test_closed_invoice_paid_its_share():
    # A letter named A (EUR 100) and B (EUR 150): costs 15 % of 250 = 37.50,
    # raised to EUR 40. A was paid after the term with its share of EUR 16.
    claim = consumer_claim({"B": "150.00"}, closed="100.00", paid_before="16.00")

    assert claim.costs.total == D("40.00")
    assert invoice_costs(claim)["B"].outstanding == D("24.00")
    assert requested_costs(claim, ["B"]) == D("24.00")


def test_closed_invoice_share_unpaid_is_not_moved():
    # A closed without paying its share of EUR 16, which was waived then:
    # B still carries only its own share.
    claim = consumer_claim({"B": "150.00"}, closed="100.00")

    assert requested_costs(claim, ["B"]) == D("24.00")


def test_costs_overpaid_by_closed_invoice_lower_open_shares():
    # Before costs were shared, the last invoice of a letter to close paid
    # all of them. Costs paid beyond the closed invoices' share count for the open ones.
    claim = consumer_claim({"B": "150.00", "C": "150.00"}, closed="100.00", paid_before="40.00")

    # Costs 15 % of EUR 400 = 60.00. The closed invoice's share is 15.00, so
    # EUR 25.00 of what it paid counts for B and C, which owe 45.00 - 25.00.
    assert claim.costs.total == D("60.00")
    assert invoice_costs(claim)["B"].outstanding == D("10.00")
    assert invoice_costs(claim)["C"].outstanding == D("10.00")


def test_partial_payment_to_costs_lowers_shares():
    # A payment of EUR 20 after the term went to the costs first (BW 6:44).
    from betaalreis.legal.claims import ClaimPayment

    claim = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("A", D("100.00"), DUE), ClaimItem("B", D("100.00"), DUE)],
        on=ON, fourteen_day_term_end=TERM_END, settings=SETTINGS,
        payments=[ClaimPayment(dt.date(2026, 10, 10), D("20.00"), "A")],
    )
    shares = invoice_costs(claim)

    assert claim.costs.paid == D("20.00")
    assert shares["A"].outstanding + shares["B"].outstanding == D("20.00")
    assert shares["A"].charged + shares["B"].charged == D("40.00")


def test_no_costs_before_letter_term_passes():
    items = [ClaimItem("A", D("100.00"), DUE)]
    claim = compute_claim(debtor_kind="consumer", items=items, on=ON, settings=SETTINGS)
    part = claim_for_invoices(claim, ["A"], SETTINGS)

    assert claim.costs.status == CostsStatus.NO_LETTER
    assert part.costs.outstanding == D("0.00")
    assert part.costs.if_unpaid == D("40.00")


def test_unnamed_invoice_carries_no_consumer_costs():
    # The letter named A only; B came later and no letter named it yet.
    claim = compute_claim(
        debtor_kind="consumer",
        items=[ClaimItem("A", D("300.00"), DUE), ClaimItem("B", D("300.00"), DUE)],
        on=ON, settings=SETTINGS,
        letter_terms=(LetterTerm(TERM_END, frozenset({"A"})),),
    )

    assert claim.costs.total == D("45.00")
    assert requested_costs(claim, ["A"]) == D("45.00")
    assert requested_costs(claim, ["B"]) == D("0.00")


# (business cost mode, principals, costs of the whole claim, costs a message for "A" requests)
BUSINESS_CASES = [
    (BusinessCostMode.FIXED_40, {"A": "100.00", "B": "300.00"}, D("40.00"), D("10.00")),
    (BusinessCostMode.SCALE, {"A": "1000.00", "B": "2000.00"}, D("425.00"), D("141.67")),
]


@pytest.mark.parametrize(("mode", "amounts", "whole", "for_a"), BUSINESS_CASES, ids=["fixed_40", "scale"])
def test_business_costs_unchanged_and_shared(mode, amounts, whole, for_a):
    settings = LegalSettings(business_cost_mode=mode)
    items = [ClaimItem(number, D(amount), DUE) for number, amount in amounts.items()]
    claim = compute_claim(debtor_kind="business", items=items, on=ON, settings=settings)

    assert claim.costs.total == whole
    assert claim_for_invoices(claim, list(amounts), settings).costs.outstanding == whole
    assert claim_for_invoices(claim, ["A"], settings).costs.outstanding == for_a
    assert claim_for_invoices(claim, ["B"], settings).costs.outstanding == whole - for_a


def test_split_adds_up_exactly():
    parts = split_by_weight(D("40.00"), {"A": D("1"), "B": D("1"), "C": D("1")})

    assert parts == {"A": D("13.34"), "B": D("13.33"), "C": D("13.33")}
    assert sum(parts.values(), D(0)) == D("40.00")
