"""System checks for `betaalreis check --deploy` on the messaging providers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

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


@register(Tags.security, deploy=True)
def check_from_address(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warn when email goes to a mail server from the default betaalreis@localhost or another local address."""
    problem = deployment.default_from_address_problem(
        settings.BETAALREIS_CHANNEL_BACKENDS.get("email", ""), settings.DEFAULT_FROM_EMAIL
    )
    if problem:
        return [Warning(problem, id="betaalreis.W002")]
    return []
