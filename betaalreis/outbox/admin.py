"""Back-office screens for the outbox."""

from __future__ import annotations

from django.contrib import admin

from betaalreis.outbox.models import Communication, CommunicationInvoice


class ItemInline(admin.TabularInline):
    model = CommunicationInvoice
    fields = ("invoice", "open_amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Communication)
class CommunicationAdmin(admin.ModelAdmin):
    list_display = (
        "run_date", "creditor", "debtor", "channel", "stage", "status", "total_amount", "sent_at",
    )
    list_filter = ("creditor", "channel", "stage", "status")
    search_fields = ("idempotency_key", "debtor__name", "provider_reference")
    raw_id_fields = ("debtor",)
    readonly_fields = ("idempotency_key", "claimed_at", "attempts", "sent_at", "provider", "provider_reference")
    inlines = [ItemInline]
