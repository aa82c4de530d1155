"""Error pages whose text depends on the cause of the error."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
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


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Render the 403 page: the back office's own under the admin URLs, the portal's elsewhere.

    The portal's page asks a debtor to open the link from a message again,
    which does not help a staff user who lacks a permission.
    """
    if request.path.startswith(reverse("admin:index")):
        return render(request, "admin/403.html", admin.site.each_context(request), status=403)
    return defaults.permission_denied(request, exception)
