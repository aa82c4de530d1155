"""Anymail's webhook addresses, which reject every request while no webhook secret is configured.

Anymail checks HTTP basic auth against ANYMAIL["WEBHOOK_SECRET"] only when
that list is non-empty. With it empty, anymail accepts every request and
only emits AnymailInsecureWebhookWarning, so anyone could post a forged
bounce or spam complaint. Every anymail view mounted here therefore returns
403 and changes nothing until BETAALREIS_ANYMAIL_WEBHOOK_SECRET is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from anymail import urls as anymail_urls
from anymail.utils import get_anymail_setting
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.views.decorators.csrf import csrf_exempt

from betaalreis.channels.models import WebhookLog
from betaalreis.channels.webhooks.base import keep_raw_request

logger = logging.getLogger(__name__)

SECRET_MISSING_DETAIL = "BETAALREIS_ANYMAIL_WEBHOOK_SECRET is not set, so anymail webhooks are rejected."


def webhook_secret_configured() -> bool:
    """Return whether anymail will require basic auth on its webhooks, read as anymail's views read it."""
    secrets = get_anymail_setting("webhook_secret", default=[])
    if isinstance(secrets, str):
        return bool(secrets.strip())
    return any(str(secret).strip() for secret in secrets)


def require_webhook_secret(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an anymail webhook view so that it returns 403 while no webhook secret is configured."""
    esp_name = str(getattr(getattr(view, "view_class", None), "esp_name", "unknown"))

    @csrf_exempt
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if webhook_secret_configured():
            return view(request, *args, **kwargs)

        log = keep_raw_request(request, f"anymail:{esp_name}")
        log.outcome = WebhookLog.Outcome.REJECTED
        log.detail = SECRET_MISSING_DETAIL
        log.save(update_fields=["outcome", "detail"])
        logger.warning(
            "anymail webhook rejected because no webhook secret is configured",
            extra={"esp": esp_name, "webhook_id": log.pk, "path": request.path},
        )
        return HttpResponse(SECRET_MISSING_DETAIL, status=403, content_type="text/plain")

    guarded.view_class = getattr(view, "view_class", None)  # type: ignore[attr-defined]
    return guarded


def guarded_urlpatterns() -> list[URLPattern]:
    """Return anymail's URL patterns with every view wrapped by `require_webhook_secret`."""
    patterns: list[URLPattern] = []
    for pattern in anymail_urls.urlpatterns:
        if not isinstance(pattern, URLPattern):
            raise TypeError(f"anymail.urls contains {pattern!r}, which is not a single view; update this module.")
        patterns.append(URLPattern(
            pattern.pattern, require_webhook_secret(pattern.callback), pattern.default_args, pattern.name
        ))
    return patterns
