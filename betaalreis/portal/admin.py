"""Back-office screens for portal limits, promises and disputes."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import IO

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from betaalreis.ledger.timeline import named_in_timeline
from betaalreis.portal.models import Dispute, DisputeStatus, PortalSettings, Promise
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin
from betaalreis.portal.services import attachment_type, do_resolve_dispute


@admin.register(PortalSettings)
class PortalSettingsAdmin(CreditorScopedAdmin):
    list_display = ["creditor", "max_plan_terms", "min_instalment", "first_instalment_now", "max_promise_days"]


@admin.register(Promise)
class PromiseAdmin(CreditorScopedAdmin):
    list_display = ["debtor", "creditor", "promised_date", "amount", "status", "created_at"]
    list_filter = ["status", "creditor"]
    readonly_fields = ["creditor", "debtor", "amount", "currency", "created_at", "channel"]

    def has_delete_permission(self, request: HttpRequest, obj: Promise | None = None) -> bool:
        # A promise on the timeline explains why dunning paused, so it stays.
        if obj is not None and named_in_timeline(obj.debtor_id, "promise_id", obj.pk):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Dispute)
class DisputeAdmin(CreditorScopedAdmin):
    list_display = ["invoice", "debtor", "reason", "status", "created_at"]
    list_filter = ["status", "reason", "creditor"]
    readonly_fields = ["creditor", "debtor", "invoice", "reason", "message", "attachment_download",
                       "previous_invoice_status", "created_at", "resolved_at"]
    # The debtor's upload is shown only as a link to `attachment_view`, never as a form field.
    exclude = ["attachment"]
    actions = ["resolve"]

    def has_delete_permission(self, request: HttpRequest, obj: Dispute | None = None) -> bool:
        # A dispute on the timeline explains why its invoice left dunning, and contains the debtor's message.
        if obj is not None and named_in_timeline(obj.debtor_id, "dispute_id", obj.pk):
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):  # type: ignore[no-untyped-def]
        download = path(
            "<int:dispute_id>/attachment/",
            self.admin_site.admin_view(self.attachment_view),
            name="portal_dispute_attachment",
        )
        return [download, *super().get_urls()]

    @admin.display(description=_("bijlage"))
    def attachment_download(self, dispute: Dispute) -> str:
        """Link to the attachment through `attachment_view`, because /media is not served."""
        if not dispute.attachment:
            return "—"
        url = reverse("admin:portal_dispute_attachment", args=[dispute.pk])
        return format_html('<a href="{}">{}</a>', url, PurePosixPath(dispute.attachment.name).name)

    def attachment_view(self, request: HttpRequest, dispute_id: int) -> FileResponse:
        """Send a dispute's attachment as a download to a user who may view the dispute.

        Another creditor's dispute, a dispute without attachment and a file
        missing from storage all return 404.
        """
        dispute = get_object_or_404(self.get_queryset(request), pk=dispute_id)
        if not self.has_view_permission(request, dispute):
            raise PermissionDenied
        if not dispute.attachment:
            raise Http404("This dispute has no attachment.")
        try:
            handle = dispute.attachment.open("rb")
        except FileNotFoundError:
            raise Http404("The attachment file is missing from storage.") from None
        return attachment_response(handle, PurePosixPath(dispute.attachment.name).name)

    @admin.action(description=_("Afhandelen: factuur terug naar de vorige status"), permissions=["change"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> None:
        resolved = 0
        for dispute in queryset.filter(status=DisputeStatus.OPEN):
            do_resolve_dispute(dispute, resolution=dispute.resolution or "resolved in back office",
                               source=f"user:{request.user.get_username()}")
            resolved += 1
        message = ngettext("%(count)d geschil afgehandeld.", "%(count)d geschillen afgehandeld.", resolved)
        self.message_user(request, message % {"count": resolved}, messages.SUCCESS)


def attachment_response(handle: IO[bytes], filename: str) -> FileResponse:
    """Return a download of an uploaded file, typed by its first bytes and never shown inline.

    The portal accepts only PDF, PNG and JPEG uploads (see `check_attachment`).
    Any other content is sent as application/octet-stream, so a browser
    never runs it as HTML or script.
    """
    head = handle.read(8)
    handle.seek(0)
    content_type = attachment_type(head) or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
