"""Back-office screens for the outbox."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from betaalreis.dunning.stage_names import stage_filter, stage_name_subquery
from betaalreis.ledger.evidence_admin import EvidenceAdmin
from betaalreis.ledger.timeline_text import phrase_in_language
from betaalreis.outbox.dispatch import error_reason
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus


class ItemInline(admin.TabularInline):
    model = CommunicationInvoice
    fields = ("invoice", "open_amount")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Communication)
class CommunicationAdmin(EvidenceAdmin):
    """Messages, read-only, because a sent message and its invoice lines prove what the debtor received.

    Statuses change only through the run and dispatch, which keep the status
    machine and the timeline in step.
    """

    list_display = (
        "run_date", "creditor", "debtor", "channel", "stage_name", "status", "total_amount", "sent_at",
        "failure_reason",
    )
    list_filter = ("creditor", "channel", stage_filter("stage"), "status")
    search_fields = ("idempotency_key", "debtor__name", "provider_reference")
    inlines = [ItemInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Communication]:
        return super().get_queryset(request).annotate(
            stage_label=stage_name_subquery("creditor_id", "debtor__kind", "stage")
        )

    @admin.display(description=_("aanmaningsfase"), ordering="stage")
    def stage_name(self, communication: Communication) -> str:
        """Return the stage's name in the policy, or its code when the policy no longer has it."""
        return communication.stage_label or communication.stage

    @admin.display(description=_("reden mislukt"))
    def failure_reason(self, communication: Communication) -> str:
        """Return why the message failed, in the admin's language and without the internal error code."""
        if communication.status != CommunicationStatus.FAILED:
            return ""
        return phrase_in_language(error_reason(communication.last_error))
