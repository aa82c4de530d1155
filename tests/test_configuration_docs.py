"""The configuration pages document every environment variable that Betaalreis reads.

docs/configuration.md and its Dutch twin docs/configuration.nl.md list the
same variables, docs/providers.md and docs/providers.nl.md have the same
structure, each twin links the other, and both READMEs link the pages.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGE = DOCS / "configuration.md"
PAGE_NL = DOCS / "configuration.nl.md"
PROVIDERS_PAGE = DOCS / "providers.md"
PROVIDERS_PAGE_NL = DOCS / "providers.nl.md"
# (English page, Dutch translation) pairs that must have the same content.
TWINS = [(PAGE, PAGE_NL), (PROVIDERS_PAGE, PROVIDERS_PAGE_NL)]
# Helpers that read one environment variable, named by their first argument.
_READERS = {"_env_bool", "_env_int", "getenv"}
_FENCE = "```"


def _is_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _variable_read(node: ast.AST) -> str | None:
    """Return the name of the environment variable that `node` reads, or None."""
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
        key = node.slice
        return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None
    function = node.func
    if isinstance(function, ast.Attribute) and function.attr == "get" and _is_environ(function.value):
        return first.value
    name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
    return first.value if name in _READERS else None


def variables_read() -> dict[str, str]:
    """Map each environment variable that the package's modules read (tests left out) to a file that reads it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "betaalreis").rglob("*.py")):
        if "tests" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = _variable_read(node)
            if name is not None:
                found.setdefault(name, str(path.relative_to(ROOT)))
    return found


def variable_tables(text: str) -> list[list[str]]:
    """Return, per table of a configuration page, the variables named in its first column in page order."""
    tables: list[list[str]] = []
    in_table = False
    for line in text.splitlines():
        if not line.startswith("|"):
            in_table = False
            continue
        if not in_table:
            tables.append([])
            in_table = True
        if line.startswith("| `"):
            tables[-1].extend(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return [table for table in tables if table]


def documented_variables(page: Path = PAGE) -> set[str]:
    """Return the variables named in the first column of the tables of a configuration page."""
    return {name for table in variable_tables(page.read_text(encoding="utf-8")) for name in table}


@dataclass(frozen=True)
class PageStructure:
    """The parts of a Markdown page that a translation keeps unchanged."""

    headings: list[int]
    tables: list[tuple[int, int]]
    code_blocks: list[tuple[str, ...]]
    code_spans: set[str]


def page_structure(text: str) -> PageStructure:
    """Parse the heading levels, table shapes, fenced code blocks and inline code spans of a Markdown page.

    A table shape is (columns, body rows). A fenced block keeps its info
    string and its lines without trailing `#` comments, because a translation
    may translate those comments. Inline code spans are read from the text
    outside fenced blocks, with line breaks inside a span read as spaces.
    """
    headings: list[int] = []
    tables: list[tuple[int, int]] = []
    code_blocks: list[tuple[str, ...]] = []
    prose: list[str] = []
    block: list[str] | None = None
    table_lines: list[str] = []

    def close_table() -> None:
        if table_lines:
            columns = len(table_lines[0].strip().strip("|").split("|"))
            tables.append((columns, len(table_lines) - 2))
            table_lines.clear()

    for line in text.splitlines():
        if block is not None:
            if line.startswith(_FENCE):
                code_blocks.append(tuple(block))
                block = None
            else:
                command = re.sub(r"\s+#\s.*$", "", line).rstrip()
                if command:
                    block.append(command)
            continue

        if line.startswith(_FENCE):
            close_table()
            block = [line]
            continue

        if line.startswith("|"):
            table_lines.append(line)
        else:
            close_table()
        heading = re.match(r"(#{1,6}) ", line)
        if heading:
            headings.append(len(heading.group(1)))
        prose.append(line)

    close_table()
    spans = re.findall(r"`([^`]+)`", "\n".join(prose))
    return PageStructure(headings, tables, code_blocks, {" ".join(span.split()) for span in spans})


def _text_above_first_section(page: Path) -> str:
    return page.read_text(encoding="utf-8").split("\n## ", 1)[0]


def test_scan_finds_known_variables() -> None:
    found = variables_read()

    # One of each way of reading: _env_bool, _env_int, os.environ.get over several lines.
    assert found["BETAALREIS_PRODUCTION"] == "betaalreis/settings.py"
    assert found["BETAALREIS_PROXY_COUNT"] == "betaalreis/settings.py"
    assert found["BETAALREIS_SMS_CHANNEL"] == "betaalreis/settings.py"
    assert found["BETAALREIS_CORPUS"] == "betaalreis/testing.py"
    assert len(found) >= 60


@pytest.mark.parametrize("page", [PAGE, PAGE_NL], ids=lambda page: page.name)
def test_every_variable_read_is_documented(page: Path) -> None:
    missing = {name: path for name, path in variables_read().items() if name not in documented_variables(page)}

    assert not missing, f"add these variables to docs/{page.name}: {missing}"


@pytest.mark.parametrize("page", [PAGE, PAGE_NL], ids=lambda page: page.name)
def test_documented_variables_are_read(page: Path) -> None:
    stale = documented_variables(page) - set(variables_read())

    assert not stale, f"docs/{page.name} lists variables that nothing reads: {sorted(stale)}"


def test_dutch_configuration_lists_same_variables() -> None:
    english = variable_tables(PAGE.read_text(encoding="utf-8"))
    dutch = variable_tables(PAGE_NL.read_text(encoding="utf-8"))
    english_names = {name for table in english for name in table}
    dutch_names = {name for table in dutch for name in table}

    assert not english_names - dutch_names, f"add to docs/configuration.nl.md: {sorted(english_names - dutch_names)}"
    assert not dutch_names - english_names, f"remove from docs/configuration.nl.md: {sorted(dutch_names - english_names)}"
    # Same tables, with the variables in the same order, so each section matches its twin.
    assert dutch == english


@pytest.mark.parametrize("english, dutch", TWINS, ids=lambda page: page.name)
def test_dutch_twin_has_same_structure(english: Path, dutch: Path) -> None:
    expected = page_structure(english.read_text(encoding="utf-8"))
    found = page_structure(dutch.read_text(encoding="utf-8"))

    assert found.headings == expected.headings, f"docs/{dutch.name} needs the sections of docs/{english.name}"
    assert found.tables == expected.tables, f"docs/{dutch.name} needs the tables of docs/{english.name}"
    assert found.code_blocks == expected.code_blocks, f"docs/{dutch.name} needs the code blocks of docs/{english.name}"
    assert not expected.code_spans - found.code_spans, f"missing in docs/{dutch.name}"
    assert not found.code_spans - expected.code_spans, f"not in docs/{english.name}"


# Each edit breaks a copy of docs/providers.nl.md in one way that the structure check must catch.
_BREAKAGES = {
    "section dropped": ("## Webhookadressen", "Webhookadressen"),
    "table row dropped": ("| `smtp` | `host`, `from_email` | geen |\n", ""),
    "command changed": ("betaalreis read_bounces --mbox PATH", "betaalreis read_bounce --mbox PATH"),
    "variable in code span changed": ("`BETAALREIS_RATE_LIMIT_PREFIX`", "`BETAALREIS_RATE_PREFIX`"),
}


@pytest.mark.parametrize("old, new", _BREAKAGES.values(), ids=_BREAKAGES.keys())
def test_structure_check_finds_broken_twin(old: str, new: str) -> None:
    text = PROVIDERS_PAGE_NL.read_text(encoding="utf-8")
    assert old in text, f"docs/providers.nl.md no longer contains {old!r}; pick another line for this case"

    broken = page_structure(text.replace(old, new, 1))

    assert broken != page_structure(PROVIDERS_PAGE.read_text(encoding="utf-8"))


def test_structure_check_keeps_translated_comment() -> None:
    english = page_structure("```\nbetaalreis read_bounces   # every configured Maildir\n```\n")
    dutch = page_structure("```\nbetaalreis read_bounces   # elke ingestelde Maildir\n```\n")

    assert dutch == english


def test_variable_check_finds_dropped_row() -> None:
    text = PAGE_NL.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `REDIS_URL`"))

    broken = variable_tables(text.replace(row + "\n", ""))

    assert broken != variable_tables(PAGE.read_text(encoding="utf-8"))
    assert "REDIS_URL" not in {name for table in broken for name in table}


@pytest.mark.parametrize("english, dutch", TWINS, ids=lambda page: page.name)
def test_twins_link_each_other_at_top(english: Path, dutch: Path) -> None:
    assert f"]({dutch.name})" in _text_above_first_section(english)
    assert f"]({english.name})" in _text_above_first_section(dutch)


@pytest.mark.parametrize(
    "readme, page",
    [
        ("README.md", "docs/configuration.md"),
        ("README.md", "docs/configuration.nl.md"),
        ("README.md", "docs/providers.md"),
        ("README.md", "docs/providers.nl.md"),
        ("README.nl.md", "docs/configuration.nl.md"),
        ("README.nl.md", "docs/configuration.md"),
        ("README.nl.md", "docs/providers.nl.md"),
        ("README.nl.md", "docs/providers.md"),
    ],
)
def test_readme_links_page(readme: str, page: str) -> None:
    assert f"]({page})" in (ROOT / readme).read_text(encoding="utf-8")


def test_dutch_readme_links_dutch_pages_first() -> None:
    text = (ROOT / "README.nl.md").read_text(encoding="utf-8")

    assert text.index("](docs/configuration.nl.md)") < text.index("](docs/configuration.md)")
    assert text.index("](docs/providers.nl.md)") < text.index("](docs/providers.md)")
