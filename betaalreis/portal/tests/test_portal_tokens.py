"""Signed portal tokens: the same string as Django's signing.dumps, and old tokens still verify."""

from __future__ import annotations

import json
import time
import zlib
from unittest import mock

import pytest
from django.core import signing

from betaalreis.portal.links import (
    _NO_GAIN_FROM_COMPRESSION,
    _SALT,
    InvalidPortalToken,
    make_portal_token,
    read_expired_portal_token,
    read_portal_token,
)

# Ids around the bound below which tokens skip zlib, and ids whose JSON zlib shortens.
IDS = [0, 1, 7, 12345, 999_999_999, 1_111_111_111, 9_999_999_999, 10**10, 11_111_111_111_111_111, 2**62]


@pytest.mark.parametrize("debtor_id", IDS)
def test_token_equals_signing_dumps(debtor_id):
    now = time.time()
    with mock.patch("time.time", return_value=now):
        token = make_portal_token(debtor_id)
        expected = signing.dumps({"d": debtor_id}, salt=_SALT, compress=True)

    assert token == expected
    assert read_portal_token(token) == debtor_id


def test_token_signed_before_still_verifies(settings):
    # Made by signing.dumps (Django 5.2) with this key on 2026-01-01, before tokens were signed here.
    settings.SECRET_KEY = "old-tokens-test-key"
    plain = "eyJkIjo0Mn0:1vb66i:20bhS6wlFuqxT7GMtYsrVCPkGHKVBXfOqP-x7c68Tvw"
    compressed = ".eJyrVkpRsjJEB7UAPkEFHA:1vb66i:FF93Wlv5GT9JEinVclNH071VeMEPGJIv2NAYCrAo79g"

    assert read_expired_portal_token(plain) == 42
    assert read_expired_portal_token(compressed) == 11_111_111_111_111_111
    with mock.patch("time.time", return_value=1_767_225_600):
        assert make_portal_token(42) == plain
        assert make_portal_token(11_111_111_111_111_111) == compressed


def test_token_follows_secret_key_change(settings):
    settings.SECRET_KEY = "first-test-key"
    first = make_portal_token(42)
    settings.SECRET_KEY = "second-test-key"
    second = make_portal_token(42)

    assert read_portal_token(second) == 42
    with pytest.raises(InvalidPortalToken):
        read_portal_token(first)
    settings.SECRET_KEY_FALLBACKS = ["first-test-key"]
    assert read_portal_token(first) == 42


def test_tampered_token_rejected():
    payload, timestamp, signature = make_portal_token(42).split(":")
    other_payload = make_portal_token(43).split(":")[0]

    with pytest.raises(InvalidPortalToken):
        read_portal_token(f"{other_payload}:{timestamp}:{signature}")
    with pytest.raises(InvalidPortalToken):
        read_portal_token(f"{payload}:{timestamp}:{signature[:-2]}xx")


@pytest.mark.parametrize("digits", ["1", "12", "123", "9", "10", "100"])
def test_zlib_never_shortens_short_payload(digits):
    """The most repetitive ids below the bound: zlib saves less than the byte that signing.dumps requires."""
    for length in range(1, len(str(_NO_GAIN_FROM_COMPRESSION - 1)) + 1):
        debtor_id = int((digits * length)[:length])
        data = json.dumps({"d": debtor_id}, separators=(",", ":")).encode()

        assert debtor_id < _NO_GAIN_FROM_COMPRESSION
        assert len(zlib.compress(data)) >= len(data) - 1, debtor_id
