"""Typed errors shared by every app.

Each error has a stable `code` for machines and a message for people that
names what failed, on which value, and what to do.
"""

from __future__ import annotations


class BetaalreisError(Exception):
    """Base of every error Betaalreis raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message


class NotFound(BetaalreisError):
    code = "not_found"


class InvalidInput(BetaalreisError):
    code = "invalid_input"


class ConfigurationError(BetaalreisError):
    code = "configuration"
