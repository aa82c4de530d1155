"""docs/configuration.md documents every environment variable that Betaalreis reads, and both READMEs link it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"
# Helpers that read one environment variable, named by their first argument.
_READERS = {"_env_bool", "_env_int", "getenv"}


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


def documented_variables() -> set[str]:
    """Return the variables named in the first column of the tables of docs/configuration.md."""
    rows = (line for line in PAGE.read_text(encoding="utf-8").splitlines() if line.startswith("| `"))
    return {match for row in rows for match in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}


def test_scan_finds_known_variables() -> None:
    found = variables_read()

    # One of each way of reading: _env_bool, _env_int, os.environ.get over several lines.
    assert found["BETAALREIS_PRODUCTION"] == "betaalreis/settings.py"
    assert found["BETAALREIS_PROXY_COUNT"] == "betaalreis/settings.py"
    assert found["BETAALREIS_SMS_CHANNEL"] == "betaalreis/settings.py"
    assert found["BETAALREIS_CORPUS"] == "betaalreis/testing.py"
    assert len(found) >= 60


def test_every_variable_read_is_documented() -> None:
    missing = {name: path for name, path in variables_read().items() if name not in documented_variables()}

    assert not missing, f"add these variables to docs/configuration.md: {missing}"


def test_documented_variables_are_read() -> None:
    stale = documented_variables() - set(variables_read())

    assert not stale, f"docs/configuration.md lists variables that nothing reads: {sorted(stale)}"


def test_readmes_link_configuration_page() -> None:
    for readme in ("README.md", "README.nl.md"):
        assert "](docs/configuration.md)" in (ROOT / readme).read_text(encoding="utf-8"), readme
