"""HTTP calls to the Mollie Payments API v2; the only module that addresses Mollie."""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from betaalreis.errors import ConfigurationError
from betaalreis.payments.providers.http import request_json


class MollieClient:
    """A small client for the payment endpoints, with the API key from settings."""

    def __init__(self, *, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url = (base_url or settings.MOLLIE_API_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else settings.MOLLIE_API_KEY
        if not self.api_key:
            raise ConfigurationError(
                "MOLLIE_API_KEY is missing. Set it to the test_ or live_ key of the Mollie profile.",
                code="mollie_not_configured",
            )

    def create_payment(self, payload: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        """Create a payment (POST /v2/payments) and return Mollie's payment object."""
        return self._request(
            "POST", "/v2/payments", json=payload, headers={"Idempotency-Key": idempotency_key}
        )

    def get_payment(self, payment_id: str) -> dict[str, Any]:
        """Fetch a payment (GET /v2/payments/{id}) and return Mollie's payment object."""
        return self._request("GET", f"/v2/payments/{payment_id}")

    def cancel_payment(self, payment_id: str) -> dict[str, Any]:
        """Cancel a payment (DELETE /v2/payments/{id}) and return Mollie's payment object."""
        return self._request("DELETE", f"/v2/payments/{payment_id}")

    def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return request_json(
            "Mollie", method, self.base_url, path, api_key=self.api_key, error_detail=_error_detail, **kwargs
        )


def _error_detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", ""))[:200]
    except (ValueError, AttributeError):
        return ""
