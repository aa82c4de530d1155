"""The console log format shows the `extra` fields of a record."""

from __future__ import annotations

import logging
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
