"""The set-based writers of banking.bulk on the test database's engine, and the PostgreSQL array text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from betaalreis.banking.bulk import (
    SQLITE_ROWS_PER_INSERT,
    insert_values,
    money_from_db,
    postgres_array_literal,
    raw_rows,
    update_values,
)
from betaalreis.banking.models import MatchCandidate, MatchRule
from betaalreis.dunning.bulk import values_subquery
from betaalreis.ledger.models import Debtor, Invoice, Payment, PaymentSource

from .helpers import make_creditor, make_debtor, make_invoice


def test_array_literal_of_integers():
    assert postgres_array_literal([3, 1, 20]) == "{3,1,20}"


def test_array_literal_quotes_text():
    assert postgres_array_literal(['a"b', "c\\d", "e,f"]) == '{"a\\"b","c\\\\d","e,f"}'


def test_array_literal_leaves_plain_words_bare():
    assert postgres_array_literal(["F2026", "0042"]) == "{F2026,0042}"


def test_array_literal_quotes_null_word():
    assert postgres_array_literal(["F1", "null"]) == '{"F1","null"}'


def test_array_literal_of_decimals():
    assert postgres_array_literal([Decimal("1.50"), 2]) == '{"1.50","2"}'


@pytest.mark.django_db
def test_raw_amounts_equal_orm_amounts():
    creditor = make_creditor()
    debtor = make_debtor(creditor, "K1", "Jansen")
    amounts = ["12.50", "100.00", "0.07", "123456789.99"]
    for number, amount in enumerate(amounts):
        make_invoice(debtor, f"F{number}", amount)
    queryset = Invoice.objects.filter(creditor=creditor).order_by("number").values_list("open_amount", flat=True)

    raw = [str(money_from_db(value)) for (value,) in raw_rows(queryset.values_list("open_amount"))]

    assert raw == [str(value) for value in queryset]
    assert raw == amounts


def test_money_from_db_keeps_decimals():
    assert money_from_db(Decimal("5.10")) == Decimal("5.10")
    assert str(money_from_db(Decimal("5.10"))) == "5.10"


@pytest.mark.django_db
def test_values_subquery_finds_quoted_text():
    creditor = make_creditor()
    awkward = make_debtor(creditor, 'K"1,\\{x}', "Jansen")
    make_debtor(creditor, "K2", "Bakker")

    found = Debtor.objects.filter(customer_number__in=values_subquery([awkward.customer_number, "K9"], array_type="text"))

    assert list(found.values_list("pk", flat=True)) == [awkward.pk]


@pytest.mark.django_db
def test_insert_values_over_several_statements():
    creditor = make_creditor()
    payments = [
        Payment.objects.create(
            creditor=creditor, source=PaymentSource.BANK, external_id=f"X{number}",
            booking_date=timezone.localdate(), amount=Decimal("1.00"),
        )
        for number in range(SQLITE_ROWS_PER_INSERT + 3)
    ]
    debtor = make_debtor(creditor, "K1", "Jansen")

    insert_values(
        MatchCandidate._meta.db_table,
        ("creditor_id", "payment_id", "debtor_id", "rule", "score", "reason"),
        [(creditor.pk, payment.pk, debtor.pk, MatchRule.NONE.value, 0, f"reason {payment.pk}") for payment in payments],
    )

    stored = dict(MatchCandidate.objects.values_list("payment_id", "reason"))
    assert len(stored) == len(payments)
    assert stored[payments[-1].pk] == f"reason {payments[-1].pk}"
    assert MatchCandidate.objects.filter(original_payment__isnull=True).count() == len(payments)


@pytest.mark.django_db
def test_update_values_sets_each_row():
    debtor = make_debtor(make_creditor(), "K1", "Jansen")
    first = make_invoice(debtor, "F-1", "100.00")
    second = make_invoice(debtor, "F-2", "50.00")
    untouched = make_invoice(debtor, "F-3", "10.00")

    update_values(
        Invoice._meta.db_table,
        ("open_amount", "status"),
        [(Decimal("0.00"), "paid", first.pk), (Decimal("20.00"), "open", second.pk)],
    )
    # A second call in the same transaction must work too (PostgreSQL reuses the staging table's name).
    update_values(Invoice._meta.db_table, ("open_amount",), [(Decimal("15.00"), second.pk)])

    rows = dict((pk, (open_amount, status)) for pk, open_amount, status in Invoice.objects.values_list("pk", "open_amount", "status"))
    assert rows[first.pk] == (Decimal("0.00"), "paid")
    assert rows[second.pk] == (Decimal("15.00"), "open")
    assert rows[untouched.pk] == (Decimal("10.00"), "open")


def test_array_literal_quotes_empty_text():
    assert postgres_array_literal(["F1", ""]) == '{"F1",""}'


def test_array_literal_quotes_non_ascii_letters():
    assert postgres_array_literal(["F1", "Ä2"]) == '{"F1","Ä2"}'


def test_array_literal_quotes_mixed_types():
    assert postgres_array_literal([1, "F2"]) == '{"1","F2"}'


def test_array_literal_of_nothing():
    assert postgres_array_literal([]) == "{}"
