"""`betaalreis policy load` rejects a bad policy file in the language of --lang, Dutch by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaalreis.testing import make_creditor

pytestmark = pytest.mark.django_db

HEADER = 'name = "Test"\ndebtor_kind = "business"\n'


def _stage(code: str, offset: int, channels: str = '["email"]') -> str:
    return f'\n[[stages]]\ncode = "{code}"\nname_nl = "Fase"\noffset_days = {offset}\nchannels = {channels}\n'


# Each case: the stages of the file, then the Dutch and the English problem after the file name.
CASES = {
    "unknown channel": (
        _stage("reminder", 1, '["pigeon"]'),
        ": fase 1: onbekende kanalen ['pigeon']; gebruik ['email', 'sms', 'letter', 'phone', 'whatsapp'].",
        ": stage 1: unknown channels ['pigeon']; use ['email', 'sms', 'letter', 'phone', 'whatsapp'].",
    ),
    "same code twice": (
        _stage("reminder", 1) + _stage("reminder", 7),
        ": elke fase moet een eigen code hebben; nu ['reminder', 'reminder'].",
        ": stage codes must be unique, got ['reminder', 'reminder'].",
    ),
    "decreasing offsets": (
        _stage("first", 7) + _stage("second", 1),
        ": offset_days mag van fase tot fase niet dalen; nu [7, 1].",
        ": stage offsets must not decrease, got [7, 1].",
    ),
}


def _load_error(path: Path, *options: str) -> str:
    make_creditor("acme")
    with pytest.raises(CommandError) as error:
        call_command("policy", "load", str(path), "--creditor", "acme", *options)
    return str(error.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_policy_load_error_dutch_by_default(case: str, tmp_path: Path) -> None:
    stages, dutch, english = CASES[case]
    path = tmp_path / "beleid.toml"
    path.write_text(HEADER + stages, encoding="utf-8")

    assert _load_error(path) == f"{path}{dutch}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_policy_load_error_english_with_lang(case: str, tmp_path: Path) -> None:
    stages, dutch, english = CASES[case]
    path = tmp_path / "beleid.toml"
    path.write_text(HEADER + stages, encoding="utf-8")

    assert _load_error(path, "--lang", "en") == f"{path}{english}"
