"""`betaalreis policy load` rejects a bad policy file in the language of --lang, Dutch by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from betaalreis.testing import make_creditor

pytestmark = pytest.mark.django_db

def _header(debtor_kind: str) -> str:
    return f'name = "Test"\ndebtor_kind = "{debtor_kind}"\n'


def _stage(code: str, offset: int, channels: str = '["email"]', extra: str = "") -> str:
    """Return one [[stages]] table; `extra` contains further TOML lines, each ending in a newline."""
    return (
        f'\n[[stages]]\ncode = "{code}"\nname_nl = "Fase"\noffset_days = {offset}\n'
        f"channels = {channels}\n{extra}"
    )


LETTER = "is_fourteen_day_letter = true\nstates_claim = true\n"
FINAL_NOTICE = _stage("final_notice", 20, extra="states_claim = true\nrequired = true\n")
LETTER_LAW_NL = (
    " Een consument is incassokosten pas verschuldigd na de termijn van een veertiendagenbrief "
    "(art. 6:96 lid 6 BW). Voeg een eerdere fase toe met is_fourteen_day_letter = true."
)
LETTER_LAW_EN = (
    " A consumer owes collection costs only after the term of a 14-day letter (art. 6:96 lid 6 BW). "
    "Add an earlier stage with is_fourteen_day_letter = true."
)

# Each case: the debtor kind and stages of the file, then the Dutch and the English problem after the file name.
CASES = {
    "unknown channel": (
        "business",
        _stage("reminder", 1, '["pigeon"]'),
        ": fase 1: onbekende kanalen ['pigeon']; gebruik ['email', 'sms', 'letter', 'phone', 'whatsapp'].",
        ": stage 1: unknown channels ['pigeon']; use ['email', 'sms', 'letter', 'phone', 'whatsapp'].",
    ),
    "same code twice": (
        "business",
        _stage("reminder", 1) + _stage("reminder", 7),
        ": elke fase moet een eigen code hebben; nu ['reminder', 'reminder'].",
        ": stage codes must be unique, got ['reminder', 'reminder'].",
    ),
    "decreasing offsets": (
        "business",
        _stage("first", 7) + _stage("second", 1),
        ": offset_days mag van fase tot fase niet dalen; nu [7, 1].",
        ": stage offsets must not decrease, got [7, 1].",
    ),
    "14-day letter to business": (
        "business",
        _stage("letter14", 5, '["letter"]', LETTER),
        ": fase 'letter14': een veertiendagenbrief is voor consumenten; verwijder is_fourteen_day_letter.",
        ": stage 'letter14': a 14-day letter is for consumers; remove is_fourteen_day_letter.",
    ),
    "14-day letter on due date": (
        "consumer",
        _stage("letter14", 0, '["letter"]', LETTER),
        ": fase 'letter14': een veertiendagenbrief mag pas uit als de debiteur in verzuim is, na de "
        "vervaldatum; zet offset_days op 1 of meer, niet 0.",
        ": stage 'letter14': a 14-day letter may only go out once the debtor is in default, after the "
        "due date; set offset_days to 1 or more, not 0.",
    ),
    "14-day letter by sms": (
        "consumer",
        _stage("letter14", 5, '["letter", "sms"]', LETTER),
        ": fase 'letter14': een veertiendagenbrief heeft een kanaal nodig met een aantoonbare dag van "
        "ontvangst; gebruik letter of email, niet ['sms'].",
        ": stage 'letter14': a 14-day letter needs a channel with a provable day of receipt; use letter "
        "or email, not ['sms'].",
    ),
    "14-day letter without costs": (
        "consumer",
        _stage("letter14", 5, '["letter"]', "is_fourteen_day_letter = true\n"),
        ": fase 'letter14': een veertiendagenbrief moet de kosten noemen die in rekening komen; "
        "zet states_claim = true.",
        ": stage 'letter14': a 14-day letter must state the costs that will be charged; "
        "set states_claim = true.",
    ),
    "handover code without action": (
        "business",
        FINAL_NOTICE + _stage("handover", 30, '["letter"]', "states_claim = true\n"),
        ": fase 'handover' gebruikt de code of het sjabloon handover, maar heeft actie message, dus zou "
        "een incassobureau aankondigen zonder de factuur over te dragen. Voeg action = \"handover\" toe, "
        "of geef de fase een andere code en een ander sjabloon.",
        ": stage 'handover' uses the handover code or template, but its action is message, so it would "
        "announce a collection agency without handing the invoice over. Add action = \"handover\", or "
        "give the stage another code and template.",
    ),
    "consumer handover without letter": (
        "consumer",
        FINAL_NOTICE.replace("states_claim = true\n", "")
        + _stage("handover", 30, '["letter"]', 'action = "handover"\n'),
        ": fase 'handover' draagt de factuur over aan een incassobureau, maar er komt geen fase met een "
        "veertiendagenbrief voor." + LETTER_LAW_NL,
        ": stage 'handover' hands the invoice over to a collection agency, but no 14-day letter stage "
        "comes before it." + LETTER_LAW_EN,
    ),
    "consumer claim without letter": (
        "consumer",
        _stage("reminder", 1, extra="states_claim = true\n"),
        ": fase 'reminder' noemt de vordering met incassokosten, maar er komt geen fase met een "
        "veertiendagenbrief voor." + LETTER_LAW_NL,
        ": stage 'reminder' states the claim with collection costs, but no 14-day letter stage comes "
        "before it." + LETTER_LAW_EN,
    ),
    "required call task": (
        "business",
        _stage("call", 10, '["phone"]', 'action = "call_task"\nrequired = true\n'),
        ": fase 'call': alleen een berichtfase kan verplicht zijn, geen fase met actie call_task; "
        "verwijder required = true.",
        ": stage 'call': only a message stage can be required, not a call_task stage; "
        "remove required = true.",
    ),
    "handover without final notice": (
        "business",
        _stage("reminder", 1) + _stage("handover", 30, '["letter"]', 'action = "handover"\n'),
        ": fase 'handover': een overdracht heeft eerst een sommatie nodig; zet required = true bij een "
        "eerdere berichtfase.",
        ": stage 'handover': a handover needs a final notice first; set required = true on an earlier "
        "message stage.",
    ),
    "no claim after claim": (
        "business",
        _stage("reminder", 1, extra="states_claim = true\n") + _stage("nudge", 7),
        ": fase 'nudge' komt na 'reminder', die de vordering noemt; zet ook hier states_claim = true, "
        "zodat de berichten van deze fase het bedrag vragen dat het portaal toont.",
        ": stage 'nudge' comes after 'reminder', which states the claim; set states_claim = true on it "
        "too, so its messages ask the amount the portal shows.",
    ),
}


def _load_error(path: Path, *options: str) -> str:
    make_creditor("acme")
    with pytest.raises(CommandError) as error:
        call_command("policy", "load", str(path), "--creditor", "acme", *options)
    return str(error.value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_policy_load_error_dutch_by_default(case: str, tmp_path: Path) -> None:
    debtor_kind, stages, dutch, english = CASES[case]
    path = tmp_path / "beleid.toml"
    path.write_text(_header(debtor_kind) + stages, encoding="utf-8")

    assert _load_error(path) == f"{path}{dutch}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_policy_load_error_english_with_lang(case: str, tmp_path: Path) -> None:
    debtor_kind, stages, dutch, english = CASES[case]
    path = tmp_path / "beleid.toml"
    path.write_text(_header(debtor_kind) + stages, encoding="utf-8")

    assert _load_error(path, "--lang", "en") == f"{path}{english}"
