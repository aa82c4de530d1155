"""`policy load` warns about a consumer 14-day letter stage that does not list the letter channel."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from betaalreis.dunning.models import Stage
from betaalreis.testing import make_creditor

pytestmark = pytest.mark.django_db

POLICY = """
name = "Alleen brief"
debtor_kind = "consumer"

[[stages]]
code = "fourteen_day_letter"
name_nl = "Veertiendagenbrief"
offset_days = 30
channels = {channels}
is_fourteen_day_letter = true
states_claim = true
"""


def load(tmp_path: Path, channels: str, *options: str) -> str:
    """Load a one-stage consumer policy with `channels` (a TOML list) and return what the command wrote to stderr."""
    make_creditor("acme")
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(channels=channels), encoding="utf-8")
    errors = io.StringIO()
    call_command("policy", "load", str(path), "--creditor", "acme", *options, stdout=io.StringIO(), stderr=errors)
    return errors.getvalue()


def test_email_only_letter_warns_in_dutch(tmp_path):
    warning = load(tmp_path, '["email"]', "--lang", "nl")

    assert warning.startswith(
        "Let op: fase 'fourteen_day_letter' is de veertiendagenbrief, maar channels noemt geen \"letter\" (email)."
    )
    assert "krijgt deze brief toch per post" in warning
    assert Stage.objects.get(code="fourteen_day_letter").channels == ["email"]


def test_email_only_letter_warns_in_english(tmp_path):
    warning = load(tmp_path, '["email"]', "--lang", "en")

    assert warning.startswith(
        "Warning: stage 'fourteen_day_letter' is the 14-day letter, but its channels do not include "
        "\"letter\" (email)."
    )
    assert "gets this letter by post all the same" in warning


@pytest.mark.parametrize("channels", ['["letter"]', '["email", "letter"]'])
def test_letter_channel_no_warning(tmp_path, channels: str):
    assert load(tmp_path, channels) == ""
