"""Signed, expiring links that sign a debtor in to their own payment page.

A token carries only the debtor's id, signed with the secret key and a salt
for this purpose, so it cannot be forged, reused for another purpose, or
pointed at another debtor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import time
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from betaalreis.errors import BetaalreisError
from betaalreis.ledger.models import Debtor

_SALT = "betaalreis.portal.sign-in"


class InvalidPortalToken(BetaalreisError):
    code = "invalid_portal_token"


# zlib wraps a deflate block in 2 bytes of header and 4 of checksum, and
# the block holds the first bytes `{"d":` and a digit as literals. So for
# the JSON of an id below this bound, at most 16 bytes, zlib never saves the
# byte that `signing.dumps` needs before it uses the compressed form. A test
# checks this for the most repetitive ids.
_NO_GAIN_FROM_COMPRESSION = 10**10


def make_portal_token(debtor: Debtor | int) -> str:
    """Sign the debtor's id into a token: the string `signing.dumps({"d": id}, salt=_SALT, compress=True)` returns.

    Dispatch signs one token per message. `signing.dumps` (Django 5.2)
    derives the HMAC key from the salt and the secret key on every call, and
    for these short payloads it runs zlib only to find the result longer.
    Here the key is derived once (`_keyed_hmac`), and the JSON, base64 and
    timestamp are written directly. Other ids (10**10 and more, negative, or
    None for an unsaved debtor) go through `signing.dumps` itself.
    """
    debtor_id = debtor if isinstance(debtor, int) else debtor.pk
    if not isinstance(debtor_id, int) or not 0 <= debtor_id < _NO_GAIN_FROM_COMPRESSION:
        return signing.dumps({"d": debtor_id}, salt=_SALT, compress=True)

    payload = signing.b64_encode(b'{"d":%d}' % debtor_id).decode()
    value = f"{payload}:{signing.b62_encode(int(time.time()))}"
    mac = _keyed_hmac(_SALT, settings.SECRET_KEY).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


@lru_cache(maxsize=8)
def _keyed_hmac(salt: str, secret: str | bytes) -> hmac.HMAC:
    """Return an HMAC-SHA256 object, without data, keyed as Django's Signer keys its signatures.

    Django's Signer (5.2) signs with `salted_hmac(salt + "signer", value,
    secret, algorithm="sha256")`, whose key is the SHA-256 of the key salt
    followed by the secret. `signing.loads` verifies with that key, so the
    tokens signed with a copy of this object verify as Django's own do.
    """
    secret_bytes = secret if isinstance(secret, bytes) else secret.encode()
    derived_key = hashlib.sha256((salt + "signer").encode() + secret_bytes).digest()
    return hmac.new(derived_key, digestmod=hashlib.sha256)


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
    before, after = _sign_in_path_parts(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return settings.BETAALREIS_BASE_URL + before + make_portal_token(debtor) + after


# A signed token contains only URL-safe base64 characters, "." and ":", which
# reverse() leaves unquoted, so the reversed path is the same with any token.
_TOKEN_MARKER = "token-marker"


@lru_cache(maxsize=16)
def _sign_in_path_parts(script_prefix: str, urlconf: str) -> tuple[str, str]:
    """Split the sign-in path around its token once, because dispatch builds one link per message.

    `script_prefix` is part of the cache key because reverse() puts it in front of the path.
    """
    path = reverse("portal:account", kwargs={"token": _TOKEN_MARKER}, urlconf=urlconf)
    before, _, after = path.partition(_TOKEN_MARKER)
    return before, after


# Douglas Crockford's base32 alphabet is digits and upper-case letters
# without I, L, O and U, so a code printed on a letter reads one way. 12 characters of 32 give 2**60 codes, about as many as the
# earlier 10 characters of 62, so guessing one stays hopeless.
SHORT_CODE_LENGTH = 12
_SHORT_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Crockford's decoding rules: O reads as 0, I and L as 1, case and hyphens do not count.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None})


def short_code_key(code: str) -> str:
    """Normalise a typed short code to the form ShortLink.lookup_key stores.

    Codes from before the Crockford alphabet (mixed case, with I, l and O)
    map the same way, so a code typed in the wrong case or with a look-alike
    character still finds its link.
    """
    return code.strip().upper().translate(_LOOK_ALIKES)


def short_portal_url(debtor: Debtor | int) -> str:
    """Return a short sign-in link for a debtor, reusing one that is still valid for a week."""
    from betaalreis.portal.models import ShortLink

    debtor_id = debtor if isinstance(debtor, int) else debtor.pk
    now = timezone.now()
    link = (
        ShortLink.objects.filter(debtor_id=debtor_id, expires_at__gt=now + dt.timedelta(days=7))
        .order_by("-expires_at")
        .first()
    )
    if link is None:
        code = "".join(secrets.choice(_SHORT_ALPHABET) for _ in range(SHORT_CODE_LENGTH))
        link = ShortLink.objects.create(
            code=code,
            debtor_id=debtor_id,
            expires_at=now + dt.timedelta(days=settings.BETAALREIS_PORTAL_LINK_MAX_AGE_DAYS),
        )
    return settings.BETAALREIS_BASE_URL + reverse("portal:short", kwargs={"code": link.code})


def read_short_code(code: str) -> int | None:
    """Return the debtor id of a valid, unexpired short code, or None.

    The code as typed wins. Otherwise its normalised form must match
    exactly one link, because two old mixed-case codes can share one form.
    """
    from betaalreis.portal.models import ShortLink

    valid = ShortLink.objects.filter(expires_at__gt=timezone.now())
    exact = valid.filter(code=code).values_list("debtor_id", flat=True).first()
    if exact is not None:
        return exact

    matches = list(valid.filter(lookup_key=short_code_key(code)).values_list("debtor_id", flat=True)[:2])
    return matches[0] if len(matches) == 1 else None
