"""The base of every provider webhook view.

Each request is kept raw in `WebhookLog` before anything else. The vendor's
`verify` then checks its signature or credentials in constant time against
the current and the previous secret, so secrets can rotate. Last, `parse`
turns it into delivery reports and inbound messages.

Answers follow what providers do with them: 200 for processed, duplicate
and ignored events (a retry would change nothing), 400 for a bad signature
or a malformed payload, 404 for an unknown creditor, and 500 only when a
retry can succeed: a missing secret in our configuration or a crash while
storing the events.
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


class WebhookRejected(Exception):
    """The request failed verification or could not be parsed (respond with 400)."""


class WebhookNotConfigured(Exception):
    """Our side lacks the secret to verify the request (respond with 500, so the provider retries)."""


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


def keep_raw_request(request: HttpRequest, provider: str) -> WebhookLog:
    """Store `request` as received, without its credential and cookie headers."""
    headers = {
        name: value for name, value in request.headers.items()
        if name.lower() not in _UNSTORED_HEADERS
    }
    return WebhookLog.objects.create(
        provider=provider,
        method=request.method or "",
        path=request.get_full_path()[:1000],
        headers=headers,
        body=request.body.decode("utf-8", errors="replace"),
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
        log = self._keep_raw(request)

        creditor = Creditor.objects.filter(slug=creditor_slug).first()
        if creditor is None:
            return self._finish(log, WebhookLog.Outcome.REJECTED, "unknown creditor", 404)
        log.creditor = creditor

        try:
            account = provider_account(creditor_slug, self.channel)
            self.verify(request, account, **kwargs)
        except (ConfigurationError, WebhookNotConfigured) as exc:
            logger.warning(
                "webhook secret not configured",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, WebhookLog.Outcome.ERROR, str(exc), 500)
        except WebhookRejected as exc:
            logger.warning(
                "webhook rejected",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, WebhookLog.Outcome.REJECTED, str(exc), 400)
        log.verified = True

        try:
            parsed = self.parse(request, account)
        except WebhookRejected as exc:
            return self._finish(log, WebhookLog.Outcome.REJECTED, str(exc), 400)

        try:
            outcome = self._apply(parsed, creditor, log)
        except Exception:
            # The raw payload is kept; a 500 makes the provider send it again,
            # and the dedupe key makes that retry safe.
            logger.exception(
                "webhook processing failed",
                extra={"provider": self.provider, "creditor_id": creditor.pk, "webhook_id": log.pk},
            )
            return self._finish(log, WebhookLog.Outcome.ERROR, "processing failed", 500)

        self._finish(log, outcome, "", 200)
        return self.acknowledge(parsed)

    def _keep_raw(self, request: HttpRequest) -> WebhookLog:
        return keep_raw_request(request, self.provider)

    def _finish(self, log: WebhookLog, outcome: str, detail: str, status: int) -> HttpResponse:
        log.outcome = outcome
        log.detail = detail[:500]
        log.save(update_fields=["creditor", "verified", "outcome", "detail"])
        return HttpResponse(status=status)

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
