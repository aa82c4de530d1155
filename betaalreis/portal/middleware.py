"""Security headers for the debtor portal and the payment pages."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# URL namespaces whose pages get the strict policy. The back office (admin)
# keeps Django's defaults, because it relies on inline scripts and styles.
STRICT_NAMESPACES = frozenset({"portal", "payments"})


def build_policy() -> str:
    """Build the Content-Security-Policy value: own scripts, styles and images only.

    Forms may also post to the checkout hosts of the payment providers,
    because Chromium applies form-action to the redirect after a form post.
    """
    form_targets = " ".join(["'self'", *settings.BETAALREIS_PAYMENT_CHECKOUT_ORIGINS])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            f"form-action {form_targets}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """Add a strict Content-Security-Policy and related headers to portal responses."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = build_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)

        match = getattr(request, "resolver_match", None)
        if match is None or match.namespace not in STRICT_NAMESPACES:
            return response

        response.headers.setdefault("Content-Security-Policy", self.policy)
        # same-origin, not no-referrer: with no-referrer Chromium sends
        # "Origin: null" on form posts, which Django's CSRF check rejects.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        return response
