"""System checks for `betaalreis check --deploy` on the payment provider and the base address."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from betaalreis import deployment


@register(Tags.security, deploy=True)
def check_payment_provider(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report the test provider, or a real provider whose keys are empty."""
    provider = settings.BETAALREIS_PAYMENT_PROVIDER
    if provider == "test":
        return [Error(
            "BETAALREIS_PAYMENT_PROVIDER is 'test', whose pay page marks a payment paid for anyone who opens it.",
            hint="Set BETAALREIS_PAYMENT_PROVIDER to mollie or stripe.",
            id="betaalreis.E001",
        )]
    environment = {
        "MOLLIE_API_KEY": settings.MOLLIE_API_KEY,
        "STRIPE_API_KEY": settings.STRIPE_API_KEY,
        "STRIPE_WEBHOOK_SECRETS": ",".join(settings.STRIPE_WEBHOOK_SECRETS),
    }
    problem = deployment.provider_keys_problem(provider, environment)
    if problem:
        return [Error(problem, id="betaalreis.E002")]
    return []


@register(Tags.security, deploy=True)
def check_base_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Report a base address that is not https, or that BETAALREIS_BASE_URL left at its default."""
    if not os.environ.get("BETAALREIS_BASE_URL", "").strip():
        return [Error(
            "BETAALREIS_BASE_URL is not set, so links in messages point to this machine.",
            hint="Set it to the public address of the portal, for example https://betalen.example.nl.",
            id="betaalreis.E003",
        )]
    if not settings.BETAALREIS_BASE_URL.startswith("https://"):
        return [Error(
            f"BETAALREIS_BASE_URL {settings.BETAALREIS_BASE_URL!r} is not an https address, "
            "so sign-in links and cookies travel unencrypted.",
            hint="Serve the portal over https and set BETAALREIS_BASE_URL to its https address.",
            id="betaalreis.E004",
        )]
    return []
