"""The user and group screens of the back office, with permission names in the active language.

Django stores each default permission's name once, in English, when the
migrations run ("Can add factuur"), and the admin shows that stored text.
These screens build the name from the permission's action and its model's
verbose name instead, so a Dutch user reads "Kan factuur toevoegen".
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission, User
from django.db.models import ManyToManyField
from django.http import HttpRequest
from django.utils.translation import gettext_lazy

from betaalreis.ledger.tenancy_admin import UserCreditorAccessInline

# Names of Django's default permissions by the action that starts their codename.
_DEFAULT_ACTIONS = {
    "add": gettext_lazy("Kan %(model)s toevoegen"),
    "change": gettext_lazy("Kan %(model)s wijzigen"),
    "delete": gettext_lazy("Kan %(model)s verwijderen"),
    "view": gettext_lazy("Kan %(model)s bekijken"),
}


def permission_label(permission: Permission) -> str:
    """Return "app | model | name" for a permission, in the active language.

    A permission that is not one of Django's four defaults for its model
    keeps its stored name.
    """
    content_type = permission.content_type
    model = content_type.model_class()
    action, _separator, model_name = permission.codename.partition("_")
    template = _DEFAULT_ACTIONS.get(action)
    if model is None or template is None or model_name != model._meta.model_name:
        return str(permission)
    name = str(template) % {"model": model._meta.verbose_name}
    return f"{content_type} | {name}"


def _with_permission_labels(field: Any, db_field: ManyToManyField) -> Any:
    if db_field.related_model is Permission and field is not None:
        field.label_from_instance = permission_label
    return field


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Screens that only superusers see and use.

    A user who can change users or groups can make any user a superuser or
    give them another creditor's permissions, which would undo the creditor
    scoping of every other screen.
    """

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class TranslatedGroupAdmin(SuperuserOnlyAdmin, GroupAdmin):
    def formfield_for_manytomany(self, db_field: ManyToManyField, request: HttpRequest, **kwargs: Any) -> Any:
        return _with_permission_labels(super().formfield_for_manytomany(db_field, request, **kwargs), db_field)


class TranslatedUserAdmin(SuperuserOnlyAdmin, UserAdmin):
    inlines = [UserCreditorAccessInline]

    def formfield_for_manytomany(self, db_field: ManyToManyField, request: HttpRequest, **kwargs: Any) -> Any:
        return _with_permission_labels(super().formfield_for_manytomany(db_field, request, **kwargs), db_field)


admin.site.unregister(Group)
admin.site.register(Group, TranslatedGroupAdmin)
admin.site.unregister(User)
admin.site.register(User, TranslatedUserAdmin)
