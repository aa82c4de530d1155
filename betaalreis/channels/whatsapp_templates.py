"""The choice of a stage's WhatsApp template, and the check that a stage may use WhatsApp.

A stage may send over WhatsApp in a language only when the creditor has a
`WhatsAppTemplate` for that stage and language that `do_verify_template`
found approved as a utility template at Meta. Without one the WhatsApp
channel is skipped for that stage, so the stage's next channel is used.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from betaalreis.channels.accounts import ProviderAccount
from betaalreis.channels.base import ChannelError
from betaalreis.channels.models import WhatsAppTemplate
from betaalreis.dunning.models import Stage
from betaalreis.ledger.models import Channel, Creditor, Debtor

logger = logging.getLogger(__name__)


def choose_template(templates: Iterable[WhatsAppTemplate], language: str) -> WhatsAppTemplate | None:
    """Return the template for a debtor language from one stage's templates, or None.

    An exact language code wins ("en"). Otherwise a regional variant of the
    language is used ("en_US" for "en"), the first by code when there are several.
    """
    if not language:
        return None

    candidates = list(templates)
    for template in candidates:
        if template.language == language:
            return template

    variants = sorted(
        (template for template in candidates if template.language.startswith(f"{language}_")),
        key=lambda template: template.language,
    )
    return variants[0] if variants else None


def find_template(creditor_id: int, stage_code: str, language: str) -> WhatsAppTemplate | None:
    """Return the creditor's template for a stage in a debtor language, or None."""
    if not stage_code:
        return None
    templates = WhatsAppTemplate.objects.filter(creditor_id=creditor_id, stage_code=stage_code)
    return choose_template(templates, language)


def template_ready(creditor_id: int, stage_code: str, language: str) -> bool:
    """Return whether a stage may send over WhatsApp in `language`: its template exists and is verified."""
    template = find_template(creditor_id, stage_code, language)
    return template is not None and template.is_usable


def ready_stage_languages(creditor_id: int) -> frozenset[tuple[str, str]]:
    """Return the (stage code, debtor language) pairs that may send over WhatsApp, in one query.

    Meant for a planner that decides in memory. A regional template ("en_US")
    also makes its base language ("en") ready, unless an exact template for
    the base language exists and is not usable, as `choose_template` picks.
    """
    per_stage: dict[str, list[WhatsAppTemplate]] = defaultdict(list)
    for template in WhatsAppTemplate.objects.filter(creditor_id=creditor_id):
        per_stage[template.stage_code].append(template)

    ready: set[tuple[str, str]] = set()
    for stage_code, templates in per_stage.items():
        languages = {template.language for template in templates}
        languages |= {language.split("_", 1)[0] for language in languages}
        for language in languages:
            chosen = choose_template(templates, language)
            if chosen is not None and chosen.is_usable:
                ready.add((stage_code, language))
    return frozenset(ready)


@dataclass(frozen=True, slots=True)
class StageTemplateCheck:
    """The template state of one WhatsApp stage in one debtor language."""

    policy_name: str
    stage_code: str
    language: str
    template_name: str
    status: str
    category: str
    ready: bool

    @property
    def problem(self) -> str:
        """A short description of what stops the stage from using WhatsApp, or ""."""
        if self.ready:
            return ""
        if not self.template_name:
            return "no template"
        if self.status == "MISSING":
            return "not found at Meta"
        return f"not usable (status {self.status or 'unknown'}, category {self.category or 'unknown'})"


@dataclass(frozen=True, slots=True)
class VerificationFailure:
    """A template that could not be checked at Meta, with the reason."""

    template_name: str
    language: str
    error: str


@dataclass(slots=True)
class CreditorTemplateReport:
    """The outcome of `verify_creditor_templates`."""

    checked: int = 0
    failures: list[VerificationFailure] = field(default_factory=list)
    stages: list[StageTemplateCheck] = field(default_factory=list)

    @property
    def missing(self) -> list[StageTemplateCheck]:
        return [check for check in self.stages if not check.ready]

    @property
    def complete(self) -> bool:
        return not self.failures and not self.missing


def stage_languages(creditor: Creditor, debtor_kind: str) -> list[str]:
    """Return the languages a stage for `debtor_kind` must have templates in.

    These are the creditor's default language and every language its
    debtors of that kind have, because messages go out in the debtor's language.
    """
    languages = {creditor.default_language}
    languages.update(
        Debtor.objects.filter(creditor=creditor, kind=debtor_kind)
        .values_list("language", flat=True)
        .distinct()
    )
    return sorted(language for language in languages if language)


def check_stage_templates(creditor: Creditor) -> list[StageTemplateCheck]:
    """Return the template state of every stage that lists WhatsApp, per required language."""
    templates: dict[str, list[WhatsAppTemplate]] = defaultdict(list)
    for template in WhatsAppTemplate.objects.filter(creditor=creditor):
        templates[template.stage_code].append(template)

    checks = []
    stages = (
        Stage.objects.filter(policy__creditor=creditor)
        .select_related("policy")
        .order_by("policy__debtor_kind", "order")
    )
    for stage in stages:
        if Channel.WHATSAPP not in stage.channels:
            continue
        for language in stage_languages(creditor, stage.policy.debtor_kind):
            chosen = choose_template(templates[stage.code], language)
            checks.append(StageTemplateCheck(
                policy_name=stage.policy.name,
                stage_code=stage.code,
                language=language,
                template_name=chosen.name if chosen else "",
                status=chosen.status if chosen else "",
                category=chosen.category if chosen else "",
                ready=chosen is not None and chosen.is_usable,
            ))
    return checks


def verify_creditor_templates(creditor: Creditor, account: ProviderAccount) -> CreditorTemplateReport:
    """Verify each of the creditor's templates at Meta, then check every WhatsApp stage.

    A template Meta cannot be asked about is listed in `failures` and keeps
    its earlier verification, and the remaining templates are still checked.
    """
    # Imported here because the adapter module imports this one.
    from betaalreis.channels.backends.whatsapp.api import do_verify_template

    report = CreditorTemplateReport()
    for template in WhatsAppTemplate.objects.filter(creditor=creditor).order_by("stage_code", "language"):
        try:
            do_verify_template(template, account)
        except ChannelError as exc:
            logger.warning(
                "whatsapp template verification failed",
                extra={"creditor_id": creditor.pk, "template_id": template.pk, "error_code": exc.code},
            )
            report.failures.append(VerificationFailure(template.name, template.language, str(exc)))
            continue
        report.checked += 1

    report.stages = check_stage_templates(creditor)
    return report
