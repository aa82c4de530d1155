"""Provider accounts per creditor, read from settings and the environment.

`BETAALREIS_PROVIDERS` maps a creditor slug (or "*" for every creditor
without its own entry) to one account per channel::

    BETAALREIS_PROVIDERS = {
        "acme": {
            "sms": {"provider": "twilio", "account_sid": "AC...",
                    "auth_token_env": "ACME_TWILIO_TOKEN", "sender": "Acme"},
        },
    }

An option whose name ends in `_env` names an environment variable that contains
the secret, so the secret itself is not in settings, logs or the database.
A secret can rotate: `<name>_previous_env` names the one still accepted on
incoming webhooks while the provider switches over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from betaalreis.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """One creditor's account with one provider for one channel."""

    creditor_slug: str
    channel: str
    provider: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def required(self, name: str) -> str:
        value = self.options.get(name)
        if value in (None, ""):
            raise ConfigurationError(
                f"Provider account {self.provider} for creditor {self.creditor_slug!r} "
                f"({self.channel}) has no {name!r}. Add it to BETAALREIS_PROVIDERS.",
                code="provider_option_missing",
            )
        return str(value)

    def secret(self, name: str) -> str:
        """Return the secret `name`, read from the variable named by `<name>_env`."""
        value = _read_secret(self, name)
        if not value:
            raise ConfigurationError(
                f"Secret {name!r} of provider {self.provider} for creditor "
                f"{self.creditor_slug!r} is missing. Set the environment variable named "
                f"by {name + '_env'!r} in BETAALREIS_PROVIDERS.",
                code="provider_secret_missing",
            )
        return value

    def secrets(self, name: str) -> list[str]:
        """Return the current secret `name` and the previous one, when set, for rotation."""
        found = [_read_secret(self, name), _read_secret(self, f"{name}_previous")]
        return [value for value in found if value]

    def decimal(self, name: str) -> Decimal | None:
        raw = self.options.get(name)
        if raw in (None, ""):
            return None
        try:
            return Decimal(str(raw))
        except InvalidOperation:
            raise ConfigurationError(
                f"Option {name!r} of provider {self.provider} for creditor "
                f"{self.creditor_slug!r} is {raw!r}, not a decimal number.",
                code="provider_option_invalid",
            ) from None

    def describe(self) -> dict[str, str]:
        """Return the options with every secret redacted, for screens and logs."""
        shown: dict[str, str] = {}
        for name, value in self.options.items():
            if name.endswith("_env"):
                shown[name] = str(value)
                shown[name.removesuffix("_env")] = redact(os.environ.get(str(value), ""))
            elif _looks_secret(name):
                shown[name] = redact(str(value))
            else:
                shown[name] = str(value)
        return shown


_SECRET_WORDS = ("token", "secret", "password", "key")


def _looks_secret(name: str) -> bool:
    return any(word in name.lower() for word in _SECRET_WORDS)


def _read_secret(account: ProviderAccount, name: str) -> str:
    env_name = account.options.get(f"{name}_env")
    if env_name:
        return os.environ.get(str(env_name), "")
    # Tests and the embedded demo may put a secret inline.
    inline = account.options.get(name)
    return str(inline) if inline else ""


def redact(value: str) -> str:
    """Return `value` with all but its last four characters masked."""
    if not value:
        return ""
    if len(value) <= 8:
        return "****"
    return "****" + value[-4:]


def provider_account(creditor_slug: str, channel: str) -> ProviderAccount:
    """Return the provider account that sends `channel` for a creditor.

    Raises ConfigurationError when neither the creditor nor "*" has one.
    """
    providers: Mapping[str, Mapping[str, Mapping[str, Any]]] = getattr(
        settings, "BETAALREIS_PROVIDERS", {}
    )
    for key in (creditor_slug, "*"):
        entry = providers.get(key, {}).get(channel)
        if entry:
            options = dict(entry)
            provider = str(options.pop("provider", ""))
            if not provider:
                raise ConfigurationError(
                    f"BETAALREIS_PROVIDERS[{key!r}][{channel!r}] has no 'provider'.",
                    code="provider_option_missing",
                )
            return ProviderAccount(creditor_slug, channel, provider, options)

    raise ConfigurationError(
        f"No {channel} provider configured for creditor {creditor_slug!r}. "
        f"Add BETAALREIS_PROVIDERS[{creditor_slug!r}][{channel!r}] or a '*' entry.",
        code="provider_not_configured",
    )
