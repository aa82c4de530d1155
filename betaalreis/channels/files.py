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

Durability: a file's data reaches the disk before the file gets its name,
and its folder is synced after that, so a file under its final name is
complete also after a power failure. Inside `durable_batch()` the files
wait for `DurableBatch.commit()`, which syncs the data of all of them at
once. Dispatch commits each batch before it marks the batch's messages sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import datetime as dt
import errno
import hashlib
import itertools
import logging
import os
import platform
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


def write_once(path: Path | str, data: bytes, *, immediately: bool = False) -> dt.datetime | None:
    """Write `data` to a new file at `path` and return the file's modification time.

    Returns None and leaves the file unchanged when `path` exists. Creates
    the missing folders of `path`. Outside `durable_batch()`, or with
    `immediately`, the file is on disk under its name when this returns.
    Inside a batch it gets its name and reaches the disk at the batch's
    `commit()`, and a file that another writer names first is kept.
    Callers that may find the file written should check first, because
    this function writes `data` before it learns that the name is taken.
    """
    batch = _current_batch.get()
    if batch is not None and not immediately:
        return batch.write(os.fspath(path), data)

    single = DurableBatch()
    try:
        written = single.write(os.fspath(path), data)
        linked = single.commit()
    finally:
        single.discard()
    if written is not None and not linked:
        # Another writer named the file between the check in write() and the link.
        return None
    return written


def keep_durable(path: Path | str) -> None:
    """Sync the folder of the existing file `path`, at the batch's commit or now outside a batch.

    A dispatcher that crashed after naming a file may have left its folder
    entry unsynced, so a retry that finds the file syncs the folder before
    the message is marked sent.
    """
    directory = os.path.dirname(os.fspath(path)) or os.curdir
    batch = _current_batch.get()
    if batch is not None:
        batch.add_directory(directory)
    else:
        _sync_directory(directory)


@contextlib.contextmanager
def durable_batch() -> Iterator[DurableBatch]:
    """Collect the outbox files written in the block, to be made durable together by `commit()`.

    Files that are not committed when the block ends are discarded: they
    never get their names. Batches do not nest.
    """
    if _current_batch.get() is not None:
        raise RuntimeError("Internal error: durable_batch() was entered inside another durable_batch().")
    batch = DurableBatch()
    token = _current_batch.set(batch)
    try:
        yield batch
    finally:
        _current_batch.reset(token)
        batch.discard()


# Maximum number of files that a batch keeps open before it syncs and names
# them, which keeps the batch under the usual limit of 1,024 descriptors.
MAX_OPEN_FILES = 256


@dataclass(slots=True)
class _PendingFile:
    """A written file that waits for its name: O_TMPFILE, or under a `temporary` name."""

    descriptor: int
    path: str
    device: int
    temporary: str | None = None


class DurableBatch:
    """Outbox files written without a name, and folders to sync, that `commit()` makes durable.

    After a failed sync the batch raises that error on every later call,
    because the kernel may report a failed write only once, so a later sync
    that succeeds does not prove that the earlier data reached the disk.
    """

    def __init__(self) -> None:
        self._files: list[_PendingFile] = []
        self._directories: set[str] = set()
        self._error: OSError | None = None
        # Files and folders added so far, so a caller can tell whether a step added any.
        self.additions = 0

    def write(self, path: str, data: bytes) -> dt.datetime | None:
        """Write `data` for `path` without naming it, and return its modification time or None if `path` exists."""
        self._raise_if_failed()
        directory = os.path.dirname(path) or os.curdir
        if os.path.lexists(path):
            self.add_directory(directory)
            return None
        if len(self._files) >= MAX_OPEN_FILES:
            self._name_files()

        try:
            pending, modified = _write_unnamed_or_temporary(directory, path, data)
        except FileNotFoundError:
            # Only the first file of a creditor and day needs its folders made.
            self._make_directories(directory)
            pending, modified = _write_unnamed_or_temporary(directory, path, data)
        self._files.append(pending)
        self.add_directory(directory)
        return _utc(modified)

    def add_directory(self, directory: str) -> None:
        self._directories.add(directory)
        self.additions += 1

    def commit(self) -> int:
        """Sync the files' data, name them, sync their folders, and return the number of files named.

        Raises OSError when a sync or link fails. Then the caller must not
        count any file of the batch as durable, and the files that have no
        name yet are closed unnamed, so they disappear.
        """
        self._raise_if_failed()
        named = self._name_files()
        try:
            for directory in sorted(self._directories):
                _sync_directory(directory)
        except OSError as exc:
            self._error = exc
            raise
        self._directories.clear()
        return named

    def discard(self) -> None:
        """Close the files that have no name yet, so they disappear, and remove their temporary names."""
        files, self._files = self._files, []
        for pending in files:
            _close_pending(pending)

    def _name_files(self) -> int:
        """Sync the data of the open files, then link each to its name, and return how many got it."""
        if not self._files:
            return 0
        files, self._files = self._files, []
        named = 0
        try:
            _sync_data(files)
            for pending in files:
                if _link_pending(pending):
                    named += 1
        except OSError as exc:
            self._error = exc
            raise
        finally:
            for pending in files:
                _close_pending(pending)
        return named

    def _make_directories(self, directory: str) -> None:
        """Create `directory` and its missing parents, and sync the parent of each one created."""
        missing = []
        # A relative path ends at "", the current folder, which exists.
        while directory and not os.path.isdir(directory):
            missing.append(directory)
            directory = os.path.dirname(directory)
        for created in reversed(missing):
            with contextlib.suppress(FileExistsError):
                os.mkdir(created)
            self.add_directory(os.path.dirname(created) or os.curdir)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise OSError(
                self._error.errno,
                f"An earlier sync or link of this outbox batch failed ({self._error}), so the batch "
                "writes no more files. Start a new batch; dispatch retries the messages later.",
            )


_current_batch: contextvars.ContextVar[DurableBatch | None] = contextvars.ContextVar(
    "durable_outbox_batch", default=None
)


def _write_unnamed_or_temporary(directory: str, path: str, data: bytes) -> tuple[_PendingFile, float]:
    """Write `data` to an O_TMPFILE file in `directory`, or under a temporary name where that is not supported."""
    descriptor = _open_unnamed(directory)
    temporary = None
    if descriptor is None:
        descriptor, temporary = _create_temporary(directory, os.path.splitext(path)[1])
    try:
        _write_all(descriptor, data)
        status = os.fstat(descriptor)
    except BaseException:
        _close_pending(_PendingFile(descriptor, path, 0, temporary))
        raise
    return _PendingFile(descriptor, path, status.st_dev, temporary), status.st_mtime


def _link_pending(pending: _PendingFile) -> bool:
    """Give a synced file its name and return True, or return False when the name exists."""
    try:
        if pending.temporary is not None:
            os.link(pending.temporary, pending.path)
            return True
        if not _unnamed_files_supported:
            # An earlier link of this batch failed, so this one would too.
            return _link_as_temporary(pending)
        try:
            _link_unnamed(pending.descriptor, pending.path)
            return True
        except OSError as exc:
            if isinstance(exc, FileExistsError) or exc.errno not in _UNSUPPORTED_ERRORS:
                raise
            _stop_unnamed_files(exc, os.path.dirname(pending.path))
            return _link_as_temporary(pending)
    except FileExistsError:
        logger.info("outbox file exists, not replaced", extra={"path": pending.path})
        return False


def _link_as_temporary(pending: _PendingFile) -> bool:
    """Copy an O_TMPFILE file whose link failed to a synced temporary name, and link that name instead."""
    data = _read_all(pending.descriptor)
    copy, _ = _write_unnamed_or_temporary(os.path.dirname(pending.path), pending.path, data)
    try:
        _sync_data([copy])
        return _link_pending(copy)
    finally:
        _close_pending(copy)


def _close_pending(pending: _PendingFile) -> None:
    os.close(pending.descriptor)
    if pending.temporary is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending.temporary)


def _sync_data(files: list[_PendingFile]) -> None:
    """Write the data of `files` to disk: with one syncfs() per file system where possible, else fdatasync() each.

    syncfs() reports write errors since Linux 5.8 (syncfs(2) man page). A
    single file gets fdatasync(), which syncs only that file.

    NOTE: syncfs() also writes the pending data of every other program on
    the file system, so next to a busy database each batch waits for its
    writes too. There, keep OUTBOX_DIR on a file system of its own.
    """
    syncfs = _syncfs_function()
    if syncfs is None or len(files) == 1:
        for pending in files:
            os.fdatasync(pending.descriptor)
        return
    descriptors = {pending.device: pending.descriptor for pending in files}
    for descriptor in descriptors.values():
        if syncfs(descriptor) != 0:
            error = ctypes.get_errno()
            raise OSError(error, f"syncfs failed: {os.strerror(error)}")


@lru_cache(maxsize=1)
def _syncfs_function() -> Callable[[int], int] | None:
    """Return libc's syncfs() on Linux 5.8 or later, else None.

    Before Linux 5.8 syncfs() failed only on an invalid descriptor, also
    when a write had failed, so there the data is synced file by file.
    """
    if not sys.platform.startswith("linux"):
        return None
    version = re.match(r"(\d+)\.(\d+)", platform.release())
    if version is None or (int(version[1]), int(version[2])) < (5, 8):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes = [ctypes.c_int]
    syncfs.restype = ctypes.c_int
    return syncfs


def _sync_directory(directory: str) -> None:
    descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_all(descriptor: int) -> bytes:
    size = os.fstat(descriptor).st_size
    chunks = []
    offset = 0
    while offset < size:
        chunk = os.pread(descriptor, size - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


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
# Without O_EXCL, because O_EXCL would forbid giving the file a name. Open
# for reading too, so that a file whose link fails can be copied to a
# temporary name.
_UNNAMED_FLAGS = os.O_RDWR | getattr(os, "O_TMPFILE", 0) | getattr(os, "O_CLOEXEC", 0)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def written_at(path: Path | str) -> dt.datetime:
    return _utc(os.stat(path).st_mtime)


def _utc(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
