"""The contract between the portal and a payment provider adapter.

The portal calls an adapter to start a checkout and sends the debtor to the
returned address. The provider later reports the outcome through its
webhook. The adapter turns that call into `PaymentUpdate` values in our own
status vocabulary (`CheckoutStatus`), and `betaalreis.payments.services`
applies them. One adapter per vendor; only its `client` module talks HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

from betaalreis.errors import BetaalreisError, ConfigurationError


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A charge request: an amount for chosen invoices of one debtor."""

    reference: str
    amount: Decimal
    currency: str
    description: str
    return_url: str
    cancel_url: str
    webhook_url: str
    locale: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckoutCreated:
    """The provider's id of the new payment and the page the debtor pays on."""

    provider_id: str
    checkout_url: str
    status: str


@dataclass(frozen=True, slots=True)
class PaymentUpdate:
    """The state of one provider payment, as the provider reported it.

    `amount_refunded` and `amount_charged_back` are cumulative totals, None when
    the event does not contain them.
    An update names the payment by `provider_id`, or, for events about a
    provider's underlying object, by `secondary_id` alone. A status of None
    leaves the stored status as it is. `raw` is the vendor's payload.
    """

    provider_id: str
    status: str | None
    secondary_id: str = ""
    amount: Decimal | None = None
    currency: str | None = None
    amount_refunded: Decimal | None = None
    amount_charged_back: Decimal | None = None
    method: str = ""
    reference: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


class ProviderError(BetaalreisError):
    """A call to the provider failed. `retryable` is True when trying again can help."""

    code = "provider_error"

    def __init__(self, message: str, *, retryable: bool, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retryable = retryable


class WebhookRejected(BetaalreisError):
    """A webhook call is unsigned, forged, stale or malformed; it changes nothing."""

    code = "webhook_rejected"


class PaymentProvider:
    """Base class of every payment provider adapter.

    Subclasses set `name` and implement both hooks:

    - `create_checkout(request)` creates a payment at the provider for
      `request.amount` and returns its id and the checkout address. It raises
      `ProviderError` (retryable for timeouts, 429 and 5xx) and never returns
      a half-created payment.
    - `cancel_checkout(provider_id)` asks the provider to cancel or expire
      an unpaid payment, so its page can no longer be paid. It returns True
      when the provider did, and False when the provider refuses or has no
      such call (the base class). It raises `ProviderError` when the call
      fails. A payment the payer completed before the cancel arrived is
      still reported by webhook.
    - `parse_webhook(body, headers)` authenticates one webhook call and
      returns the updates it carries, or an empty list for events we ignore.
      It raises `WebhookRejected` for a call that is not authentic or not
      understood, and `ConfigurationError` when a setting it needs to check
      the call (an API key or webhook secret) is missing; the view answers
      404 to the latter. It raises `ProviderError` when the provider must be
      asked for the state and cannot be reached. The view then responds with
      503, so the provider retries. Where the payload cannot be trusted on its own, the
      adapter fetches the payment from the provider's API.

    Adapters never log a secret, a full IBAN or a payload body.
    """

    name: ClassVar[str]

    def create_checkout(self, request: CheckoutRequest) -> CheckoutCreated:
        raise NotImplementedError

    def cancel_checkout(self, provider_id: str) -> bool:
        return False

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[PaymentUpdate]:
        raise NotImplementedError


def get_provider(name: str | None = None) -> PaymentProvider:
    """Return an instance of the adapter named `name`, or of the default provider."""
    name = name or settings.BETAALREIS_PAYMENT_PROVIDER
    try:
        dotted = settings.BETAALREIS_PAYMENT_PROVIDERS[name]
    except KeyError:
        raise ConfigurationError(
            f"Unknown payment provider {name!r}; add it to BETAALREIS_PAYMENT_PROVIDERS "
            f"or set BETAALREIS_PAYMENT_PROVIDER to one of {sorted(settings.BETAALREIS_PAYMENT_PROVIDERS)}.",
            code="payment_provider_not_configured",
        ) from None
    return import_string(dotted)()


def format_amount(amount: Decimal) -> str:
    """Format an amount as a string with exactly two decimals, as the APIs expect."""
    return f"{amount.quantize(Decimal('0.01')):.2f}"
