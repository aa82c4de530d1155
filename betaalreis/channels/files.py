"""The file outbox: one file per message under settings.OUTBOX_DIR.

Layout: `<OUTBOX_DIR>/<channel>/<creditor slug>/<YYYY-MM-DD>/<key>.<ext>`,
where the date is the message date (the day it was sent) and `<key>` the
idempotency key made safe for file names. A file is written under a temporary name and then
hard-linked to its final name, which fails when the name exists: two
dispatchers racing on one key leave exactly one file, and a readable file
is always complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
import os
import re
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from betaalreis.channels.base import OutgoingMessage

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_key(key: str) -> str:
    """Return `key` as a file name: unsafe characters become "_" plus a hash of the original.

    The hash keeps two keys apart that differ only in replaced characters.
    """
    safe = _UNSAFE.sub("_", key)
    if safe != key or not safe or safe.startswith("."):
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe.lstrip('.')[:150]}-{digest}"
    return safe


def message_date(message: OutgoingMessage) -> dt.date:
    """Return the date a message carries (`date` metadata), else today in Amsterdam.

    That is the day dispatch sent it, which is also the date printed in it,
    also in a replayed run (`run --date`).
    """
    return _metadata_date(message, "date") or timezone.localdate()


def _metadata_date(message: OutgoingMessage, key: str) -> dt.date | None:
    value = message.metadata.get(key)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value)
    return None


def outbox_path(message: OutgoingMessage, extension: str, *, folder: str = "") -> Path:
    """Return where the file outbox keeps `message`: under its channel, or `folder` when given."""
    return Path(settings.OUTBOX_DIR) / outbox_relative_path(message, extension, folder=folder)


def outbox_relative_path(message: OutgoingMessage, extension: str, *, folder: str = "") -> str:
    """Return the path of `message` inside the outbox, as `relative_to_outbox(outbox_path(...))` does.

    The folder is the message date. A retry on a later day renders the
    message with a later date, so when the message was planned before its
    date (`planned_on` metadata), the folders from that day on are searched
    for a file of an earlier attempt, and its path is returned if one exists.
    Dispatch builds one path per message, and this string form costs a
    fraction of building and relativising a `Path`.
    """
    prefix = f"{folder or message.channel}/{_safe_slug(message.creditor_slug)}/"
    name = f"{safe_key(message.idempotency_key)}.{extension}"
    day = message_date(message)
    planned_on = _metadata_date(message, "planned_on")
    if planned_on is not None and planned_on < day:
        for folder_day in _day_folders_between(prefix, planned_on, day):
            relative_path = f"{prefix}{folder_day}/{name}"
            if os.path.exists(os.path.join(settings.OUTBOX_DIR, relative_path)):
                return relative_path
    return f"{prefix}{day.isoformat()}/{name}"


def _day_folders_between(prefix: str, first: dt.date, before: dt.date) -> list[str]:
    """Return the names of the existing day folders under `prefix` from `first` up to `before`, oldest first.

    One directory listing, so a message planned long before its send day
    costs no check per day in between.
    """
    first_name, before_name = first.isoformat(), before.isoformat()
    try:
        with os.scandir(os.path.join(settings.OUTBOX_DIR, prefix)) as entries:
            # ISO dates sort and compare as strings.
            return sorted(entry.name for entry in entries if first_name <= entry.name < before_name)
    except FileNotFoundError:
        return []


@lru_cache(maxsize=256)
def _safe_slug(creditor_slug: str) -> str:
    return safe_key(creditor_slug)


def relative_to_outbox(path: Path) -> str:
    return str(path.relative_to(Path(settings.OUTBOX_DIR)))


def write_once(path: Path | str, data: bytes) -> bool:
    """Write `data` to `path` unless the file exists; return whether this call wrote it.

    Creates the missing folders of `path`.
    """
    path = os.fspath(path)
    if os.path.exists(path):
        return False

    directory = os.path.dirname(path)
    suffix = os.path.splitext(path)[1]
    try:
        descriptor, temporary = _create_temporary(directory, suffix)
    except FileNotFoundError:
        # Only the first file of a creditor and day needs its folders made.
        os.makedirs(directory, exist_ok=True)
        descriptor, temporary = _create_temporary(directory, suffix)
    try:
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            logger.info("outbox file already written by another sender", extra={"path": path})
            return False
    finally:
        os.unlink(temporary)
    return True


_temporary_numbers = itertools.count()


def _create_temporary(directory: str, suffix: str) -> tuple[int, str]:
    """Create a new file in `directory` that only this user can read, and return it open for writing.

    The name contains the process id and a counter, and O_EXCL makes the
    creation fail on a name that exists, a file left by a crashed process
    for example, so the next number is tried. tempfile.mkstemp() does the
    same with random names, at about 20 us more per file.
    """
    process_id = os.getpid()
    while True:
        temporary = os.path.join(directory, f".tmp-{process_id}-{next(_temporary_numbers)}{suffix}")
        try:
            return os.open(temporary, _CREATE_FLAGS, 0o600), temporary
        except FileExistsError:
            continue


_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def written_at(path: Path | str) -> dt.datetime:
    return dt.datetime.fromtimestamp(os.stat(path).st_mtime, tz=dt.timezone.utc)
