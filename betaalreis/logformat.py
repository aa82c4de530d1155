"""Log formatting that shows the ids passed as `extra` fields.

Log messages are constant strings and the ids they concern travel as
`extra` fields, so a plain format string would drop exactly the part an
operator needs. `FieldsFormatter` appends them as `key=value` pairs.
"""

from __future__ import annotations

import logging

# Attributes every LogRecord has. Any other attribute of a record came from `extra`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class FieldsFormatter(logging.Formatter):
    """A formatter that appends the record's `extra` fields as sorted `key=value` pairs."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = {
            name: value for name, value in vars(record).items() if name not in _STANDARD_ATTRIBUTES
        }
        if not fields:
            return text

        pairs = " ".join(f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"
                         for name, value in sorted(fields.items()))
        # Keep a traceback, if any, below the fields.
        first_line, newline, rest = text.partition("\n")
        return f"{first_line} {pairs}{newline}{rest}"
