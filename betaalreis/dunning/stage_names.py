"""Stage names for screens that store only a stage code (the outbox, an invoice's stage)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.contrib import admin
from django.db.models import F, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy as _

from betaalreis.dunning.models import Stage
from betaalreis.ledger.models import Creditor
from betaalreis.ledger.tenancy_admin import scope_for_request


def stage_name_subquery(creditor: str, debtor_kind: str, code: str) -> Subquery:
    """Return a subquery for the name of the stage `code` in the creditor's policy for `debtor_kind`.

    The three arguments name the outer query's fields. The name is in the
    active language (Dutch unless English is active). It is None when the
    policy no longer has the stage, so callers fall back to the code.
    """
    stages = Stage.objects.filter(
        policy__creditor=OuterRef(creditor),
        policy__debtor_kind=OuterRef(debtor_kind),
        code=OuterRef(code),
    ).annotate(name=_name_in_language()).values("name")[:1]
    return Subquery(stages)


def _name_in_language() -> Coalesce | F:
    """Return an expression for a stage's name in the active language, Dutch when it has no English name."""
    if translation.get_language() != "en":
        return F("name_nl")
    return Coalesce(NullIf(F("name_en"), Value("")), F("name_nl"))


def stage_names_by_code(creditors: Iterable[Creditor]) -> dict[str, str]:
    """Return the name of each stage code of the creditors' policies, in the active language.

    Reports count messages per stage code over several creditors, so when two
    policies name the same code differently, the names are joined with " / ".
    The instalment reminder of a payment plan, which no policy has, is named
    too. A code missing from the result has no stage any more.
    """
    from betaalreis.channels.render.context import INSTALMENT_REMINDER_NAME_NL, INSTALMENT_REMINDER_STAGE

    language = "en" if translation.get_language() == "en" else "nl"
    names: dict[str, list[str]] = defaultdict(list)
    stages = Stage.objects.filter(policy__creditor__in=list(creditors)).order_by("policy__debtor_kind", "order")
    for stage in stages:
        name = stage.name_for(language)
        if name not in names[stage.code]:
            names[stage.code].append(name)
    joined = {code: " / ".join(stage_names) for code, stage_names in names.items()}
    joined.setdefault(INSTALMENT_REMINDER_STAGE, gettext(INSTALMENT_REMINDER_NAME_NL))
    return joined


def stage_filter(field: str) -> type[admin.SimpleListFilter]:
    """Return an admin list filter on the stage code in `field` that lists the stages by name."""

    class StageFilter(admin.SimpleListFilter):
        title = _("aanmaningsfase")
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            names: dict[str, str] = {}
            stages = scope_for_request(Stage.objects.order_by("policy__debtor_kind", "order"), request, "policy__creditor")
            for code, name in stages.annotate(name=_name_in_language()).values_list("code", "name"):
                names.setdefault(code, name)
            return list(names.items())

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{field: self.value()})
            return queryset

    return StageFilter
