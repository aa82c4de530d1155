from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from betaalreis.payments.tests.drivers import BuiltInDriver, MollieDriver, StripeDriver
from betaalreis.payments.tests.fakes import FakeMollie, FakeStripe
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fake_mollie(settings):
    with FakeMollie(api_key="test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM") as fake:
        settings.MOLLIE_API_URL = fake.url
        settings.MOLLIE_API_KEY = fake.state.api_key
        yield fake


@pytest.fixture
def fake_stripe(settings):
    with FakeStripe(api_key="sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc") as fake:
        settings.STRIPE_API_URL = fake.url
        settings.STRIPE_API_KEY = fake.state.api_key
        settings.STRIPE_WEBHOOK_SECRETS = ["whsec_current_secret", "whsec_previous_secret"]
        yield fake


@pytest.fixture(params=["test", "mollie", "stripe"])
def driver(request, client, settings):
    """Drive each provider in turn: the built-in one, then Mollie and Stripe against their fakes."""
    settings.BETAALREIS_PAYMENT_PROVIDER = request.param
    if request.param == "mollie":
        return MollieDriver(client, request.getfixturevalue("fake_mollie"))
    if request.param == "stripe":
        return StripeDriver(client, request.getfixturevalue("fake_stripe"))
    return BuiltInDriver(client)


@pytest.fixture(params=["mollie", "stripe"])
def vendor_driver(request, client, settings):
    """Drive Mollie, then Stripe, each against its fake, which records the cancel requests."""
    settings.BETAALREIS_PAYMENT_PROVIDER = request.param
    if request.param == "mollie":
        return MollieDriver(client, request.getfixturevalue("fake_mollie"))
    return StripeDriver(client, request.getfixturevalue("fake_stripe"))


@pytest.fixture
def debtor_with_invoices():
    debtor = make_debtor(make_creditor())
    first = make_invoice(debtor, "F2026-001", "150.58", days_overdue=-3)
    second = make_invoice(debtor, "F2026-002", "200.68", days_overdue=-10)
    return debtor, [first, second]
