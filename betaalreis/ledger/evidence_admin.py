"""Admin base for records that prove what happened, such as bank data, the timeline and sent messages."""

from __future__ import annotations

from django.http import HttpRequest

from betaalreis.ledger.tenancy_admin import CreditorScopedAdmin


class EvidenceAdmin(CreditorScopedAdmin):
    """Bank data, match decisions, timeline events and messages: viewable, never added, changed or deleted by hand.

    The view page still shows every field, read-only, to users of the record's creditor.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
