"""Admin base that shows a back-office user only the data of the creditors they work for.

Every admin screen of Betaalreis derives from `CreditorScopedAdmin`. It
limits the rows of the list, the change, delete and history pages, the
actions and the autocomplete to the user's creditors (see
`betaalreis.ledger.tenancy`). It also limits the choices of list filters on
a relation, such as "Op crediteur", and of foreign keys in forms. Another
creditor's object opened by URL is missing for the user, so Django
redirects to the admin index without showing it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import get_fields_from_path
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, Model, QuerySet
from django.forms import Field
from django.http import HttpRequest

from betaalreis.ledger.models import CreditorAccess
from betaalreis.ledger.tenancy import (
    access_warnings,
    allowed_creditor_ids,
    creditor_path,
    do_grant_creditor_access,
    do_revoke_creditor_access,
    scope_queryset,
)

_CACHE_ATTRIBUTE = "_betaalreis_creditor_ids"


def request_creditor_ids(request: HttpRequest) -> list[int] | None:
    """Return the ids of the creditors the request's user may see (None: all), read once per request."""
    if not hasattr(request, _CACHE_ATTRIBUTE):
        setattr(request, _CACHE_ATTRIBUTE, allowed_creditor_ids(request.user))
    return getattr(request, _CACHE_ATTRIBUTE)


def scope_for_request(queryset: QuerySet, request: HttpRequest, path: str | None = None) -> QuerySet:
    """Limit `queryset` to the creditors of the request's user.

    `path` is the lookup from the queryset's model to its creditor, by
    default the model's own (see `creditor_path`). Raises ValueError for a
    model that belongs to no creditor, so a new screen cannot show all rows
    by mistake.
    """
    path = path or creditor_path(queryset.model)
    if path is None:
        raise ValueError(f"{queryset.model.__name__} has no creditor; give the lookup to its creditor as `path`.")
    return scope_queryset(queryset, request_creditor_ids(request), path)


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    """A raw id input that names the chosen object only when the user may see it.

    Django's widget looks the typed id up among all rows to print its name
    beside the input, which would show another creditor's debtor to anyone
    who types its id.
    """

    def __init__(self, rel: Any, admin_site: admin.AdminSite, visible: QuerySet, **kwargs: Any) -> None:
        super().__init__(rel, admin_site, **kwargs)
        self.visible = visible

    def label_and_url_for_value(self, value: Any) -> tuple[str, str]:
        key = self.rel.get_related_field().name
        try:
            allowed = self.visible.filter(**{key: value}).exists()
        except (ValueError, TypeError, ValidationError):
            allowed = False
        if not allowed:
            return "", ""
        return super().label_and_url_for_value(value)


class CreditorScopedAdmin(admin.ModelAdmin):
    """A model admin whose rows, filters and form choices are limited to the user's creditors.

    `creditor_field` is the lookup from the model to its creditor, needed
    only when the model has no `creditor` field itself. With
    `superuser_only`, only superusers see the screen at all.
    """

    creditor_field: str | None = None
    superuser_only: bool = False

    def has_module_permission(self, request: HttpRequest) -> bool:
        if self.superuser_only and not request.user.is_superuser:
            return False
        return super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if self.superuser_only and not request.user.is_superuser:
            return False
        return super().has_view_permission(request, obj)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_for_request(super().get_queryset(request), request, self.creditor_field)

    def get_list_filter(self, request: HttpRequest) -> list[Any]:
        # Django lists every row of the related model in a filter on a
        # relation. The related-only filter lists the values found in the
        # user's rows.
        return [self._scoped_filter(entry) for entry in super().get_list_filter(request)]

    def _scoped_filter(self, entry: Any) -> Any:
        if not isinstance(entry, str):
            return entry
        field = get_fields_from_path(self.model, entry)[-1]
        if field.is_relation:
            return (entry, admin.RelatedOnlyFieldListFilter)
        return entry

    def get_field_queryset(self, db: str | None, db_field: Any, request: HttpRequest) -> QuerySet | None:
        queryset = super().get_field_queryset(db, db_field, request)
        related_model: type[Model] = db_field.remote_field.model
        if creditor_path(related_model) is None:
            return queryset
        if queryset is None:
            queryset = related_model._default_manager.using(db).all()
        return scope_for_request(queryset, request)

    def formfield_for_foreignkey(self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any) -> Field | None:
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and type(formfield.widget) is ForeignKeyRawIdWidget:
            formfield.widget = ScopedRawIdWidget(
                db_field.remote_field, self.admin_site, formfield.queryset, using=kwargs.get("using")
            )
        return formfield


class CreditorAccessInline(admin.TabularInline):
    """The creditors a user works for, or the users of a creditor; shown to and changed by superusers only."""

    model = CreditorAccess
    extra = 0
    readonly_fields = ("granted_at", "granted_by")

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.is_superuser

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        formset = super().get_formset(request, obj, **kwargs)
        by = f"admin:{request.user.get_username()}"

        class GrantingFormset(formset):  # type: ignore[misc, valid-type]
            """Saves each added, changed or deleted row through the access actions, which write the audit record."""

            def save_new(self, form: Any, commit: bool = True) -> Any:
                access = form.instance
                for warning in access_warnings(access.user):
                    messages.warning(request, warning)
                return do_grant_creditor_access(access.creditor, access.user, by=by)

            def save_existing(self, form: Any, obj: Any, commit: bool = True) -> Any:
                # A changed row moves the access: the old pair is revoked, the new one granted.
                old = CreditorAccess.objects.select_related("creditor", "user").get(pk=obj.pk)
                if (old.creditor_id, old.user_id) == (obj.creditor_id, obj.user_id):
                    return super().save_existing(form, obj, commit)
                do_revoke_creditor_access(old.creditor, old.user, by=by)
                return self.save_new(form, commit)

            def delete_existing(self, obj: Any, commit: bool = True) -> None:
                do_revoke_creditor_access(obj.creditor, obj.user, by=by)

        return GrantingFormset


class UserCreditorAccessInline(CreditorAccessInline):
    fk_name = "user"
    fields = ("creditor", "granted_at", "granted_by")


class CreditorUserAccessInline(CreditorAccessInline):
    fk_name = "creditor"
    fields = ("user", "granted_at", "granted_by")
