"""System checks for `betaalreis check --deploy` on the messaging providers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from betaalreis import deployment
from betaalreis.channels.webhooks.anymail_access import webhook_secret_configured


@register(Tags.security, deploy=True)
def check_anymail_webhook_secret(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report anymail in use while its webhooks have no secret and therefore reject every request."""
    problem = deployment.anymail_webhook_secret_problem(
        getattr(settings, "BETAALREIS_PROVIDERS", {}),
        settings.EMAIL_BACKEND,
        getattr(settings, "BETAALREIS_INBOUND_EMAIL_DOMAIN", ""),
        has_webhook_secret=webhook_secret_configured(),
    )
    if problem:
        return [Error(problem, id="betaalreis.E005")]
    return []
