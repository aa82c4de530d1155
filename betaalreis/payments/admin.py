"""Back-office screens for online payments, webhook calls and payment plans."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from betaalreis.ledger.evidence_admin import EvidenceAdmin
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin
from betaalreis.ledger.timeline import named_in_timeline
from betaalreis.ledger.timeline_text import phrase_in_language
from betaalreis.payments.models import CheckoutPayment, Instalment, PaymentPlan, PlanStatus, WebhookEvent
from betaalreis.payments.plans import do_decide_plan


@admin.register(CheckoutPayment)
class CheckoutPaymentAdmin(EvidenceAdmin):
    """Online payments record what the provider reported and back ledger payments, so they are read-only."""

    list_display = ["provider_id", "provider", "debtor", "amount", "status", "created_at", "paid_at"]
    list_filter = ["provider", "status", "creditor"]
    search_fields = ["provider_id", "provider_secondary_id"]
    # With every field read-only, the view page builds no form field for checkout_url,
    # whose URLField warns about its default scheme in Django 5.2.
    readonly_fields = [field.name for field in CheckoutPayment._meta.fields]


@admin.register(WebhookEvent)
class WebhookEventAdmin(EvidenceAdmin):
    """Webhook calls are kept as received, for the record and for replays, so they are read-only."""

    # A call that matched no online payment belongs to no creditor, so only superusers see it.
    creditor_field = "checkout__creditor"

    list_display = ["provider", "received_at", "outcome", "checkout", "detail"]
    list_filter = ["provider", "outcome"]


class InstalmentInline(admin.TabularInline):
    model = Instalment
    extra = 0
    readonly_fields = ["number", "due_date", "amount", "reminded_at"]
    # The schedule was agreed with the debtor, so the admin neither adds nor removes terms.
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: PaymentPlan | None = None) -> bool:
        return False


def plan_has_history(plan: PaymentPlan) -> bool:
    """Return whether the plan is on the debtor's timeline, was paid online or reminded the debtor of a term."""
    return (
        named_in_timeline(plan.debtor_id, "plan_id", plan.pk)
        or plan.payments.exists()
        or plan.instalments.filter(reminded_at__isnull=False).exists()
    )


@admin.display(description=_("reden buiten limieten"))
def outside_limits(plan: PaymentPlan) -> str:
    """Show why the plan waits for a credit manager, in the user's language."""
    return phrase_in_language(plan.outside_limits_reason)


@admin.register(PaymentPlan)
class PaymentPlanAdmin(CreditorScopedAdmin):
    list_display = ["debtor", "creditor", "total", "terms", "status", outside_limits, "created_at"]
    list_filter = ["status", "creditor"]
    inlines = [InstalmentInline]
    # The invoices and terms were agreed with the debtor, and the excluded
    # amounts are computed from the claim when the plan is requested, so
    # none of them is edited here. Read-only, `invoices` lists only the
    # plan's own invoices, not a select over every invoice of the creditor.
    readonly_fields = ["creditor", "debtor", "total", "currency", "terms", "first_instalment_now",
                       outside_limits, "created_at", "decided_at", "decided_by", "status",
                       "invoices", "interest_excluded", "costs_excluded", "principal_excluded"]
    # Shown through `outside_limits`, in the user's language.
    exclude = ["outside_limits_reason"]
    actions = ["approve", "reject"]

    def has_delete_permission(self, request: HttpRequest, obj: PaymentPlan | None = None) -> bool:
        # The plan's timeline events, payments and reminders would then name a plan that no longer exists.
        if obj is not None and plan_has_history(obj):
            return False
        return super().has_delete_permission(request, obj)

    def _decide(self, request: HttpRequest, queryset: QuerySet[PaymentPlan], approve: bool) -> int:
        decided = 0
        for plan in queryset.filter(status=PlanStatus.PENDING_APPROVAL):
            do_decide_plan(plan, approve=approve, by=f"user:{request.user.get_username()}")
            decided += 1
        return decided

    @admin.action(description=_("Goedkeuren"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[PaymentPlan]) -> None:
        count = self._decide(request, queryset, approve=True)
        message = ngettext("%(count)d regeling goedgekeurd.", "%(count)d regelingen goedgekeurd.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Afwijzen"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[PaymentPlan]) -> None:
        count = self._decide(request, queryset, approve=False)
        message = ngettext("%(count)d regeling afgewezen.", "%(count)d regelingen afgewezen.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)
