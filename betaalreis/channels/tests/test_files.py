"""write_once and durable batches: one complete file per name, on disk before it counts as written."""

from __future__ import annotations

import datetime as dt
import errno
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from betaalreis.channels import files
from betaalreis.channels.files import write_once, written_at

# The two ways write_once can create a file: an O_TMPFILE file linked to its
# name, and a file under a temporary name that is linked and then removed.
WRITE_MODES = ["unnamed", "temporary_name"]


@pytest.fixture(params=WRITE_MODES)
def write_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "unnamed":
        if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
            pytest.skip("O_TMPFILE or /proc is missing on this system")
        monkeypatch.setattr(files, "_unnamed_files_supported", True)
    else:
        monkeypatch.setattr(files, "_unnamed_files_supported", False)
    yield request.param


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty folder of its own, because the test settings keep BETAALREIS_HOME in tmp_path."""
    path = tmp_path / "outbox"
    path.mkdir()
    return path


def directory_entries(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


def test_write_once_creates_file(folder: Path, write_mode: str) -> None:
    path = folder / "email" / "acme" / "2026-06-15" / "key.eml"

    written = write_once(path, b"Subject: test\r\n\r\nbody")

    assert path.read_bytes() == b"Subject: test\r\n\r\nbody"
    assert written == written_at(path)
    assert written is not None
    assert written.tzinfo == dt.timezone.utc
    assert directory_entries(path.parent) == ["key.eml"]
    assert os.stat(path).st_mode & 0o077 == 0


def test_write_once_keeps_existing_file(folder: Path, write_mode: str) -> None:
    path = folder / "key.eml"
    path.write_bytes(b"first")

    written = write_once(path, b"second")

    assert written is None
    assert path.read_bytes() == b"first"
    assert directory_entries(folder) == ["key.eml"]


def test_write_once_racing_threads(folder: Path, write_mode: str) -> None:
    path = folder / "letter" / "acme" / "2026-06-15" / "key.pdf"
    barrier = threading.Barrier(8)
    results: dict[int, dt.datetime | None] = {}

    def write(number: int) -> None:
        barrier.wait()
        results[number] = write_once(path, f"writer {number}".encode() * 1000)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [number for number, written in results.items() if written is not None]
    assert len(results) == 8
    assert len(winners) == 1
    assert path.read_bytes() == f"writer {winners[0]}".encode() * 1000
    assert directory_entries(path.parent) == ["key.pdf"]


def test_write_once_empty_data(folder: Path, write_mode: str) -> None:
    path = folder / "empty.json"

    written = write_once(path, b"")

    assert written is not None
    assert path.read_bytes() == b""


def test_rejected_tmpfile_falls_back(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "O_TMPFILE"):
        pytest.skip("O_TMPFILE is missing on this system")
    monkeypatch.setattr(files, "_unnamed_files_supported", True)
    # Linux rejects O_TMPFILE without write access with EINVAL, as it
    # rejects the flag where a file system does not support it.
    monkeypatch.setattr(files, "_UNNAMED_FLAGS", os.O_RDONLY | os.O_TMPFILE)
    path = folder / "key.eml"

    written = write_once(path, b"data")

    assert written is not None
    assert path.read_bytes() == b"data"
    assert directory_entries(folder) == ["key.eml"]
    assert files._unnamed_files_supported is False


def test_unnamed_write_leaves_no_temporary_entry(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        pytest.skip("O_TMPFILE or /proc is missing on this system")
    monkeypatch.setattr(files, "_unnamed_files_supported", True)
    directory = folder
    opened: list[tuple[str, int]] = []
    original_open = os.open

    def recording_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        opened.append((os.fspath(path), flags))
        return original_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", recording_open)

    write_once(directory / "key.eml", b"data")

    assert [path for path, flags in opened if flags & os.O_TMPFILE == os.O_TMPFILE] == [str(directory)]
    assert [path for path, flags in opened if flags & os.O_CREAT] == []
    assert files._unnamed_files_supported is True
    assert (directory / "key.eml").read_bytes() == b"data"


def require_unnamed_files(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "O_TMPFILE") or not os.path.isdir("/proc/self/fd"):
        pytest.skip("O_TMPFILE or /proc is missing on this system")
    monkeypatch.setattr(files, "_unnamed_files_supported", True)


@pytest.mark.parametrize("error", [errno.EOPNOTSUPP, errno.EPERM, errno.EISDIR])
def test_tmpfile_open_error_falls_back(folder: Path, monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    require_unnamed_files(monkeypatch)
    original_open = os.open

    def open_without_tmpfile(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(error, os.strerror(error), path)
        return original_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", open_without_tmpfile)
    path = folder / "email" / "acme" / "2026-06-15" / "key.eml"

    written = write_once(path, b"data")

    assert written == written_at(path)
    assert path.read_bytes() == b"data"
    assert directory_entries(path.parent) == ["key.eml"]
    assert files._unnamed_files_supported is False


@pytest.mark.parametrize("error", [errno.EXDEV, errno.EPERM])
@pytest.mark.parametrize("batched", [False, True], ids=["single", "batch"])
def test_tmpfile_link_error_falls_back(
    folder: Path, monkeypatch: pytest.MonkeyPatch, error: int, batched: bool
) -> None:
    require_unnamed_files(monkeypatch)
    original_link = os.link
    links: list[str] = []

    def link_without_proc(source: str, target: str, **kwargs: object) -> None:
        links.append(os.fspath(source))
        if os.fspath(source).startswith("/proc/self/fd/"):
            raise OSError(error, os.strerror(error), source)
        original_link(source, target, **kwargs)

    monkeypatch.setattr(files.os, "link", link_without_proc)
    paths = [folder / "letter" / "acme" / "2026-06-15" / f"key-{number}.pdf" for number in range(3)]

    if batched:
        with files.durable_batch() as batch:
            written = [write_once(path, f"letter {number}".encode()) for number, path in enumerate(paths)]
            assert batch.commit() == 3
    else:
        written = [write_once(path, f"letter {number}".encode()) for number, path in enumerate(paths)]

    assert all(moment is not None for moment in written)
    assert [path.read_bytes() for path in paths] == [b"letter 0", b"letter 1", b"letter 2"]
    assert directory_entries(paths[0].parent) == ["key-0.pdf", "key-1.pdf", "key-2.pdf"]
    assert files._unnamed_files_supported is False
    # One failed /proc link, then every file through a temporary name.
    assert links[0].startswith("/proc/self/fd/")
    assert not any(source.startswith("/proc/self/fd/") for source in links[1:])
    assert len(links) == 4


@pytest.fixture
def sync_log(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record data syncs, links and folder syncs of the outbox writer, in order, and let them run."""
    log: list[str] = []
    original_sync_data = files._sync_data
    original_sync_directory = files._sync_directory
    original_link = os.link

    def sync_data(pending: list[files._PendingFile]) -> None:
        log.append(f"data {len(pending)}")
        original_sync_data(pending)

    def sync_directory(directory: str) -> None:
        log.append(f"folder {os.path.basename(directory)}")
        original_sync_directory(directory)

    def link(source: str, target: str, **kwargs: object) -> None:
        original_link(source, target, **kwargs)
        log.append(f"link {os.path.basename(target)}")

    monkeypatch.setattr(files, "_sync_data", sync_data)
    monkeypatch.setattr(files, "_sync_directory", sync_directory)
    monkeypatch.setattr(files.os, "link", link)
    return log


def test_single_write_syncs_data_then_link_then_folder(folder: Path, write_mode: str, sync_log: list[str]) -> None:
    path = folder / "key.eml"

    write_once(path, b"data")

    assert sync_log == ["data 1", "link key.eml", "folder outbox"]


def test_batch_names_files_only_at_commit(folder: Path, write_mode: str, sync_log: list[str]) -> None:
    paths = [folder / "sms" / "acme" / "2026-06-15" / f"key-{number}.json" for number in range(3)]

    with files.durable_batch() as batch:
        written = [write_once(path, b"{}") for path in paths]
        assert all(moment is not None for moment in written)
        # Under the fallback the files wait under .tmp- names.
        assert not any(name.startswith("key-") for name in directory_entries(paths[0].parent))

        assert batch.commit() == 3

    assert directory_entries(paths[0].parent) == ["key-0.json", "key-1.json", "key-2.json"]
    # One data sync for the batch before any link, and the folders after the links.
    assert sync_log[:4] == ["data 3", "link key-0.json", "link key-1.json", "link key-2.json"]
    # The new folders' parents too, so the path from the outbox down survives a power failure.
    assert sorted(sync_log[4:]) == ["folder 2026-06-15", "folder acme", "folder outbox", "folder sms"]


def test_uncommitted_batch_leaves_no_file(folder: Path, write_mode: str) -> None:
    path = folder / "key.eml"

    with files.durable_batch():
        assert write_once(path, b"data") is not None

    assert directory_entries(folder) == []


def test_batch_finds_existing_file_and_syncs_folder(folder: Path, write_mode: str, sync_log: list[str]) -> None:
    path = folder / "key.eml"
    path.write_bytes(b"first")

    with files.durable_batch() as batch:
        assert write_once(path, b"second") is None
        assert batch.commit() == 0

    assert path.read_bytes() == b"first"
    assert sync_log == ["folder outbox"]


def test_keep_durable_syncs_folder_of_found_file(folder: Path, sync_log: list[str]) -> None:
    path = folder / "key.eml"
    path.write_bytes(b"first")

    with files.durable_batch() as batch:
        files.keep_durable(path)
        assert sync_log == []
        batch.commit()

    assert sync_log == ["folder outbox"]


def test_batch_names_early_at_open_file_limit(
    folder: Path, write_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files, "MAX_OPEN_FILES", 2)
    paths = [folder / f"key-{number}.eml" for number in range(5)]

    with files.durable_batch() as batch:
        for path in paths[:3]:
            write_once(path, path.name.encode())
        named_early = [path.name for path in paths if path.exists()]
        for path in paths[3:]:
            write_once(path, path.name.encode())
        named = batch.commit()

    assert named_early == ["key-0.eml", "key-1.eml"]
    assert named == 1
    assert [path.read_bytes() for path in paths] == [path.name.encode() for path in paths]
    assert directory_entries(folder) == [path.name for path in paths]


def test_failed_sync_names_nothing(folder: Path, write_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_sync(pending: list[files._PendingFile]) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(files, "_sync_data", failing_sync)

    with files.durable_batch() as batch:
        write_once(folder / "key-0.eml", b"data")
        with pytest.raises(OSError) as failed:
            batch.commit()
        assert failed.value.errno == errno.EIO
        # The kernel may report a failed write once only, so the batch stays failed.
        with pytest.raises(OSError, match="earlier sync or link of this outbox batch failed"):
            write_once(folder / "key-1.eml", b"data")

    assert directory_entries(folder) == []


def test_failed_single_sync_raises(folder: Path, write_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_fdatasync(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fdatasync", failing_fdatasync)

    with pytest.raises(OSError) as failed:
        write_once(folder / "key.eml", b"data")

    assert failed.value.errno == errno.ENOSPC
    assert directory_entries(folder) == []


def test_write_once_relative_missing_folder(
    folder: Path, write_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)

    written = write_once(os.path.join("letter", "2026-06-15", "key.pdf"), b"%PDF")

    assert written is not None
    assert (folder / "letter" / "2026-06-15" / "key.pdf").read_bytes() == b"%PDF"


def test_write_once_bare_name_in_current_folder(
    folder: Path, write_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)

    written = write_once("key.eml", b"data")

    assert written is not None
    assert (folder / "key.eml").read_bytes() == b"data"
    assert directory_entries(folder) == ["key.eml"]


def test_durable_batches_do_not_nest() -> None:
    with files.durable_batch():
        with pytest.raises(RuntimeError, match="inside another durable_batch"):
            with files.durable_batch():
                pass


@pytest.mark.parametrize(
    ("release", "uses_syncfs"),
    [("5.4.0-150-generic", False), ("5.8.0", True), ("6.18.44", True), ("unknown", False)],
)
def test_syncfs_only_where_it_reports_errors(
    monkeypatch: pytest.MonkeyPatch, release: str, uses_syncfs: bool
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("syncfs() is Linux only")
    monkeypatch.setattr(files.platform, "release", lambda: release)
    files._syncfs_function.cache_clear()
    try:
        assert (files._syncfs_function() is not None) is uses_syncfs
    finally:
        files._syncfs_function.cache_clear()
