"""The migration that moves each PaymentMatch row to the decision columns of its payment, and back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from betaalreis.ledger.models import Payment

BEFORE = [("banking", "0006_bank_rows_without_creditor_constraint"), ("ledger", "0012_invoice_issue_date_optional")]
AFTER = [("banking", "0007_match_decision_on_payment")]
DECIDED_AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
CONFIRMED_AT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def _old_payment(old_apps, creditor, external_id: str, match_reason: str):
    return old_apps.get_model("ledger", "Payment").objects.create(
        creditor=creditor, source="bank", external_id=external_id, booking_date=dt.date(2026, 12, 1),
        amount=Decimal("40.00"), match_reason=match_reason, status="review",
    )


@pytest.mark.django_db(transaction=True)
def test_decisions_move_to_payments_and_back() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="beheer")
    creditor = old.get_model("ledger", "Creditor").objects.create(slug="old", legal_name="Old B.V.", iban="NL91ABNA0417164300")
    confirmed = _old_payment(old, creditor, "E1", "confirmed by beheer")
    unexplained = _old_payment(old, creditor, "E2", "")
    undecided = _old_payment(old, creditor, "E3", "")
    matches = old.get_model("banking", "PaymentMatch").objects
    matches.create(
        creditor_id=creditor.pk, payment=confirmed, rule="manual", score=100, reason="confirmed by beheer",
        decided_at=DECIDED_AT, confirmed_by=user, confirmed_at=CONFIRMED_AT,
    )
    matches.create(creditor_id=creditor.pk, payment=unexplained, rule="none", score=0, reason="no rule", decided_at=DECIDED_AT)

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)

    first = Payment.objects.get(pk=confirmed.pk)
    assert (first.match_rule, first.match_score, first.match_reason) == ("manual", 100, "confirmed by beheer")
    assert first.match_decided_at == DECIDED_AT
    assert first.match_confirmed_by == get_user_model().objects.get(username="beheer")
    assert first.match_confirmed_at == CONFIRMED_AT
    second = Payment.objects.get(pk=unexplained.pk)
    assert (second.match_rule, second.match_score, second.match_reason) == ("none", 0, "no rule")
    assert second.match_confirmed_by is None
    third = Payment.objects.get(pk=undecided.pk)
    assert (third.match_rule, third.match_decided_at) == ("", None)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    restored = executor.loader.project_state(BEFORE).apps.get_model("banking", "PaymentMatch").objects
    assert sorted(restored.values_list("payment_id", "rule", "score", "reason", "confirmed_by_id")) == [
        (confirmed.pk, "manual", 100, "confirmed by beheer", user.pk),
        (unexplained.pk, "none", 0, "no rule", None),
    ]
    assert restored.get(payment_id=confirmed.pk).decided_at == DECIDED_AT

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
