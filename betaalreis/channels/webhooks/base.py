"""The base of every provider webhook view.

Each request is kept in `WebhookLog` before anything else, at first with
only the start of its body. The vendor's `verify` then checks its signature
or credentials in constant time against the current and the previous
secret, so secrets can rotate. Only a verified request gets its whole body
stored, because anyone can send the others. Last, `parse` turns it into
delivery reports and inbound messages.

Answers follow what providers do with them: 200 for processed, duplicate
and ignored events (a retry would change nothing), 400 for a bad signature
or a malformed payload, 404 for an unknown creditor or a provider that the
creditor has no account with, and 500 only when a retry can succeed: a
missing secret in our configuration or a crash while storing the events.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from betaalreis.channels.accounts import ProviderAccount, provider_account
from betaalreis.channels.delivery import StatusReport, do_record_delivery_event
from betaalreis.channels.inbound import do_record_inbound_message, find_debtor_by_number
from betaalreis.channels.models import WebhookLog
from betaalreis.errors import ConfigurationError
from betaalreis.ledger.models import Creditor

logger = logging.getLogger(__name__)

# Request headers never stored with the raw payload.
_UNSTORED_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})
# Characters of the body kept for a request that is not verified, the same
# limit as for payment webhooks. Anyone can send such a request, so each
# one stores little.
UNVERIFIED_BODY_CHARS = 2_000


class WebhookRejected(Exception):
    """The request failed verification or could not be parsed (respond with 400)."""


class WebhookNotConfigured(Exception):
    """Our side lacks the secret to verify the request (respond with 500, so the provider retries)."""


def stored_body(text: str, verified: bool) -> tuple[str, str]:
    """Return the part of a request body to store, and a note for the detail when the rest is dropped."""
    if verified or len(text) <= UNVERIFIED_BODY_CHARS:
        return text, ""
    return (
        text[:UNVERIFIED_BODY_CHARS],
        f"Only the first {UNVERIFIED_BODY_CHARS:,} of {len(text):,} characters are kept.",
    )


@dataclass(frozen=True, slots=True)
class InboundText:
    """A message a debtor sent to the creditor's number."""

    sender: str
    text: str
    provider_reference: str
    received_at: dt.datetime
    channel: str = "sms"


@dataclass(slots=True)
class ParsedWebhook:
    reports: list[StatusReport] = field(default_factory=list)
    inbound: list[InboundText] = field(default_factory=list)


def matches_any(expected_values: Iterable[str], received: str) -> bool:
    """Return whether `received` equals one of `expected_values`, each compared in constant time."""
    found = False
    for expected in expected_values:
        # No early exit, so the time taken does not reveal which secret matched.
        found |= hmac.compare_digest(expected.encode(), received.encode())
    return found


def keep_raw_request(request: HttpRequest, provider: str, text: str | None = None) -> WebhookLog:
    """Store `request` without its credential and cookie headers, and the first UNVERIFIED_BODY_CHARS of its body.

    `text` is the body as decoded text, when the caller has decoded it already.
    The body is stored whole only once the request is verified (`stored_body`).
    """
    if text is None:
        text = request.body.decode("utf-8", errors="replace")
    headers = {
        name: value for name, value in request.headers.items()
        if name.lower() not in _UNSTORED_HEADERS
    }
    return WebhookLog.objects.create(
        provider=provider,
        method=request.method or "",
        path=request.get_full_path()[:1000],
        headers=headers,
        body=text[:UNVERIFIED_BODY_CHARS],
    )


@method_decorator(csrf_exempt, name="dispatch")
class ProviderWebhookView(View):
    """Receives one provider's webhooks for one creditor.

    Subclasses set `provider` and `channel` and implement `verify` and
    `parse`; they may override `acknowledge` for the body the provider wants.
    """

    provider: ClassVar[str]
    channel: ClassVar[str]
    http_method_names = ["get", "post"]

    def verify(self, request: HttpRequest, account: ProviderAccount, **kwargs: Any) -> None:
        """Raise WebhookRejected unless the request comes from the provider."""
        raise NotImplementedError

    def parse(self, request: HttpRequest, account: ProviderAccount) -> ParsedWebhook:
        """Return the reports and inbound messages in the request; raise WebhookRejected when malformed."""
        raise NotImplementedError

    def acknowledge(self, parsed: ParsedWebhook) -> HttpResponse:
        return HttpResponse("", content_type="text/plain")

    def get(self, request: HttpRequest, creditor_slug: str, **kwargs: Any) -> HttpResponse:
        return self.handle(request, creditor_slug, **kwargs)

    def post(self, request: HttpRequest, creditor_slug: str, **kwargs: Any) -> HttpResponse:
        return self.handle(request, creditor_slug, **kwargs)

    def handle(self, request: HttpRequest, creditor_slug: str, **kwargs: Any) -> HttpResponse:
        text = request.body.decode("utf-8", errors="replace")
        log = self._keep_raw(request, text)

        creditor = Creditor.objects.filter(slug=creditor_slug).first()
        if creditor is None:
            return self._finish(log, text, WebhookLog.Outcome.REJECTED, "unknown creditor", 404)
        log.creditor = creditor

        try:
            account = provider_account(creditor_slug, self.channel)
        except ConfigurationError as exc:
            return self._not_configured(log, text, str(exc))
        if account.provider != self.provider:
            return self._not_configured(
                log, text,
                f"Creditor {creditor_slug!r} sends {self.channel} through {account.provider}, "
                f"not {self.provider}.",
            )

        try:
            self.verify(request, account, **kwargs)
        except (ConfigurationError, WebhookNotConfigured) as exc:
            logger.warning(
                "webhook secret not configured",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, text, WebhookLog.Outcome.ERROR, str(exc), 500)
        except WebhookRejected as exc:
            logger.warning(
                "webhook rejected",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, text, WebhookLog.Outcome.REJECTED, str(exc), 400)
        log.verified = True

        try:
            parsed = self.parse(request, account)
        except WebhookRejected as exc:
            return self._finish(log, text, WebhookLog.Outcome.REJECTED, str(exc), 400)

        try:
            outcome = self._apply(parsed, creditor, log)
        except Exception:
            # The raw payload is kept; a 500 makes the provider send it again,
            # and the dedupe key makes that retry safe.
            logger.exception(
                "webhook processing failed",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, text, WebhookLog.Outcome.ERROR, "processing failed", 500)

        self._finish(log, text, outcome, "", 200)
        return self.acknowledge(parsed)

    def _keep_raw(self, request: HttpRequest, text: str) -> WebhookLog:
        return keep_raw_request(request, self.provider, text)

    def _not_configured(self, log: WebhookLog, text: str, reason: str) -> HttpResponse:
        """Log and store a request for a provider that the creditor has no account with, and return 404.

        A retry cannot succeed until someone adds the account, so the status
        is not 500, which providers retry.
        """
        logger.warning(
            "webhook for unconfigured provider",
            extra={"provider": self.provider, "creditor_id": log.creditor_id, "webhook_id": log.pk},
        )
        return self._finish(
            log, text, WebhookLog.Outcome.REJECTED, reason, 404, content="provider not configured\n"
        )

    def _finish(
        self, log: WebhookLog, text: str, outcome: str, detail: str, status: int, *, content: str = ""
    ) -> HttpResponse:
        """Store the outcome, and the whole body only when the request was verified."""
        log.body, note = stored_body(text, log.verified)
        log.outcome = outcome
        log.detail = f"{detail} {note}".strip()[:500]
        log.save(update_fields=["creditor", "verified", "outcome", "detail", "body"])
        return HttpResponse(content, status=status, content_type="text/plain")

    def _apply(self, parsed: ParsedWebhook, creditor: Creditor, log: WebhookLog) -> str:
        source = f"webhook:{self.provider}"
        results: list[str] = []

        for report in parsed.reports:
            outcome = do_record_delivery_event(report, source=source, webhook=log)
            if outcome.duplicate:
                results.append(WebhookLog.Outcome.DUPLICATE)
            elif not outcome.matched:
                results.append(WebhookLog.Outcome.UNMATCHED)
            else:
                results.append(WebhookLog.Outcome.PROCESSED)

        for message in parsed.inbound:
            debtor = find_debtor_by_number(creditor, message.sender)
            if debtor is None:
                logger.warning(
                    "inbound message from unknown number",
                    extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
                )
                results.append(WebhookLog.Outcome.UNMATCHED)
                continue
            inbound = do_record_inbound_message(
                debtor, message.channel, message.text,
                provider=self.provider, provider_reference=message.provider_reference,
                received_at=message.received_at, source=source,
            )
            results.append(WebhookLog.Outcome.DUPLICATE if inbound.duplicate else WebhookLog.Outcome.PROCESSED)

        return _overall(results)


def _overall(results: list[str]) -> str:
    if not results:
        return WebhookLog.Outcome.IGNORED
    for outcome in (WebhookLog.Outcome.UNMATCHED, WebhookLog.Outcome.PROCESSED):
        if outcome in results:
            return outcome
    return WebhookLog.Outcome.DUPLICATE
