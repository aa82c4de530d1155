"""HTTP calls to the Stripe API; the only module that addresses Stripe.

Stripe takes form-encoded requests with bracketed keys for nested values
(`line_items[0][price_data][currency]=eur`) and returns JSON.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from betaalreis.errors import ConfigurationError
from betaalreis.payments.providers.http import request_json


class StripeClient:
    """A small client for Checkout Sessions, with the secret key from settings."""

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url = (base_url or settings.STRIPE_API_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.STRIPE_API_KEY
        if not self.api_key:
            raise ConfigurationError(
                "STRIPE_API_KEY is missing. Set it to the sk_test_ or sk_live_ secret key.",
                code="stripe_not_configured",
            )

    def create_checkout_session(self, form: dict[str, str], *, idempotency_key: str) -> dict[str, Any]:
        """Create a Checkout Session (POST /v1/checkout/sessions) and return it."""
        return request_json(
            "Stripe", "POST", self.base_url, "/v1/checkout/sessions",
            api_key=self.api_key, error_detail=_error_detail,
            data=form, headers={"Idempotency-Key": idempotency_key},
        )

    def expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        """Expire an open Checkout Session (POST /v1/checkout/sessions/{id}/expire) and return it."""
        return request_json(
            "Stripe", "POST", self.base_url, f"/v1/checkout/sessions/{session_id}/expire",
            api_key=self.api_key, error_detail=_error_detail,
        )


def _error_detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("message", ""))[:200]
    except (ValueError, AttributeError):
        return ""
