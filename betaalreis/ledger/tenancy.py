"""Which creditors a back-office user works for, and querysets limited to them.

A superuser sees every creditor. Any other user sees only the creditors
that a `CreditorAccess` row links to them, and a user without such a row
sees no creditor data at all.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils.translation import gettext

from betaalreis.errors import NotFound
from betaalreis.ledger.models import AccessChange, Creditor, CreditorAccess, CreditorAccessEvent

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser


def creditor_path(model: type[Model]) -> str | None:
    """Return the lookup from `model` to its creditor, or None when its rows belong to no creditor.

    A model names its creditor in a `creditor` field, unless it sets
    `creditor_path` (like "plan__creditor") for a creditor reached through
    another relation.
    """
    if issubclass(model, Creditor):
        return "pk"
    explicit = getattr(model, "creditor_path", None)
    if isinstance(explicit, str):
        return explicit
    if any(field.name == "creditor" for field in model._meta.get_fields()):
        return "creditor"
    return None


def allowed_creditor_ids(user: User) -> list[int] | None:
    """Return the ids of the creditors `user` may see, or None when the user may see all of them."""
    if getattr(user, "is_superuser", False):
        return None
    if not user.is_authenticated:
        return []
    return list(CreditorAccess.objects.filter(user_id=user.pk).values_list("creditor_id", flat=True))


def scope_queryset(queryset: QuerySet, creditor_ids: list[int] | None, path: str) -> QuerySet:
    """Limit `queryset` to rows whose creditor, reached by `path`, is in `creditor_ids` (None: no limit)."""
    if creditor_ids is None:
        return queryset
    return queryset.filter(**{f"{path}__in": creditor_ids})


def do_grant_creditor_access(creditor: Creditor, user: AbstractBaseUser | str, *, by: str) -> CreditorAccess:
    """Give `user` (a user or a username) access to `creditor`'s data in the back office.

    Writes a `CreditorAccessEvent` when the user did not have the access.
    Granting an access the user already has returns the existing row and
    records nothing. Raises NotFound for an unknown username.
    """
    user = user_by_name(user) if isinstance(user, str) else user
    with transaction.atomic():
        access, created = CreditorAccess.objects.get_or_create(
            user=user, creditor=creditor, defaults={"granted_by": by}
        )
        if created:
            _record_access_change(creditor, user, AccessChange.GRANTED, by)
    if created:
        logger.info(
            "creditor access granted",
            extra={"creditor": creditor.slug, "user_id": user.pk, "by": by},
        )
    return access


def do_revoke_creditor_access(creditor: Creditor, user: AbstractBaseUser | str, *, by: str) -> bool:
    """Take away the access of `user` (a user or a username) to `creditor`, and return whether the user had it.

    Writes a `CreditorAccessEvent` when the user had the access. Raises
    NotFound for an unknown username.
    """
    user = user_by_name(user) if isinstance(user, str) else user
    with transaction.atomic():
        deleted, _rows = CreditorAccess.objects.filter(user=user, creditor=creditor).delete()
        if deleted:
            _record_access_change(creditor, user, AccessChange.REVOKED, by)
    if deleted:
        logger.info(
            "creditor access revoked",
            extra={"creditor": creditor.slug, "user_id": user.pk, "by": by},
        )
    return bool(deleted)


def _record_access_change(creditor: Creditor, user: AbstractBaseUser, change: AccessChange, by: str) -> None:
    CreditorAccessEvent.objects.create(
        creditor=creditor,
        creditor_slug=creditor.slug,
        user=user,
        username=user.get_username(),
        change=change,
        by=by[:150],
    )


def access_warnings(user: AbstractBaseUser) -> list[str]:
    """Return why access to a creditor changes nothing for `user` in the back office, in the active language.

    A user without staff status cannot log in to the admin. A superuser has
    access to every creditor, whatever access rows exist.
    """
    warnings = []
    name = user.get_username()
    if not getattr(user, "is_staff", False):
        warnings.append(gettext(
            "Let op: %(user)s heeft geen stafstatus en kan dus niet inloggen in het beheer. Zet Stafstatus "
            "aan op de pagina van de gebruiker, onder Gebruikers."
        ) % {"user": name})
    if getattr(user, "is_superuser", False):
        warnings.append(gettext(
            "Let op: %(user)s is superuser en ziet alle crediteuren, met of zonder toegang tot een crediteur."
        ) % {"user": name})
    return warnings


def user_by_name(username: str) -> AbstractBaseUser:
    """Return the user called `username`, or raise NotFound with what to do."""
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(username)
    except model.DoesNotExist:
        raise NotFound(
            gettext("Gebruiker %(name)r niet gevonden. Maak de gebruiker eerst aan in het beheer, onder Gebruikers.")
            % {"name": username},
            code="user_not_found",
        ) from None

