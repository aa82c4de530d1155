"""Message templates: lookup with per-creditor overrides, rendered in a sandbox.

A template is found by trying, in order:

1. `$BETAALREIS_HOME/templates/<creditor slug>/messages/<folder>/<name>`
2. the built-in `messages/<folder>/<name>`
3. `$BETAALREIS_HOME/templates/<creditor slug>/messages/default/<name>`
4. the built-in `messages/default/<name>`

where `<folder>` is the stage's template folder and `<name>` is
`<channel>.<language>.<part>.j2`. `{% extends %}` and `{% include %}` look
in the creditor's folder first too, so a creditor can replace a shared
layout without copying every stage. Templates run in Jinja2's immutable
sandbox with strict undefined variables; HTML templates autoescape.
"""

from __future__ import annotations

import datetime as dt
import logging
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from jinja2.sandbox import ImmutableSandboxedEnvironment

from betaalreis.channels.render.context import format_iban
from betaalreis.errors import BetaalreisError

logger = logging.getLogger(__name__)

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"

# Babel locale per message language; other languages fall back to English.
LOCALES = {"nl": "nl_NL", "en": "en_GB"}

# Languages tried after the message language when a template is missing.
FALLBACK_LANGUAGES = ("en", "nl")


class TemplateError(BetaalreisError):
    """A message template is missing, unsafe or fails to render."""

    code = "template_error"


def locale_for(language: str) -> str:
    return LOCALES.get(language, LOCALES["en"])


# Formatting with babel dominates rendering time, and one message repeats
# the same amounts and dates, so results are cached.
@lru_cache(maxsize=8192)
def format_amount(amount: Decimal, currency: str, language: str) -> str:
    """Format money for a reader of `language`: € 1.234,56 in Dutch, €1,234.56 in English."""
    return format_currency(amount, currency, locale=locale_for(language))


@lru_cache(maxsize=2048)
def format_long_date(value: dt.date, language: str) -> str:
    """Format a date in words: 4 december 2026, or 4 December 2026."""
    return format_date(value, format="long", locale=locale_for(language))


# Shown in place of a date the ledger does not have, such as a missing invoice date.
MISSING_DATE = "—"


@lru_cache(maxsize=2048)
def format_short_date(value: dt.date | None, language: str) -> str:
    """Format a date briefly: 04-12-2026 in Dutch, 4 Dec 2026 in English, or MISSING_DATE for None.

    English readers in the US read 04/12/2026 as 12 April, so English names the month.
    """
    # Babel formats None as today's date, so None is caught here.
    if value is None:
        return MISSING_DATE
    pattern = "dd-MM-yyyy" if language == "nl" else "d MMM y"
    return format_date(value, format=pattern, locale=locale_for(language))


@jinja2.pass_context
def _money_filter(context: jinja2.runtime.Context, amount: Decimal, currency: str | None = None) -> str:
    return format_amount(amount, currency or context["currency"], context["language"])


@jinja2.pass_context
def _date_filter(context: jinja2.runtime.Context, value: dt.date) -> str:
    return format_long_date(value, context["language"])


@jinja2.pass_context
def _short_date_filter(context: jinja2.runtime.Context, value: dt.date | None) -> str:
    return format_short_date(value, context["language"])


@jinja2.pass_context
def _number_filter(context: jinja2.runtime.Context, value: Decimal) -> str:
    return format_decimal(value, locale=locale_for(context["language"]))


_METHOD_TYPES = (types.MethodType, types.BuiltinMethodType)


@lru_cache(maxsize=256)
def _template_globals(template: jinja2.Template) -> dict[str, Any]:
    return dict(template.globals)


class MessageTemplate(jinja2.Template):
    """A Jinja2 template whose contexts take its globals from a plain dict copied once.

    Jinja2 (3.1) gives every new context the template's globals as a
    ChainMap of the template's and the environment's globals, and the
    context copies their names into a set. For a ChainMap that took about
    2 us, for a dict about 0.1 us, and an email renders five contexts or
    more, one more per include. `_environment` never changes the globals
    after it creates an environment, so the copy stays current.
    """

    def new_context(
        self,
        vars: dict[str, Any] | None = None,  # noqa: A002 - the name Jinja2 uses
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,  # noqa: A002 - the name Jinja2 uses
    ) -> jinja2.runtime.Context:
        return jinja2.runtime.new_context(
            self.environment, self.name, self.blocks, vars, shared, _template_globals(self), locals
        )


class MessageTemplateEnvironment(ImmutableSandboxedEnvironment):
    """An immutable sandbox that remembers its attribute checks per type and name, and loads `MessageTemplate`s.

    Jinja2's sandbox (3.1) decides whether `obj.attr` is safe from the name
    and from isinstance tests on `obj` alone, so the answer is the same for
    every object of one type, unless that type is later registered with an
    abstract base class such as MutableMapping. Rendering an email reads dozens of attributes,
    and repeating the check for each one was a measurable part of dispatch.
    """

    _MAX_CACHED_CHECKS = 4096
    template_class = MessageTemplate

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._safe_attributes: dict[tuple[type, str], bool] = {}

    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: dict[str, Any] | None = None,  # noqa: A002 - the name Jinja2 uses
    ) -> jinja2.Template:
        """Load a template, at most once per name inside `templates_unchanged()`.

        A name that does not exist raises TemplateNotFound, which is
        remembered as well, so the fallback chain checks each file once.
        """
        loaded = _loaded_templates.get()
        if loaded is None or globals is not None or not isinstance(name, str):
            return super().get_template(name, parent, globals)

        key = (self, name, parent)
        template = loaded.get(key)
        if template is None:
            try:
                template = super().get_template(name, parent)
            except jinja2.TemplateNotFound:
                template = _NOT_FOUND
            loaded[key] = template
        if template is _NOT_FOUND:
            raise jinja2.TemplateNotFound(name)
        return template

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Return `obj.attribute` as the sandbox does, with a shortcut for attributes checked before.

        An attribute already found safe on this type returns its value at
        once. Methods still take the full path, because the sandbox wraps
        str.format and str.format_map.
        """
        if self._safe_attributes.get((type(obj), attribute)):
            try:
                value = getattr(obj, attribute)
            except AttributeError:
                pass
            else:
                if not isinstance(value, _METHOD_TYPES):
                    return value
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        key = (type(obj), attr)
        safe = self._safe_attributes.get(key)
        if safe is None:
            safe = super().is_safe_attribute(obj, attr, value)
            if len(self._safe_attributes) >= self._MAX_CACHED_CHECKS:
                self._safe_attributes.clear()
            self._safe_attributes[key] = safe
        return safe


# Templates loaded inside `templates_unchanged()`, keyed by environment, name and parent,
# and the results of `find_template`, keyed by "chain", environment and its arguments.
_loaded_templates: ContextVar[dict[tuple[Any, ...], Any] | None] = ContextVar(
    "loaded_message_templates", default=None
)
_NOT_FOUND = object()


@contextmanager
def templates_unchanged() -> Iterator[None]:
    """Load each message template at most once inside the block.

    Outside it the environments check the template files on every lookup
    (auto_reload), so an edited override takes effect at once. Dispatch
    renders thousands of messages from a few templates, and those file
    checks were a measurable part of its time. A template added or edited
    while the block runs takes effect after it.
    """
    token = _loaded_templates.set({})
    try:
        yield
    finally:
        _loaded_templates.reset(token)


def override_dir(creditor_slug: str) -> Path:
    return Path(settings.BETAALREIS_HOME) / "templates" / creditor_slug


@lru_cache(maxsize=64)
def _environment(override: str, autoescape: bool) -> ImmutableSandboxedEnvironment:
    loader = jinja2.FileSystemLoader([override, str(BUILTIN_DIR)], encoding="utf-8")
    env = MessageTemplateEnvironment(
        loader=loader,
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=True,
    )
    env.filters["iban"] = format_iban
    env.filters["money"] = _money_filter
    env.filters["date"] = _date_filter
    env.filters["short_date"] = _short_date_filter
    env.filters["number"] = _number_filter
    return env


def environment_for(creditor_slug: str, *, html: bool) -> ImmutableSandboxedEnvironment:
    return _environment(_override_dir_text(str(settings.BETAALREIS_HOME), creditor_slug), html)


# Every message looks up its creditor's environments, and building this
# path with pathlib on each lookup showed in dispatch profiles.
@lru_cache(maxsize=256)
def _override_dir_text(home: str, creditor_slug: str) -> str:
    return str(Path(home) / "templates" / creditor_slug)


def candidate_names(folder: str, channel: str, language: str, part: str) -> list[str]:
    """List the template names to try, most specific first.

    The loader looks for each name in the creditor's folder before the
    built-in one, which gives the order described in the module docstring.
    """
    return list(_candidate_names(folder, channel, language, part))


@lru_cache(maxsize=1024)
def _candidate_names(folder: str, channel: str, language: str, part: str) -> tuple[str, ...]:
    languages = [language] + [fallback for fallback in FALLBACK_LANGUAGES if fallback != language]
    names = []
    for candidate_language in languages:
        filename = f"{channel}.{candidate_language}.{part}.j2"
        for candidate_folder in dict.fromkeys((folder, "default")):
            names.append(f"messages/{candidate_folder}/{filename}")
    return tuple(names)


def find_template(
    env: jinja2.Environment, folder: str, channel: str, language: str, part: str
) -> jinja2.Template:
    """Return the first template of the fallback chain that exists.

    Within one language a creditor's stage template comes first, then the
    built-in stage template, then the creditor's default and the built-in
    default. Raises TemplateError listing every name tried. Inside
    `templates_unchanged()` the template found is remembered, so the
    missing names before it are not tried again.
    """
    loaded = _loaded_templates.get()
    key = ("chain", env, folder, channel, language, part)
    if loaded is not None and key in loaded:
        return loaded[key]

    tried = []
    for name in _candidate_names(folder, channel, language, part):
        tried.append(name)
        try:
            template = env.get_template(name)
        except jinja2.TemplateNotFound:
            continue
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                f"Template {exc.filename or name} has a syntax error on line {exc.lineno}: "
                f"{exc.message}. Correct the template.",
                code="template_syntax",
            ) from exc
        if loaded is not None:
            loaded[key] = template
        return template
    raise TemplateError(
        f"No template found for stage folder {folder!r}, channel {channel!r}, language "
        f"{language!r}, part {part!r}. Tried: {', '.join(tried)}. Add one of these files.",
        code="template_missing",
    )


def _render_error(template: jinja2.Template, exc: Exception) -> TemplateError:
    if isinstance(exc, jinja2.exceptions.SecurityError):
        return TemplateError(
            f"Template {template.filename} tried an operation the sandbox forbids ({exc}). "
            "Use only the documented variables and filters.",
            code="template_unsafe",
        )
    return TemplateError(
        f"Template {template.filename} failed to render: {type(exc).__name__}: {exc}. "
        "Check the variable names against the documented context.",
        code="template_render",
    )


def _new_context(template: jinja2.Template, variables: dict[str, Any]) -> jinja2.runtime.Context:
    """Return the context `template.render(variables)` would build, at less cost.

    Jinja2 (3.1) merges the template's globals, a ChainMap, into a new dict
    for every context. An email renders five contexts or more, so the
    globals are copied into a plain dict once per template and merged here.
    """
    return template.new_context({**_template_globals(template), **variables}, shared=True)


def render_template(template: jinja2.Template, variables: dict[str, Any]) -> str:
    """Render a whole template; raise TemplateError naming the file on any failure."""
    context = _new_context(template, variables)
    try:
        try:
            return template.environment.concat(template.root_render_func(context))
        except Exception:
            # As in Template.render, handle_exception() re-raises the error
            # with the template's lines in its traceback.
            template.environment.handle_exception()
    except jinja2.TemplateError as exc:
        raise _render_error(template, exc) from exc
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise _render_error(template, exc) from exc


def render_block(template: jinja2.Template, block: str, variables: dict[str, Any]) -> str:
    """Render one block of a template, or return "" when it has no such block."""
    return TemplateBlocks(template, variables).render(block)


class TemplateBlocks:
    """A renderer of the blocks of one template from one set of variables, all in one context.

    Rendering a block leaves its context as it was, because Jinja2 (3.1)
    keeps a block's `{% set %}` inside the block. So each block renders as
    `render_block` would render it alone, and an email saves the context
    that each of its three or four blocks would build.
    """

    def __init__(self, template: jinja2.Template, variables: dict[str, Any]) -> None:
        self.template = template
        self._variables = variables
        self._context: jinja2.runtime.Context | None = None

    def render(self, block: str) -> str:
        """Render `block` with surrounding blank space removed, or return "" when the template has no such block."""
        render = self.template.blocks.get(block)
        if render is None:
            return ""
        if self._context is None:
            self._context = _new_context(self.template, self._variables)
        try:
            return "".join(render(self._context)).strip()
        except jinja2.TemplateError as exc:
            raise _render_error(self.template, exc) from exc
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise _render_error(self.template, exc) from exc
