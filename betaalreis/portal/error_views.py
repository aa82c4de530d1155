"""Error pages whose text depends on the cause of the error."""

from __future__ import annotations

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template import loader
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Render the 400 page, with its own text when the server's host settings caused it.

    A DisallowedHost means that ALLOWED_HOSTS lacks the address the debtor
    opened, so a new link would fail the same way. Like Django's own 400
    view, this renders without the request.
    """
    if isinstance(exception, DisallowedHost):
        return HttpResponseBadRequest(loader.get_template("400_host.html").render())
    return defaults.bad_request(request, exception)
