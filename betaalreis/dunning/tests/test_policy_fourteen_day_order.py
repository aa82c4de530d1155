"""Policy loading: consumer claims and handovers need a 14-day letter first."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaalreis.dunning.models import Policy
from betaalreis.dunning.policies import DEFAULT_POLICY_FILES, read_policy_file, seed_default_policies
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import DebtorKind
from betaalreis.testing import make_creditor

# The checks below read the English texts. test_policy_load_language checks both languages.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english_reports")]

FOURTEEN_DAY_LETTER = """
[[stages]]
code = "fourteen_day_letter"
name_nl = "Veertiendagenbrief"
offset_days = 5
channels = ["letter"]
states_claim = true
is_fourteen_day_letter = true
"""

REMINDER_WITH_CLAIM = """
[[stages]]
code = "reminder"
name_nl = "Herinnering met kosten"
offset_days = 1
channels = ["email", "letter"]
states_claim = true
"""

HANDOVER_WITHOUT_ACTION = """
[[stages]]
code = "handover"
name_nl = "Overdracht"
offset_days = 30
channels = ["letter"]
states_claim = true
"""

HANDOVER = HANDOVER_WITHOUT_ACTION + 'action = "handover"\n'

FINAL_NOTICE = """
[[stages]]
code = "final_notice"
name_nl = "Laatste aanmaning"
offset_days = 20
channels = ["email", "letter"]
states_claim = true
required = true
"""


def write_policy(tmp_path: Path, debtor_kind: str, *stages: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(f'name = "Test"\ndebtor_kind = "{debtor_kind}"\n' + "".join(stages), encoding="utf-8")
    return path


def test_claim_then_handover_code_rejected(tmp_path):
    # A claim on day 1, then a stage coded "handover" without its action.
    path = write_policy(tmp_path, "consumer", REMINDER_WITH_CLAIM, HANDOVER_WITHOUT_ACTION.replace("30", "10"))

    with pytest.raises(InvalidInput) as raised:
        read_policy_file(path)

    assert str(path) in str(raised.value)
    assert "stage 'handover'" in str(raised.value)
    assert 'action = "handover"' in str(raised.value)


@pytest.mark.parametrize(
    ("stages", "stage", "problem"),
    [
        ((REMINDER_WITH_CLAIM,), "reminder", "states the claim with collection costs"),
        ((FINAL_NOTICE, HANDOVER), "final_notice", "states the claim with collection costs"),
        ((REMINDER_WITH_CLAIM.replace("states_claim = true", ""), FINAL_NOTICE, HANDOVER),
         "final_notice", "states the claim"),
    ],
)
def test_consumer_claim_without_letter_rejected(tmp_path, stages, stage, problem):
    path = write_policy(tmp_path, "consumer", *stages)

    with pytest.raises(InvalidInput) as raised:
        read_policy_file(path)

    message = str(raised.value)
    assert str(path) in message
    assert f"stage {stage!r}" in message
    assert problem in message
    assert "is_fourteen_day_letter = true" in message


def test_consumer_handover_without_letter_rejected(tmp_path):
    # A handover stage that states no claim still charges the costs.
    handover = HANDOVER.replace("states_claim = true\n", "")
    path = write_policy(tmp_path, "consumer", handover)

    with pytest.raises(InvalidInput, match="stage 'handover' hands the invoice over"):
        read_policy_file(path)


def test_consumer_letter_after_claim_rejected(tmp_path):
    # A 14-day letter later in the policy does not cover a claim stated before it.
    path = write_policy(tmp_path, "consumer", REMINDER_WITH_CLAIM, FOURTEEN_DAY_LETTER, FINAL_NOTICE, HANDOVER)

    with pytest.raises(InvalidInput, match="stage 'reminder' states the claim"):
        read_policy_file(path)


@pytest.mark.parametrize("debtor_kind", ["consumer", "business"])
def test_handover_code_without_action_rejected(tmp_path, debtor_kind):
    letter = FOURTEEN_DAY_LETTER if debtor_kind == "consumer" else ""
    path = write_policy(tmp_path, debtor_kind, letter, FINAL_NOTICE, HANDOVER_WITHOUT_ACTION)

    with pytest.raises(InvalidInput, match="stage 'handover' uses the handover code or template"):
        read_policy_file(path)


def test_handover_template_without_action_rejected(tmp_path):
    message_stage = """
[[stages]]
code = "agency_warning"
name_nl = "Waarschuwing incassobureau"
offset_days = 30
channels = ["letter"]
states_claim = true
template = "handover"
"""
    path = write_policy(tmp_path, "consumer", FOURTEEN_DAY_LETTER, FINAL_NOTICE, message_stage)

    with pytest.raises(InvalidInput, match="stage 'agency_warning' uses the handover code or template"):
        read_policy_file(path)


def test_consumer_policy_with_letter_first_loads(tmp_path):
    path = write_policy(tmp_path, "consumer", FOURTEEN_DAY_LETTER, FINAL_NOTICE, HANDOVER)

    _, stages = read_policy_file(path)

    assert [stage.code for stage in stages] == ["fourteen_day_letter", "final_notice", "handover"]


def test_consumer_policy_without_claim_loads(tmp_path):
    friendly = REMINDER_WITH_CLAIM.replace("states_claim = true\n", "")
    path = write_policy(tmp_path, "consumer", friendly)

    _, stages = read_policy_file(path)

    assert [stage.code for stage in stages] == ["reminder"]


def test_business_claim_without_letter_loads(tmp_path):
    path = write_policy(tmp_path, "business", REMINDER_WITH_CLAIM, FINAL_NOTICE, HANDOVER)

    _, stages = read_policy_file(path)

    assert [stage.code for stage in stages] == ["reminder", "final_notice", "handover"]


def test_default_policies_still_load():
    creditor = make_creditor()

    for path in DEFAULT_POLICY_FILES.values():
        read_policy_file(path)
    seed_default_policies(creditor)

    kinds = set(Policy.objects.filter(creditor=creditor).values_list("debtor_kind", flat=True))
    assert kinds == {DebtorKind.CONSUMER, DebtorKind.BUSINESS}


def test_policy_command_keeps_old_policy_on_reject(tmp_path):
    creditor = make_creditor("streng")
    seed_default_policies(creditor)
    path = write_policy(tmp_path, "consumer", REMINDER_WITH_CLAIM, HANDOVER.replace("30", "10"))

    with pytest.raises(CommandError, match="no 14-day letter stage comes before it"):
        call_command("policy", "load", str(path), "--creditor", "streng")

    consumer = Policy.objects.get(creditor=creditor, debtor_kind=DebtorKind.CONSUMER)
    assert consumer.stages.filter(is_fourteen_day_letter=True).exists()
    assert consumer.stages.first().code == "friendly_reminder"
