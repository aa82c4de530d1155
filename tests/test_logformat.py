"""The console log format shows the `extra` fields of a record."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from betaalreis.logformat import FieldsFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("betaalreis.test", logging.WARNING, __file__, 1, message, (), None)
    for name, value in extra.items():
        setattr(record, name, value)
    return record


def test_extra_fields_appended_sorted() -> None:
    formatter = FieldsFormatter("%(levelname)s %(message)s")

    text = formatter.format(_record("communication send failed", error_code="smtp_535", communication_id=7))

    assert text == "WARNING communication send failed communication_id=7 error_code='smtp_535'"


def test_plain_record_unchanged() -> None:
    formatter = FieldsFormatter("%(levelname)s %(message)s")

    assert formatter.format(_record("run started")) == "WARNING run started"


def test_fields_stay_above_traceback() -> None:
    formatter = FieldsFormatter("%(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record("render crashed", communication_id=3)
        record.exc_info = sys.exc_info()

    lines = formatter.format(record).splitlines()

    assert lines[0] == "render crashed communication_id=3"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: boom"


def test_settings_use_fields_formatter(settings) -> None:
    formatter = settings.LOGGING["formatters"]["plain"]

    assert formatter["()"] == "betaalreis.logformat.FieldsFormatter"


class _Request:
    def __init__(self, host: str) -> None:
        self.META = {"HTTP_HOST": host}


def _disallowed_host_record(host: str) -> logging.LogRecord:
    record = logging.LogRecord(
        "django.security.DisallowedHost", logging.ERROR, __file__, 1, "Invalid HTTP_HOST header: %r.", (host,), None
    )
    record.request = _Request(host)
    record.status_code = 400
    return record


def test_disallowed_host_one_line_with_host() -> None:
    from betaalreis.logformat import DisallowedHostFilter

    record = _disallowed_host_record("other.example")
    record.exc_info = (ValueError, ValueError("x"), None)

    assert DisallowedHostFilter().filter(record)
    text = FieldsFormatter("%(levelname)s %(message)s").format(record)
    assert len(text.splitlines()) == 1
    assert text.startswith("ERROR Request rejected with 400 because its host is not allowed")
    assert text.endswith("count=1 host='other.example'")


def test_disallowed_host_repeats_logged_by_tens() -> None:
    from betaalreis.logformat import DisallowedHostFilter

    host_filter = DisallowedHostFilter()

    passed = [count for count in range(1, 101) if host_filter.filter(_disallowed_host_record("other.example"))]
    other_host = host_filter.filter(_disallowed_host_record("third.example"))

    assert passed == [1, 10, 100]
    assert other_host


_SERVER_ERROR_SCRIPT = """
import logging, os
os.environ["DJANGO_SETTINGS_MODULE"] = "betaalreis.settings"
import django
django.setup()
from django.conf import settings
assert not settings.DEBUG
try:
    raise OverflowError("int too large")
except OverflowError:
    logging.getLogger("django.request").error("Internal Server Error: %s", "/portal/pay/", exc_info=True)
"""


def test_server_error_logged_without_debug(tmp_path) -> None:
    environment = {**os.environ, "BETAALREIS_HOME": str(tmp_path)}
    environment.pop("BETAALREIS_DEBUG", None)

    finished = subprocess.run(
        [sys.executable, "-c", _SERVER_ERROR_SCRIPT], env=environment, capture_output=True, text=True, timeout=60
    )

    assert finished.returncode == 0, finished.stderr
    assert "Internal Server Error: /portal/pay/" in finished.stderr
    assert "OverflowError: int too large" in finished.stderr
