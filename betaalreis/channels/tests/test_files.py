"""write_once: one complete file per name, with O_TMPFILE and with the temporary-name fallback."""

from __future__ import annotations

import datetime as dt
import os
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
    opened: list[str] = []
    original_open = os.open

    def recording_open(path: str, flags: int, *args: object, **kwargs: object) -> int:
        opened.append(os.fspath(path))
        return original_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(files.os, "open", recording_open)

    write_once(directory / "key.eml", b"data")

    assert opened == [str(directory)]
    assert files._unnamed_files_supported is True
    assert (directory / "key.eml").read_bytes() == b"data"
