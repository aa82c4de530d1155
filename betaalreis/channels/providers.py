"""The shared half of every vendor adapter: idempotent hand-over, retries,
rate limits and per-creditor routing.

A vendor adapter subclasses `VendorBackend` and implements `submit`, the
one method that talks to the vendor. `send` around it:

1. looks up the creditor's provider account;
2. claims the message's `Delivery` row by idempotency key, returning the
   earlier result when the provider already accepted it;
3. waits for the account's rate limit;
4. calls `submit`, retrying temporary errors with backoff and jitter;
5. stores the outcome, marking an address the provider rejected as invalid.

A read timeout leaves the outcome uncertain: the provider may have the
message. Such a delivery is not submitted again until a status report
settles it or `BETAALREIS_PROVIDER_UNCERTAIN_SECONDS` pass without one.
Then the adapter's `find_submitted` looks the message up at the provider
first, where the provider's API allows it, and the message is submitted
again only when the provider does not have it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from betaalreis.channels.accounts import ProviderAccount, provider_account
from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.consent import do_mark_address_invalid
from betaalreis.channels.models import Delivery, SubmissionState
from betaalreis.channels.ratelimit import bucket_for
from betaalreis.channels.retry import backoff_seconds, retry_policy
from betaalreis.errors import ConfigurationError
from betaalreis.ledger.models import Creditor, Debtor

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_UNCERTAIN_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Submission:
    """A vendor's result for an accepted message."""

    provider_reference: str
    cost: Decimal | None = None
    cost_currency: str = ""
    segments: int | None = None
    encoding: str = ""


class TemporaryFailure(Exception):
    """The provider did not take the message, and trying again later can work.

    `outage` is True when no message of the account can go now (no
    connection, a failed sign-in, a provider error), as `ChannelError.outage`.
    """

    def __init__(
        self, message: str, *, code: str, retry_after: float | None = None, outage: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        self.outage = outage


class UncertainOutcome(Exception):
    """The request may have reached the provider; sending again risks a duplicate."""

    def __init__(self, message: str, *, code: str = "outcome_uncertain") -> None:
        super().__init__(message)
        self.code = code


class RecipientInvalid(ChannelError):
    """The provider rejected the recipient address itself (permanent)."""

    def __init__(self, message: str, *, code: str = "recipient_invalid") -> None:
        super().__init__(message, permanent=True, code=code)


def parse_retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "")
    try:
        return max(float(raw), 0.0)
    except ValueError:
        return None


class VendorBackend(ChannelBackend):
    """Base class of adapters that hand messages to an external provider.

    Subclasses set `channel`, `provider` and `default_rate_per_second`
    (the provider's documented or usual per-account throughput; the account
    option `rate_per_second` overrides it) and implement `submit`.
    """

    default_rate_per_second: ClassVar[float] = 10.0

    def __init__(self) -> None:
        self._clients: dict[float, httpx.Client] = {}

    # Vendor hook.

    def submit(self, message: OutgoingMessage, account: ProviderAccount, delivery: Delivery) -> Submission:
        """Hand `message` to the vendor once and return what it reported.

        Raise TemporaryFailure for timeouts before sending, 429 and 5xx,
        with `outage=True` when the cause is the account or our set-up
        (connection, sign-in, relay policy) rather than this message.
        Raise UncertainOutcome when the request may have arrived,
        RecipientInvalid only for an address the vendor reports as bad
        (never for a refusal of our own account), and
        ChannelError(permanent=True) for any other rejection. Only this
        method talks to the vendor.
        """
        raise NotImplementedError

    def find_submitted(self, message: OutgoingMessage, account: ProviderAccount,
                       delivery: Delivery) -> Submission | None:
        """Look up a message whose hand-over had no known outcome; return it, or None when the provider lacks it.

        Called before such a message is submitted again. The default, for
        providers whose API has no lookup, finds nothing. Raise
        TemporaryFailure or UncertainOutcome when the lookup itself failed.
        """
        return None

    # Shared machinery.

    def client(self, account: ProviderAccount) -> httpx.Client:
        timeout = float(account.option("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
        client = self._clients.get(timeout)
        if client is None:
            client = self._clients[timeout] = httpx.Client(timeout=timeout)
        return client

    def request(self, account: ProviderAccount, method: str, url: str, **kwargs: object) -> httpx.Response:
        """Send one HTTP request, turning transport failures and 429/5xx into typed errors."""
        try:
            response = self.client(account).request(method, url, **kwargs)  # type: ignore[arg-type]
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TemporaryFailure(
                f"Could not connect to {self.provider}: {type(exc).__name__}.", code="connect_failed", outage=True
            ) from exc
        except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise UncertainOutcome(
                f"The request to {self.provider} timed out ({type(exc).__name__}); "
                "the message may have been accepted."
            ) from exc

        if response.status_code == 429:
            raise TemporaryFailure(
                f"{self.provider} rate limit reached (HTTP 429).",
                code="rate_limited",
                retry_after=parse_retry_after(response),
            )
        if response.status_code >= 500:
            raise TemporaryFailure(
                f"{self.provider} server error (HTTP {response.status_code}).",
                code="provider_unavailable",
                retry_after=parse_retry_after(response),
                outage=True,
            )
        return response

    def send(self, message: OutgoingMessage) -> SendResult:
        try:
            account = provider_account(message.creditor_slug, self.channel)
        except ConfigurationError as exc:
            raise ChannelError(str(exc), permanent=True, code=exc.code) from exc

        claimed = self._claim(message, account)
        if isinstance(claimed, SendResult):
            return claimed
        delivery, in_doubt = claimed

        rate = float(account.option("rate_per_second", self.default_rate_per_second))
        bucket = bucket_for(self.provider, _account_key(account), rate)
        if in_doubt:
            bucket.acquire()
            earlier = self._find_earlier_submission(message, account, delivery)
            if earlier is not None:
                return self._accept(delivery, earlier)

        policy = retry_policy()
        attempt = 0

        while True:
            attempt += 1
            bucket.acquire()
            try:
                submission = self.submit(message, account, delivery)
            except TemporaryFailure as exc:
                if attempt < policy.attempts:
                    wait = backoff_seconds(attempt, policy, retry_after=exc.retry_after)
                    logger.info(
                        "provider temporary error, retrying",
                        extra={"provider": self.provider, "error_code": exc.code,
                               "delivery_id": delivery.pk, "wait_seconds": round(wait, 3)},
                    )
                    time.sleep(wait)
                    continue
                self._settle(delivery, SubmissionState.RETRYABLE, error=exc, code=exc.code)
                raise ChannelError(str(exc), permanent=False, code=exc.code, outage=exc.outage) from exc
            except UncertainOutcome as exc:
                self._settle(delivery, SubmissionState.UNCERTAIN, error=exc, code=exc.code)
                raise ChannelError(str(exc), permanent=False, code=exc.code, uncertain=True) from exc
            except ChannelError as exc:
                state = SubmissionState.REJECTED if exc.permanent else SubmissionState.RETRYABLE
                self._settle(delivery, state, error=exc, code=exc.code)
                if isinstance(exc, RecipientInvalid):
                    self._mark_invalid(delivery, str(exc))
                raise
            break

        return self._accept(delivery, submission)

    def _claim(self, message: OutgoingMessage, account: ProviderAccount) -> tuple[Delivery, bool] | SendResult:
        """Claim the message's delivery row; return it with whether an earlier hand-over is in doubt."""
        in_doubt = False
        with transaction.atomic():
            delivery = Delivery.objects.select_for_update().filter(
                idempotency_key=message.idempotency_key
            ).first()
            if delivery is None:
                delivery = self._create_delivery(message)
            else:
                _check_resubmission(delivery, self.provider)
                if delivery.state == SubmissionState.ACCEPTED:
                    return _result_of(delivery)
                in_doubt = delivery.state in (SubmissionState.UNCERTAIN, SubmissionState.SUBMITTING)

            delivery.state = SubmissionState.SUBMITTING
            delivery.attempts += 1
            delivery.submitted_at = timezone.now()
            delivery.provider = self.provider
            delivery.save(update_fields=["state", "attempts", "submitted_at", "provider"])
        return delivery, in_doubt

    def _find_earlier_submission(self, message: OutgoingMessage, account: ProviderAccount,
                                 delivery: Delivery) -> Submission | None:
        """Return the provider's record of the hand-over in doubt, or None; a failed lookup counts as none."""
        try:
            found = self.find_submitted(message, account, delivery)
        except (TemporaryFailure, UncertainOutcome, ChannelError) as exc:
            logger.warning(
                "provider lookup of uncertain hand-over failed, submitting again",
                extra={"provider": self.provider, "delivery_id": delivery.pk, "error": str(exc)[:200]},
            )
            return None
        if found is not None:
            logger.info(
                "provider has the message of the uncertain hand-over, not submitting again",
                extra={"provider": self.provider, "delivery_id": delivery.pk},
            )
        return found

    def _create_delivery(self, message: OutgoingMessage) -> Delivery:
        creditor_id = Creditor.objects.values_list("pk", flat=True).get(slug=message.creditor_slug)
        try:
            # The unique key makes a second caller racing for the same
            # message fail here instead of sending it twice.
            with transaction.atomic():
                return Delivery.objects.create(
                    idempotency_key=message.idempotency_key,
                    creditor_id=creditor_id,
                    debtor_id=message.debtor_id,
                    channel=self.channel,
                    provider=self.provider,
                    recipient=message.recipient,
                )
        except IntegrityError:
            raise ChannelError(
                f"Another dispatcher is handing this message to {self.provider} right now.",
                permanent=False, code="outcome_uncertain", uncertain=True,
            ) from None

    def _settle(self, delivery: Delivery, state: str, *, error: Exception, code: str) -> None:
        delivery.state = state
        delivery.last_error = str(error)[:2000]
        delivery.error_code = code[:60]
        Delivery.objects.filter(pk=delivery.pk).exclude(state=SubmissionState.ACCEPTED).update(
            state=state, last_error=delivery.last_error, error_code=delivery.error_code
        )
        logger.warning(
            "provider hand-over failed",
            extra={"provider": self.provider, "delivery_id": delivery.pk, "creditor_id": delivery.creditor_id,
                   "error_code": code, "state": state},
        )

    def _accept(self, delivery: Delivery, submission: Submission) -> SendResult:
        return accept_delivery(delivery, submission)

    def _mark_invalid(self, delivery: Delivery, reason: str) -> None:
        debtor = Debtor.objects.get(pk=delivery.debtor_id)
        do_mark_address_invalid(
            debtor, self.channel, delivery.recipient,
            reason=reason, provider=self.provider, source=f"provider:{self.provider}",
        )


def accept_delivery(delivery: Delivery, submission: Submission) -> SendResult:
    """Mark `delivery` accepted with the provider's reference and cost, save it and return the send result."""
    now = timezone.now()
    delivery.state = SubmissionState.ACCEPTED
    delivery.provider_reference = submission.provider_reference
    delivery.accepted_at = now
    delivery.cost = submission.cost
    delivery.cost_currency = submission.cost_currency
    delivery.segments = submission.segments
    delivery.encoding = submission.encoding
    delivery.error_code = ""
    delivery.last_error = ""
    delivery.save(update_fields=[
        "state", "provider_reference", "accepted_at", "cost", "cost_currency",
        "segments", "encoding", "error_code", "last_error",
    ])
    return _result_of(delivery)


def record_accepted_delivery(
    message: OutgoingMessage, *, creditor_id: int, channel: str, provider: str, submission: Submission
) -> SendResult:
    """Store the accepted `Delivery` row of a message that an adapter outside `VendorBackend` handed over.

    Status reports and bounces find a message only through its Delivery row
    (see `betaalreis.channels.bounces`), so an adapter that talks to a
    provider itself records the accepted hand-over here. A second call for
    the same idempotency key returns the row that the first one accepted.
    """
    delivery, created = Delivery.objects.get_or_create(
        idempotency_key=message.idempotency_key,
        defaults={
            "creditor_id": creditor_id,
            "debtor_id": message.debtor_id,
            "channel": channel,
            "provider": provider,
            "recipient": message.recipient,
            "attempts": 1,
            "submitted_at": timezone.now(),
        },
    )
    if not created and delivery.state == SubmissionState.ACCEPTED:
        return _result_of(delivery)
    return accept_delivery(delivery, submission)


def _account_key(account: ProviderAccount) -> str:
    """Return what identifies the vendor account, so creditors sharing one share its limit."""
    for name in ("account_sid", "access_key_env", "producttoken_env", "phone_number_id", "host"):
        value = account.option(name)
        if value:
            return f"{name}={value}"
    return f"creditor={account.creditor_slug}"


def _check_resubmission(delivery: Delivery, provider: str) -> None:
    """Raise when handing `delivery` over again could send it twice."""
    if delivery.state == SubmissionState.REJECTED:
        raise ChannelError(
            f"{provider} rejected this message before: {delivery.last_error}",
            permanent=True, code=delivery.error_code or "rejected",
        )

    if delivery.state not in (SubmissionState.UNCERTAIN, SubmissionState.SUBMITTING):
        return

    wait = dt.timedelta(
        seconds=getattr(settings, "BETAALREIS_PROVIDER_UNCERTAIN_SECONDS", DEFAULT_UNCERTAIN_SECONDS)
    )
    since = delivery.submitted_at or delivery.created_at
    if timezone.now() - since < wait:
        raise ChannelError(
            f"The outcome of the earlier hand-over to {provider} is not known yet; "
            "waiting for its status report before sending again.",
            permanent=False, code="outcome_uncertain", uncertain=True,
        )
    logger.warning(
        "no status report for uncertain hand-over after the wait",
        extra={"provider": provider, "delivery_id": delivery.pk},
    )


def _result_of(delivery: Delivery) -> SendResult:
    return SendResult(
        provider=delivery.provider,
        provider_reference=delivery.provider_reference,
        sent_at=delivery.accepted_at or delivery.submitted_at or delivery.created_at,
        cost=delivery.cost,
        segments=delivery.segments,
    )


# Adapters per provider name, for the routers below.
VENDOR_BACKENDS: dict[str, dict[str, str]] = {
    "sms": {
        "twilio": "betaalreis.channels.backends.twilio.TwilioSmsBackend",
        "messagebird": "betaalreis.channels.backends.messagebird.MessageBirdSmsBackend",
        "cmcom": "betaalreis.channels.backends.cmcom.CmSmsBackend",
    },
    "email": {
        "smtp": "betaalreis.channels.backends.anymail.SmtpEmailBackend",
        "anymail": "betaalreis.channels.backends.anymail.AnymailEmailBackend",
    },
    "whatsapp": {
        "whatsapp_cloud": "betaalreis.channels.backends.whatsapp.WhatsAppCloudBackend",
    },
}


class ProviderRouter(ChannelBackend):
    """Sends each message through the provider its creditor's account names.

    Set `BETAALREIS_CHANNEL_BACKENDS[channel]` to the router of that
    channel to let each creditor choose a provider in BETAALREIS_PROVIDERS.
    """

    provider = "router"

    def __init__(self) -> None:
        self._backends: dict[str, ChannelBackend] = {}

    def backend_for(self, creditor_slug: str) -> ChannelBackend:
        try:
            account = provider_account(creditor_slug, self.channel)
        except ConfigurationError as exc:
            raise ChannelError(str(exc), permanent=True, code=exc.code) from exc

        backend = self._backends.get(account.provider)
        if backend is None:
            dotted = VENDOR_BACKENDS[self.channel].get(account.provider)
            if dotted is None:
                raise ChannelError(
                    f"Unknown {self.channel} provider {account.provider!r} for creditor "
                    f"{creditor_slug!r}; use one of {sorted(VENDOR_BACKENDS[self.channel])}.",
                    permanent=True, code="provider_unknown",
                )
            backend = self._backends[account.provider] = import_string(dotted)()
        return backend

    def send(self, message: OutgoingMessage) -> SendResult:
        return self.backend_for(message.creditor_slug).send(message)


class SmsRouter(ProviderRouter):
    channel = "sms"


class EmailRouter(ProviderRouter):
    channel = "email"


class WhatsAppRouter(ProviderRouter):
    channel = "whatsapp"
