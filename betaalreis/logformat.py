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


# Hosts counted by DisallowedHostFilter per process. Past this number, counting starts over.
_MAX_COUNTED_HOSTS = 1000


class DisallowedHostFilter(logging.Filter):
    """Turn Django's DisallowedHost log record into one line that names the host and the setting.

    Django logs each rejected Host header at ERROR with the exception's
    traceback and the request. This filter drops both, keeps the host as a
    field, and lets through the 1st, 10th, 100th, ... record per host in this
    process, so a scanner that tries many requests fills no disk.
    """

    def __init__(self) -> None:
        super().__init__()
        self.counts: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        meta = getattr(request, "META", {})
        host = str(meta.get("HTTP_HOST") or meta.get("SERVER_NAME") or "")

        if host not in self.counts and len(self.counts) >= _MAX_COUNTED_HOSTS:
            self.counts.clear()
        count = self.counts.get(host, 0) + 1
        self.counts[host] = count
        if str(count).strip("0") != "1":
            return False

        record.msg = (
            "Request rejected with 400 because its host is not allowed; if it is this server's address, "
            "set BETAALREIS_BASE_URL to it or add it to BETAALREIS_ALLOWED_HOSTS"
        )
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        for name in ("request", "status_code"):
            if hasattr(record, name):
                delattr(record, name)
        record.host = host
        record.count = count
        return True
