"""One HTTP call to a provider's JSON API, with errors mapped to ProviderError.

Vendor clients build the request and call `request_json`; they stay the only
modules that address their vendor.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from django.conf import settings

from betaalreis.payments.providers.base import ProviderError

logger = logging.getLogger(__name__)


def request_json(
    vendor: str,
    method: str,
    url: str,
    path: str,
    *,
    api_key: str,
    error_detail: Callable[[httpx.Response], str],
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """Send one authenticated request and return the JSON body.

    Raises ProviderError: retryable for network errors, 429 and 5xx, not
    retryable for other 4xx responses.
    """
    all_headers = {"Authorization": f"Bearer {api_key}", **(headers or {})}
    try:
        response = httpx.request(
            method, url + path, headers=all_headers, timeout=settings.BETAALREIS_PAYMENT_HTTP_TIMEOUT, **kwargs
        )
    except httpx.HTTPError as exc:
        logger.warning("provider request failed", extra={"provider": vendor, "path": path, "error": type(exc).__name__})
        raise ProviderError(
            f"{vendor} could not be reached ({type(exc).__name__}); try again later.", retryable=True
        ) from exc

    if response.status_code >= 400:
        retryable = response.status_code == 429 or response.status_code >= 500
        detail = error_detail(response)
        logger.warning(
            "provider request rejected",
            extra={"provider": vendor, "path": path, "status_code": response.status_code, "detail": detail},
        )
        raise ProviderError(
            f"{vendor} returned HTTP {response.status_code} to {method} {path}: {detail}",
            retryable=retryable,
            code="provider_http_error",
        )
    return response.json()
