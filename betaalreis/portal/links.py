"""Signed, expiring links that sign a debtor in to their own payment page.

A token carries only the debtor's id, signed with the secret key and a salt
for this purpose, so it cannot be forged, reused for another purpose, or
pointed at another debtor.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Debtor

_SALT = "betaalreis.portal.sign-in"


class InvalidPortalToken(BetaalreisError):
    code = "invalid_portal_token"


def make_portal_token(debtor: Debtor | int) -> str:
    debtor_id = debtor if isinstance(debtor, int) else debtor.pk
    return signing.dumps({"d": debtor_id}, salt=_SALT, compress=True)


def read_portal_token(token: str) -> int:
    """Return the debtor id in `token`; raise InvalidPortalToken when bad or expired."""
    max_age = settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS * 86400
    try:
        payload = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise InvalidPortalToken("This link has expired.", code="portal_link_expired") from exc
    except signing.BadSignature as exc:
        raise InvalidPortalToken("This link is not valid.") from exc
    return int(payload["d"])


def read_expired_portal_token(token: str) -> int:
    """Return the debtor id of a genuine link whatever its age; raise InvalidPortalToken when forged.

    Only for offering a one-time code after a link expired: it proves which
    debtor the link was sent to, never that the holder may sign in.
    """
    try:
        payload = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise InvalidPortalToken("This link is not valid.") from exc
    return int(payload["d"])


def portal_url(debtor: Debtor | int) -> str:
    """Return the absolute sign-in link for a debtor's payment page."""
    path = reverse("portal:account", kwargs={"token": make_portal_token(debtor)})
    return settings.BETAALREIS_BASE_URL + path
