"""Debtor portal views (minimal: the page a payment link opens)."""

from django.http import Http404, HttpRequest, HttpResponse


def account(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404("Not implemented yet")
