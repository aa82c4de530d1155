"""The contract between the outbox and a channel adapter.

Dispatch renders a communication into an `OutgoingMessage` and hands it to
the adapter configured for its channel (`BETAALREIS_CHANNEL_BACKENDS`). One
adapter class per vendor boundary; only that module talks to the vendor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.utils.module_loading import import_string

from betaalreis.errors import BetaalreisError


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message. With `content_id` set, an email embeds it inline."""

    filename: str
    content: bytes
    mimetype: str
    content_id: str = ""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A rendered message, ready for one channel.

    `idempotency_key` is the communication's key. An adapter passes it to the
    provider where the provider supports one, and must treat a second call
    with the same key as the same message (never a second delivery).
    """

    idempotency_key: str
    channel: str
    creditor_slug: str
    debtor_id: int
    language: str
    recipient: str
    subject: str = ""
    text: str = ""
    html: str = ""
    sender_name: str = ""
    sender_address: str = ""
    reply_to: str = ""
    cc: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome an adapter returns after a successful hand-over."""

    provider: str
    provider_reference: str
    sent_at: dt.datetime
    cost: Decimal | None = None
    segments: int | None = None


class ChannelError(BetaalreisError):
    """A failed send. `permanent` is False when a retry can succeed.

    Two kinds of temporary error change what dispatch does next.
    `uncertain` means the provider may have the message, after a time-out
    or a lost connection once the message data was sent. Dispatch then
    neither gives up on it nor falls back to another channel while it waits.
    `outage` means our side of the channel cannot send at all: no
    connection, a failed sign-in, a relay or policy refusal, an unwritable
    receipt folder. Dispatch then hands no more messages of that creditor
    to the channel in the same run, and reports the outage to the operator.
    """

    code = "channel_error"

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        uncertain: bool = False,
        outage: bool = False,
    ) -> None:
        super().__init__(message, code=code)
        if permanent and (uncertain or outage):
            raise ValueError("Internal error: a permanent ChannelError cannot be uncertain or an outage.")
        self.permanent = permanent
        self.uncertain = uncertain
        self.outage = outage


class ChannelBackend:
    """Base class of every channel adapter.

    Subclasses set `channel` and `provider` and implement `send`. `send` must:
    - deliver `message` or raise `ChannelError` (permanent=True for an invalid
      recipient or a rejected message, False for timeouts, 429 and 5xx);
    - raise with `uncertain=True` when the message may have been accepted
      (the provider or mail server got all of it but its answer was lost),
      and with `outage=True` when nothing could be handed over because of
      our own set-up or the provider account, not because of this message;
    - be idempotent on `message.idempotency_key`: when the key was handed over
      before, return the earlier result instead of sending again;
    - never log the message body, a secret or a full IBAN.
    """

    channel: ClassVar[str]
    provider: ClassVar[str]
    # False for an adapter that only writes the local outbox folder. Dispatch
    # checks the contact rules at the real moment of each hand-over only for
    # adapters that reach the debtor, because the file outbox keeps the
    # moment of the run's day (see `betaalreis.outbox.dispatch`).
    reaches_debtor: ClassVar[bool] = True

    def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError


# The file adapters, which only write the outbox under BETAALREIS_HOME. A
# simulated run (the demo, `betaalreis run --simulate`) sends through these,
# whatever BETAALREIS_CHANNEL_BACKENDS configures. WhatsApp has no file
# adapter, so a simulated WhatsApp message fails and its fallback is used.
SIMULATION_BACKENDS = {
    "email": "betaalreis.channels.backends.email.FileEmailBackend",
    "sms": "betaalreis.channels.backends.sms.FileSmsBackend",
    "letter": "betaalreis.channels.backends.letter.FileLetterBackend",
    "phone": "betaalreis.channels.backends.phone.FileCallTaskBackend",
}


def get_backend(channel: str, *, simulate: bool = False) -> ChannelBackend:
    """Return an instance of the adapter configured for `channel`, or its file adapter when `simulate`."""
    if simulate:
        try:
            return import_string(SIMULATION_BACKENDS[channel])()
        except KeyError:
            raise ChannelError(
                f"Channel {channel!r} has no file adapter, so a simulated run cannot send it.",
                permanent=True,
                code="channel_not_simulated",
            ) from None
    try:
        dotted = settings.BETAALREIS_CHANNEL_BACKENDS[channel]
    except KeyError:
        raise BetaalreisError(
            f"No adapter configured for channel {channel!r}; "
            "add it to BETAALREIS_CHANNEL_BACKENDS.",
            code="channel_not_configured",
        ) from None
    return import_string(dotted)()
