"""Back-office screens for portal limits, promises and disputes."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from betaalreis.ledger.timeline import named_in_timeline
from betaalreis.portal.models import Dispute, DisputeStatus, PortalSettings, Promise
from betaalreis.portal.services import do_resolve_dispute


@admin.register(PortalSettings)
class PortalSettingsAdmin(admin.ModelAdmin):
    list_display = ["creditor", "max_plan_terms", "min_instalment", "first_instalment_now", "max_promise_days"]


@admin.register(Promise)
class PromiseAdmin(admin.ModelAdmin):
    list_display = ["debtor", "creditor", "promised_date", "amount", "status", "created_at"]
    list_filter = ["status", "creditor"]
    readonly_fields = ["creditor", "debtor", "amount", "currency", "created_at", "channel"]

    def has_delete_permission(self, request: HttpRequest, obj: Promise | None = None) -> bool:
        # A promise on the timeline explains why dunning paused, so it stays.
        if obj is not None and named_in_timeline(obj.debtor_id, "promise_id", obj.pk):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["invoice", "debtor", "reason", "status", "created_at"]
    list_filter = ["status", "reason", "creditor"]
    readonly_fields = ["creditor", "debtor", "invoice", "reason", "message", "attachment",
                       "previous_invoice_status", "created_at", "resolved_at"]
    actions = ["resolve"]

    def has_delete_permission(self, request: HttpRequest, obj: Dispute | None = None) -> bool:
        # A dispute on the timeline explains why its invoice left dunning, and contains the debtor's message.
        if obj is not None and named_in_timeline(obj.debtor_id, "dispute_id", obj.pk):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Afhandelen: factuur terug naar de vorige status"))
    def resolve(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> None:
        resolved = 0
        for dispute in queryset.filter(status=DisputeStatus.OPEN):
            do_resolve_dispute(dispute, resolution=dispute.resolution or "resolved in back office",
                               source=f"user:{request.user.get_username()}")
            resolved += 1
        self.message_user(request, _("%(count)d geschillen afgehandeld.") % {"count": resolved}, messages.SUCCESS)
