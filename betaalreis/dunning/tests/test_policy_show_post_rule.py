"""`betaalreis policy show` states that a consumer's 14-day letter goes by post without the debtor's agreement."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from betaalreis.dunning.policies import load_policy
from betaalreis.testing import make_creditor

pytestmark = pytest.mark.django_db

EMAIL_ONLY_LETTER = """\
name = "Alleen e-mail"
debtor_kind = "consumer"

[[stages]]
code = "reminder"
name_nl = "Herinnering"
name_en = "Reminder"
offset_days = 7
channels = ["email"]

[[stages]]
code = "letter"
name_nl = "Brief van veertien dagen"
name_en = "Fourteen-day notice"
offset_days = 21
channels = ["email"]
states_claim = true
is_fourteen_day_letter = true
"""


def show(slug: str, language: str) -> str:
    output = io.StringIO()
    call_command("policy", "show", "--creditor", slug, "--lang", language, stdout=output)
    return " ".join(output.getvalue().split())


@pytest.mark.parametrize(("language", "rule", "channels"), [
    ("nl",
     "Let op: een veertiendagenbrief aan een consument gaat per post, welke kanalen de fase ook noemt, tenzij "
     "de debiteur akkoord gaf met elektronische communicatie.",
     "Voor Veertiendagenbrief kiest de planner e-mail alleen bij een consument met dat akkoord."),
    ("en",
     "Note: a fourteen-day letter to a consumer goes by post, whatever channels the stage lists, unless the "
     "debtor agreed to electronic communication.",
     "For Fourteen-day letter the planner chooses email only for a consumer with that agreement."),
])
def test_default_policy_states_post_rule(creditor, language: str, rule: str, channels: str):
    text = show(creditor.slug, language)

    assert rule in text
    assert text.count(rule) == 1
    assert channels in text
    assert "art. 6:96 lid 6 BW" in text


@pytest.mark.parametrize(("language", "rule", "warning"), [
    ("nl", "De planner past dit toe bij elk beleid.",
     "Brief van veertien dagen noemt geen brief. Een consument zonder dat akkoord krijgt de brief toch per post"),
    ("en", "The planner applies this to every policy.",
     "Fourteen-day notice lists no letter. A consumer without that agreement still gets the letter by post"),
])
def test_own_policy_without_post_warns(tmp_path: Path, language: str, rule: str, warning: str):
    creditor = make_creditor()
    path = tmp_path / "email.toml"
    path.write_text(EMAIL_ONLY_LETTER, encoding="utf-8")
    load_policy(creditor, path)

    text = show(creditor.slug, language)

    assert rule in text
    assert warning in text


def test_business_policy_has_no_post_rule():
    from betaalreis.dunning.models import Policy
    from betaalreis.dunning.policies import seed_default_policies

    creditor = make_creditor()
    seed_default_policies(creditor)
    Policy.objects.filter(creditor=creditor, debtor_kind="consumer").delete()

    text = show(creditor.slug, "nl")

    assert "(Zakelijk)" in text
    assert "gaat per post" not in text
    assert "kiest de planner" not in text
