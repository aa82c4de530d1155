"""Reading the TOML files of the import commands (mapping files, creditors files) with translated errors."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from django.utils.translation import gettext

from betaalreis.errors import InvalidInput

# Python 3.11 puts the position only in the message of TOMLDecodeError, as "(at line 3, column 8)".
_POSITION = re.compile(r"at line (?P<line>\d+), column (?P<column>\d+)")


def read_toml(path: Path, kind: str) -> dict[str, Any]:
    """Parse the TOML file `path`; raise InvalidInput naming the file, its `kind` and the problem."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        problem = gettext("het bestand bestaat niet; controleer het pad")
        raise _unreadable(path, kind, problem) from exc
    except OSError as exc:
        problem = gettext("het bestand kan niet worden gelezen; controleer het pad en de leesrechten")
        raise _unreadable(path, kind, problem) from exc
    except UnicodeDecodeError as exc:
        problem = gettext("het bestand is geen UTF-8; sla het op als UTF-8")
        raise _unreadable(path, kind, problem) from exc
    except tomllib.TOMLDecodeError as exc:
        position = _POSITION.search(str(exc))
        if position is None:
            problem = gettext("geen geldige TOML; vergelijk het bestand met het voorbeeld in examples/")
        else:
            problem = gettext(
                "geen geldige TOML op regel %(line)s, kolom %(column)s; vergelijk het bestand met het "
                "voorbeeld in examples/"
            ) % {"line": position["line"], "column": position["column"]}
        raise _unreadable(path, kind, problem) from exc


def _unreadable(path: Path, kind: str, problem: str) -> InvalidInput:
    return InvalidInput(
        gettext("%(path)s: %(kind)s niet gelezen: %(problem)s.") % {"path": path, "kind": kind, "problem": problem}
    )
