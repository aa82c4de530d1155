"""The admin login form, with a limit on wrong passwords per user name and per client address.

The back office shows every debtor's name, address, IBAN and payments, so
password guessing is limited. After BETAALREIS_ADMIN_FAILURES_PER_USER wrong
passwords for one user name, or BETAALREIS_ADMIN_FAILURES_PER_ADDRESS from
one client address, the form rejects every sign-in of that name or address
until 15 minutes after the first failure, right password or not. The counts
live in the same cache as the portal's (see `betaalreis.sign_in_limits`).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from betaalreis import sign_in_limits

logger = logging.getLogger(__name__)

# Django's User.username has at most 150 characters, so a longer typed name is cut in the log.
_LOGGED_USERNAME_CHARS = 150


def _user_key(username: str) -> str:
    # A hash keeps spaces and other characters that some cache backends reject out of the key.
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
    return f"admin-failures:user:{digest}"


def _address_key(address: str) -> str:
    return f"admin-failures:address:{address}"


def is_admin_login_blocked(username: str, address: str) -> bool:
    """Return whether the user name or the client address has too many wrong passwords in the current window."""
    return (
        sign_in_limits.failure_count(_user_key(username)) >= settings.BETAALREIS_ADMIN_FAILURES_PER_USER
        or sign_in_limits.failure_count(_address_key(address)) >= settings.BETAALREIS_ADMIN_FAILURES_PER_ADDRESS
    )


def note_admin_login_failure(username: str, address: str) -> None:
    """Count a wrong password for the user name and the client address, and log a warning without the password."""
    user_failures = sign_in_limits.note_failure(_user_key(username))
    address_failures = sign_in_limits.note_failure(_address_key(address))
    fields = {
        "username": username[:_LOGGED_USERNAME_CHARS],
        "client_address": address,
        "user_failures": user_failures,
        "address_failures": address_failures,
    }
    logger.warning("admin sign-in failed", extra=fields)
    if (
        user_failures == settings.BETAALREIS_ADMIN_FAILURES_PER_USER
        or address_failures == settings.BETAALREIS_ADMIN_FAILURES_PER_ADDRESS
    ):
        logger.warning(
            "admin sign-in throttled", extra={**fields, "window_seconds": sign_in_limits.FAILURE_WINDOW_SECONDS}
        )


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """Django's admin login form, which counts wrong passwords and rejects sign-ins over the limit."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "too_many_failures": _(
            "Te veel mislukte aanmeldpogingen voor deze gebruikersnaam of vanaf dit adres. Wacht 15 minuten "
            "en probeer het dan opnieuw, of vraag een beheerder uw wachtwoord opnieuw in te stellen."
        ),
    }

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        address = sign_in_limits.client_address(self.request) if self.request is not None else "unknown"

        # Checked before the password, so a right password after many wrong ones is rejected too.
        if is_admin_login_blocked(username, address):
            raise ValidationError(self.error_messages["too_many_failures"], code="too_many_failures")

        try:
            cleaned_data = super().clean()
        except ValidationError as error:
            if error.code == "invalid_login":
                note_admin_login_failure(username, address)
            raise
        sign_in_limits.clear_failures(_user_key(username))
        return cleaned_data
