"""The file outbox: one file per message under settings.OUTBOX_DIR.

Layout: `<OUTBOX_DIR>/<channel>/<creditor slug>/<YYYY-MM-DD>/<key>.<ext>`,
where the date is the message date (the day it was sent) and `<key>` the
idempotency key made safe for file names. A file is written without a
name and then hard-linked to its final name, and the link fails when the
name exists. So two dispatchers racing on one key leave exactly one file,
and a readable file is always complete. On Linux the unnamed file is an
O_TMPFILE file. Where /proc is missing, or the kernel or file system
rejects O_TMPFILE or its link, the file is written under a temporary name,
linked and the temporary name removed. That gives the same guarantees at
two more directory changes per file.

NOTE: nothing calls fsync, so after a power failure or kernel crash a
linked file may be empty or incomplete.
"""

from __future__ import annotations

import datetime as dt
import errno
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


def write_once(path: Path | str, data: bytes) -> dt.datetime | None:
    """Write `data` to a new file at `path` and return the file's modification time.

    Returns None and leaves the file unchanged when `path` exists. Creates
    the missing folders of `path`. Callers that may find the file written
    should check first, because this function writes `data` before it learns
    that the name is taken.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    try:
        return _write_and_link(directory, path, data)
    except FileNotFoundError:
        # Only the first file of a creditor and day needs its folders made.
        os.makedirs(directory, exist_ok=True)
        return _write_and_link(directory, path, data)


def _write_and_link(directory: str, path: str, data: bytes) -> dt.datetime | None:
    descriptor = _open_unnamed(directory)
    if descriptor is None:
        return _write_named_and_link(directory, path, data)

    try:
        _write_all(descriptor, data)
        modified = os.fstat(descriptor).st_mtime
        try:
            _link_unnamed(descriptor, path)
        except FileExistsError:
            logger.info("outbox file exists, not replaced", extra={"path": path})
            return None
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED_ERRORS:
                raise
            _stop_unnamed_files(exc, directory)
            return _write_named_and_link(directory, path, data)
    finally:
        os.close(descriptor)
    return _utc(modified)


# Cleared after the first O_TMPFILE open or link that the kernel or the
# file system rejects, so later files skip the failing calls. The flag is
# per process, which assumes that the outbox folder tree is on one file system.
_unnamed_files_supported = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

# Errors that mean O_TMPFILE files cannot be used here, so the write falls
# back to a temporary name. open(2) gives EISDIR on kernels before 3.11,
# which lack O_TMPFILE, and EOPNOTSUPP on file systems without it. EXDEV
# and EPERM come from a link that the kernel or a security module rejects.
_UNSUPPORTED_ERRORS = frozenset({errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.EXDEV, errno.EPERM})


def _open_unnamed(directory: str) -> int | None:
    """Open a new file without a name in `directory`, or return None where O_TMPFILE is not supported."""
    if not _unnamed_files_supported:
        return None
    try:
        return os.open(directory, _UNNAMED_FLAGS, 0o600)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED_ERRORS:
            raise
        _stop_unnamed_files(exc, directory)
        return None


def _link_unnamed(descriptor: int, path: str) -> None:
    """Give the O_TMPFILE file open as `descriptor` the name `path`, raising FileExistsError when it exists.

    linkat(2) with AT_SYMLINK_FOLLOW on the file's /proc link does this
    without the CAP_DAC_READ_SEARCH that AT_EMPTY_PATH needs. CPython 3.11's
    os.link() calls link(2) unless a directory descriptor is given, and
    link(2) on Linux links the /proc symlink itself, which fails with EXDEV
    (CPython issue gh-81793). Passing `src_dir_fd` makes it call linkat(2),
    which ignores that descriptor because the source path is absolute.
    """
    os.link(f"/proc/self/fd/{descriptor}", path, src_dir_fd=descriptor, follow_symlinks=True)


def _stop_unnamed_files(error: OSError, directory: str) -> None:
    global _unnamed_files_supported
    _unnamed_files_supported = False
    logger.warning(
        "O_TMPFILE not supported, writing outbox files under temporary names",
        extra={"directory": directory, "error": errno.errorcode.get(error.errno or 0, str(error))},
    )


def _write_named_and_link(directory: str, path: str, data: bytes) -> dt.datetime | None:
    """Write `data` under a temporary name in `directory`, link it to `path` and remove the temporary name."""
    suffix = os.path.splitext(path)[1]
    descriptor, temporary = _create_temporary(directory, suffix)
    try:
        try:
            _write_all(descriptor, data)
            modified = os.fstat(descriptor).st_mtime
        finally:
            os.close(descriptor)
        try:
            os.link(temporary, path)
        except FileExistsError:
            logger.info("outbox file exists, not replaced", extra={"path": path})
            return None
    finally:
        os.unlink(temporary)
    return _utc(modified)


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
# Without O_EXCL, because O_EXCL would forbid giving the file a name.
_UNNAMED_FLAGS = os.O_WRONLY | getattr(os, "O_TMPFILE", 0) | getattr(os, "O_CLOEXEC", 0)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def written_at(path: Path | str) -> dt.datetime:
    return _utc(os.stat(path).st_mtime)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
