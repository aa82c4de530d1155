"""Back-office screens for dunning policies."""

from __future__ import annotations

from django.contrib import admin

from betaalreis.dunning.models import Policy, Stage
from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin


class StageInline(admin.TabularInline):
    model = Stage
    fields = (
        "order", "code", "name_nl", "name_en", "offset_days", "min_days_after_previous", "action",
        "channels", "min_amount", "attach_letter", "is_fourteen_day_letter",
        "required",
    )
    extra = 0


@admin.register(Policy)
class PolicyAdmin(CreditorScopedAdmin):
    list_display = ("creditor", "debtor_kind", "name", "source")
    list_filter = ("creditor", "debtor_kind")
    inlines = [StageInline]
