"""Dunning policies as data: loading TOML policy files into the database."""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from betaalreis.dunning.models import Policy, Stage, StageAction
from betaalreis.errors import InvalidInput
from betaalreis.ledger.models import Channel, Creditor, DebtorKind

DEFAULT_POLICY_DIR = Path(__file__).resolve().parent
DEFAULT_POLICY_FILES = {
    DebtorKind.CONSUMER: DEFAULT_POLICY_DIR / "consumer.toml",
    DebtorKind.BUSINESS: DEFAULT_POLICY_DIR / "business.toml",
}

_STAGE_KEYS = {
    "code", "name_nl", "name_en", "offset_days", "min_days_after_previous", "action",
    "channels", "min_amount", "attach_letter", "is_fourteen_day_letter", "states_claim",
    "template", "required",
}


def _stage_from_data(path: Path, index: int, data: dict[str, Any]) -> Stage:
    where = gettext("%(path)s: fase %(number)d") % {"path": path, "number": index + 1}
    unknown = set(data) - _STAGE_KEYS
    if unknown:
        raise InvalidInput(gettext("%(where)s: onbekende sleutels %(keys)s; toegestaan zijn %(allowed)s.") % {
            "where": where, "keys": sorted(unknown), "allowed": sorted(_STAGE_KEYS),
        })
    # A stage without name_en shows its Dutch name to English readers too.
    for key in ("code", "name_nl", "offset_days", "channels"):
        if key not in data:
            raise InvalidInput(gettext("%(where)s: sleutel %(key)r ontbreekt.") % {"where": where, "key": key})

    channels = data["channels"]
    if not isinstance(channels, list) or not channels:
        raise InvalidInput(gettext(
            "%(where)s: 'channels' moet een lijst met minstens één kanaal zijn, niet %(channels)r."
        ) % {"where": where, "channels": channels})
    bad = [channel for channel in channels if channel not in Channel.values]
    if bad:
        raise InvalidInput(gettext("%(where)s: onbekende kanalen %(bad)s; gebruik %(channels)s.") % {
            "where": where, "bad": bad, "channels": Channel.values,
        })

    action = data.get("action", StageAction.MESSAGE)
    if action not in StageAction.values:
        raise InvalidInput(gettext("%(where)s: onbekende actie %(action)r; gebruik %(actions)s.") % {
            "where": where, "action": action, "actions": StageAction.values,
        })

    required = data.get("required", False)
    if not isinstance(required, bool):
        raise InvalidInput(gettext("%(where)s: 'required' moet true of false zijn, niet %(required)r.") % {
            "where": where, "required": required,
        })

    try:
        min_amount = Decimal(str(data.get("min_amount", "0")))
    except InvalidOperation:
        raise InvalidInput(gettext("%(where)s: min_amount %(value)r is geen bedrag zoals \"50.00\".") % {
            "where": where, "value": data["min_amount"],
        }) from None

    return Stage(
        code=data["code"],
        order=index + 1,
        name_nl=data["name_nl"],
        name_en=data.get("name_en", ""),
        offset_days=int(data["offset_days"]),
        min_days_after_previous=int(data.get("min_days_after_previous", 0)),
        action=action,
        channels=channels,
        min_amount=min_amount,
        attach_letter=bool(data.get("attach_letter", False)),
        is_fourteen_day_letter=bool(data.get("is_fourteen_day_letter", False)),
        states_claim=bool(data.get("states_claim", False)),
        template=data.get("template", ""),
        required=required,
    )


# Channels whose day of receipt the claim law can presume (see
# betaalreis.legal.fourteen_day): only these can carry a 14-day letter.
FOURTEEN_DAY_CHANNELS = {Channel.LETTER, Channel.EMAIL}


def _check_fourteen_day_stage(path: Path, debtor_kind: str, stage: Stage) -> None:
    """Reject a 14-day letter stage that could void the collection costs."""
    where = _stage_at(path, stage)
    if debtor_kind != DebtorKind.CONSUMER:
        raise InvalidInput(gettext(
            "%(where)s: een veertiendagenbrief is voor consumenten; verwijder is_fourteen_day_letter."
        ) % {"where": where})
    if stage.offset_days < 1:
        raise InvalidInput(gettext(
            "%(where)s: een veertiendagenbrief mag pas uit als de debiteur in verzuim is, na de "
            "vervaldatum; zet offset_days op 1 of meer, niet %(offset)d."
        ) % {"where": where, "offset": stage.offset_days})
    bad = [channel for channel in stage.channels if channel not in FOURTEEN_DAY_CHANNELS]
    if bad:
        raise InvalidInput(gettext(
            "%(where)s: een veertiendagenbrief heeft een kanaal nodig met een aantoonbare dag van "
            "ontvangst; gebruik letter of email, niet %(bad)s."
        ) % {"where": where, "bad": bad})
    if not stage.states_claim:
        raise InvalidInput(gettext(
            "%(where)s: een veertiendagenbrief moet de kosten noemen die in rekening komen; "
            "zet states_claim = true."
        ) % {"where": where})


def _stage_at(path: Path, stage: Stage) -> str:
    """Return the policy file and stage code that start a problem text, in the active language."""
    return gettext("%(path)s: fase %(code)r") % {"path": path, "code": stage.code}


HANDOVER_CODE = "handover"


def _announces_handover(stage: Stage) -> bool:
    """Return whether the stage hands the invoice over or sends the handover template."""
    return stage.action == StageAction.HANDOVER or HANDOVER_CODE in (stage.code, stage.template_name)


def _check_handover_action(path: Path, stages: list[Stage]) -> None:
    """Reject a stage coded or templated "handover" that is not a handover stage.

    The handover template states to the debtor that the claim goes to a collection
    agency. A plain message stage would send that text while the invoice stays
    with the creditor. A credit manager who names a stage "handover" expects
    the invoice to be handed over, so the policy is rejected instead of
    quietly sending or quietly handing over.
    """
    for stage in stages:
        if _announces_handover(stage) and stage.action != StageAction.HANDOVER:
            raise InvalidInput(gettext(
                "%(where)s gebruikt de code of het sjabloon handover, maar heeft actie %(action)s, dus "
                "zou een incassobureau aankondigen zonder de factuur over te dragen. Voeg "
                "action = \"handover\" toe, of geef de fase een andere code en een ander sjabloon."
            ) % {"where": _stage_at(path, stage), "action": stage.action})


def _check_consumer_fourteen_day_letter(path: Path, debtor_kind: str, stages: list[Stage]) -> None:
    """Reject a consumer stage that claims costs or hands over before a 14-day letter.

    A consumer owes collection costs only after a 14-day letter's term has
    passed (art. 6:96 lid 6 BW). A stage that states the claim names those
    costs, and a handover charges them, so each needs a 14-day letter stage
    earlier in the policy.
    """
    if debtor_kind != DebtorKind.CONSUMER:
        return
    letter_seen = False
    for stage in sorted(stages, key=lambda stage: stage.order):
        if stage.is_fourteen_day_letter:
            letter_seen = True
            continue
        if letter_seen:
            continue
        if _announces_handover(stage):
            message = gettext(
                "%(where)s draagt de factuur over aan een incassobureau, maar er komt geen fase met "
                "een veertiendagenbrief voor. Een consument is incassokosten pas verschuldigd na de "
                "termijn van een veertiendagenbrief (art. 6:96 lid 6 BW). Voeg een eerdere fase toe "
                "met is_fourteen_day_letter = true."
            )
        elif stage.states_claim:
            message = gettext(
                "%(where)s noemt de vordering met incassokosten, maar er komt geen fase met een "
                "veertiendagenbrief voor. Een consument is incassokosten pas verschuldigd na de "
                "termijn van een veertiendagenbrief (art. 6:96 lid 6 BW). Voeg een eerdere fase toe "
                "met is_fourteen_day_letter = true."
            )
        else:
            continue
        raise InvalidInput(message % {"where": _stage_at(path, stage)})


def _check_required_stages(path: Path, stages: list[Stage]) -> None:
    """Reject a required stage that some debtors could never get, and a handover without one.

    The planner keeps back every later stage until an invoice has had its required
    stages, so a required call task would stop dunning for a debtor without a
    phone. The handover message states that our final notice went
    unanswered, which is only true when a required message stage comes first.
    """
    for stage in stages:
        if stage.required and stage.action != StageAction.MESSAGE:
            raise InvalidInput(gettext(
                "%(where)s: alleen een berichtfase kan verplicht zijn, geen fase met actie "
                "%(action)s; verwijder required = true."
            ) % {"where": _stage_at(path, stage), "action": stage.action})

    for stage in stages:
        if stage.action != StageAction.HANDOVER:
            continue
        if not any(earlier.required for earlier in stages if earlier.order < stage.order):
            raise InvalidInput(gettext(
                "%(where)s: een overdracht heeft eerst een sommatie nodig; zet required = true "
                "bij een eerdere berichtfase."
            ) % {"where": _stage_at(path, stage)})


def _check_claim_stages(path: Path, stages: list[Stage]) -> None:
    """Reject a stage that does not state the claim after one that does.

    From the first stage that states the claim on, an invoice carries
    collection costs and interest, and the portal shows them (see
    `betaalreis.dunning.charges`). A later message without them would ask
    a different amount than the portal on the same day.
    """
    stated = None
    for stage in sorted(stages, key=lambda stage: stage.order):
        if stage.states_claim and stated is None:
            stated = stage
        elif stated is not None and not stage.states_claim:
            raise InvalidInput(gettext(
                "%(where)s komt na %(stated)r, die de vordering noemt; zet ook hier states_claim = "
                "true, zodat de berichten van deze fase het bedrag vragen dat het portaal toont."
            ) % {"where": _stage_at(path, stage), "stated": stated.code})


def read_policy_file(path: Path) -> tuple[dict[str, Any], list[Stage]]:
    """Parse and check a policy file; return its header and unsaved stages."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(gettext("%(path)s: beleidsbestand kan niet gelezen worden: %(error)s") % {
            "path": path, "error": exc,
        }) from exc

    if data.get("debtor_kind") not in DebtorKind.values:
        raise InvalidInput(gettext("%(path)s: debtor_kind moet een van %(kinds)s zijn.") % {
            "path": path, "kinds": DebtorKind.values,
        })
    stages = [_stage_from_data(path, i, stage) for i, stage in enumerate(data.get("stages", []))]
    if not stages:
        raise InvalidInput(gettext("%(path)s: een beleid heeft minstens één [[stages]] nodig.") % {"path": path})

    for stage in stages:
        if stage.is_fourteen_day_letter:
            _check_fourteen_day_stage(path, data["debtor_kind"], stage)

    _check_handover_action(path, stages)
    _check_consumer_fourteen_day_letter(path, data["debtor_kind"], stages)
    _check_required_stages(path, stages)
    _check_claim_stages(path, stages)

    codes = [stage.code for stage in stages]
    if len(set(codes)) != len(codes):
        raise InvalidInput(gettext("%(path)s: elke fase moet een eigen code hebben; nu %(codes)s.") % {
            "path": path, "codes": codes,
        })
    offsets = [stage.offset_days for stage in stages]
    if offsets != sorted(offsets):
        raise InvalidInput(gettext(
            "%(path)s: offset_days mag van fase tot fase niet dalen; nu %(offsets)s."
        ) % {"path": path, "offsets": offsets})
    return data, stages


@transaction.atomic
def load_policy(creditor: Creditor, path: Path) -> Policy:
    """Create or replace the creditor's policy for the file's debtor kind."""
    header, stages = read_policy_file(path)
    policy, _ = Policy.objects.update_or_create(
        creditor=creditor,
        debtor_kind=header["debtor_kind"],
        defaults={"name": header.get("name", path.stem), "source": str(path)},
    )
    policy.stages.all().delete()
    for stage in stages:
        stage.policy = policy
    Stage.objects.bulk_create(stages)
    return policy


def fourteen_day_letter_warnings(policy: Policy) -> list[str]:
    """Return a warning, in the active language, for each consumer 14-day letter stage without the letter channel.

    The planner sends that letter by post anyway to a consumer who did not
    agree to electronic communication (see `betaalreis.dunning.letter_channel`),
    so the stage's channels do not show what the run does. The policy is
    loaded all the same, because the run keeps the rule.
    """
    if policy.debtor_kind != DebtorKind.CONSUMER:
        return []
    return [
        gettext(
            "Let op: fase %(stage)r is de veertiendagenbrief, maar channels noemt geen \"letter\" "
            "(%(channels)s). Een consument zonder akkoord met elektronische communicatie krijgt deze "
            "brief toch per post. Voeg \"letter\" toe aan channels, zodat het beleid zegt wat de run doet."
        ) % {"stage": stage.code, "channels": ", ".join(stage.channels)}
        for stage in policy.stages.order_by("order")
        if stage.is_fourteen_day_letter and Channel.LETTER not in stage.channels
    ]


def seed_default_policies(creditor: Creditor, *, replace: bool = False) -> list[Policy]:
    """Give a creditor the default consumer and business policies.

    Existing policies are kept unless `replace` is set.
    """
    policies = []
    for kind, path in DEFAULT_POLICY_FILES.items():
        existing = Policy.objects.filter(creditor=creditor, debtor_kind=kind).first()
        if existing is not None and not replace:
            policies.append(existing)
            continue
        policies.append(load_policy(creditor, path))
    return policies
