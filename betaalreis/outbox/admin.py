"""Back-office screens for the outbox."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from betaalreis.dunning.stage_names import stage_filter, stage_name_subquery
from betaalreis.ledger.evidence_admin import EvidenceAdmin
from betaalreis.ledger.tenancy_admin import scope_for_request
from betaalreis.outbox.actions import ResendRejected, do_resend_failed
from betaalreis.outbox.failure_text import describe_send_error
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus

# Admin messages for each code of ResendRejected: the reason a failed message cannot be sent again.
_RESEND_REJECTIONS = {
    "resend_not_failed": _("Bericht %(id)s is niet mislukt; alleen een mislukt bericht kan opnieuw worden verstuurd."),
    "resend_superseded": _(
        "Voor bericht %(id)s is al een ander bericht van dezelfde fase verstuurd of gepland, dus opnieuw "
        "versturen zou de debiteur twee keer bereiken."
    ),
    "resend_stage_reverted": _(
        "De facturen van bericht %(id)s zijn na de fout teruggezet naar hun vorige fase; de volgende run plant "
        "die fase opnieuw."
    ),
}


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

    Statuses change only through the run, dispatch and the "send again"
    action, which keep the status machine and the timeline in step.
    """

    list_display = (
        "run_date", "creditor", "debtor", "channel", "stage_name", "status", "total_amount", "sent_at",
        "failure_reason",
    )
    list_filter = ("creditor", "channel", stage_filter("stage"), "status")
    search_fields = ("idempotency_key", "debtor__name", "provider_reference")
    inlines = [ItemInline]
    actions = ["resend_failed"]

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
        """Return why the message failed, or why it waits for a retry, as a sentence in the admin's language."""
        if communication.status not in (CommunicationStatus.FAILED, CommunicationStatus.PENDING):
            return ""
        if not communication.last_error:
            return ""
        return describe_send_error(communication.last_error)

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("outbox.change_communication")

    @admin.action(description=_("Mislukte berichten opnieuw versturen"), permissions=["resend"])
    def resend_failed(self, request: HttpRequest, queryset: QuerySet[Communication]) -> None:
        """Put the chosen failed messages back in the outbox, so that the next dispatch sends them."""
        by = f"user:{request.user.get_username()}"
        sent_again = 0
        # The action's queryset comes from get_queryset, which is scoped already. Scoping it again
        # keeps the rule next to the state change.
        for communication_id in scope_for_request(queryset, request).values_list("pk", flat=True):
            try:
                do_resend_failed(communication_id, by=by)
            except ResendRejected as exc:
                self.message_user(request, _RESEND_REJECTIONS[exc.code] % {"id": communication_id}, messages.WARNING)
                continue
            sent_again += 1

        if sent_again:
            self.message_user(request, ngettext(
                "%(count)d bericht terug in de berichtenmap; de volgende verzending verstuurt het.",
                "%(count)d berichten terug in de berichtenmap; de volgende verzending verstuurt ze.",
                sent_again,
            ) % {"count": sent_again}, messages.SUCCESS)
        else:
            self.message_user(request, gettext("Geen bericht opnieuw in de berichtenmap gezet."), messages.WARNING)
