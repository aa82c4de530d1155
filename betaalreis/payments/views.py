"""Webhook endpoints of the payment providers and the test provider's checkout page."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from betaalreis.errors import ConfigurationError
from betaalreis.payments import services
from betaalreis.payments.models import FINAL_STATUSES, CheckoutPayment, CheckoutStatus
from betaalreis.payments.providers.base import ProviderError, WebhookRejected
from betaalreis.payments.providers.test.provider import OUTCOMES, build_webhook

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """Receive a provider's webhook: 200 when handled or ignored, 400 when rejected, 503 to retry."""
    if provider not in settings.BETAALREIS_PAYMENT_PROVIDERS:
        raise Http404("Unknown payment provider.")

    try:
        event = services.handle_webhook(provider, request.body, request.headers)
    except WebhookRejected:
        return HttpResponse("rejected\n", status=400, content_type="text/plain")
    except ConfigurationError:
        # A provider without its keys is not in use here. The call is stored as failed.
        return HttpResponse("provider not configured\n", status=404, content_type="text/plain")
    except ProviderError as exc:
        status = 503 if exc.retryable else 400
        return HttpResponse("provider error\n", status=status, content_type="text/plain")
    return HttpResponse(f"{event.outcome}\n", content_type="text/plain")


@require_http_methods(["GET", "POST"])
def test_checkout(request: HttpRequest, provider_id: str) -> HttpResponse:
    """Show the test provider's checkout page, and report the chosen outcome by webhook.

    Anyone with the page's address can mark its payment paid, so production
    must not make "test" its BETAALREIS_PAYMENT_PROVIDER.
    """
    if "test" not in settings.BETAALREIS_PAYMENT_PROVIDERS:
        raise Http404("The test provider is not enabled.")
    checkout = get_object_or_404(CheckoutPayment, provider="test", provider_id=provider_id)

    # A superseded checkout is closed here, as a real provider closes a canceled payment.
    closed = checkout.status in FINAL_STATUSES or checkout.status == CheckoutStatus.SUPERSEDED
    if request.method == "POST" and not closed:
        outcome = request.POST.get("outcome", "")
        if outcome not in OUTCOMES:
            return HttpResponse("Unknown outcome.", status=400, content_type="text/plain")
        body, headers = build_webhook(provider_id, outcome)
        services.handle_webhook("test", body, headers)
        return HttpResponseRedirect(reverse("portal:payment_return", kwargs={"token": checkout.public_token}))

    return render(request, "payments/test_checkout.html", {
        "checkout": checkout, "final": closed, "brand": checkout.creditor,
    })
