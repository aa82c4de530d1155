"""Benchmark of the ways to make new outbox files durable, in CPU and wall-clock time.

`python -m bench.outbox_sync [--files N] [--batch N] [--rounds N] [--dir PATH]`
writes N email-sized files (4,600 bytes) with `betaalreis.channels.files`
in four ways, each in a new folder under PATH (default: the system's
temporary folder), and prints the median of the rounds:

- unsynced: an O_TMPFILE file linked to its name, with no sync, as the
  file outbox wrote before it synced anything;
- per file: `write_once` outside a batch, which syncs each file's data
  and then its folder;
- batch, fdatasync: `durable_batch` with one fdatasync() per file before
  the batch's links, as on kernels before Linux 5.8;
- batch, syncfs: `durable_batch` with one syncfs() per batch, as dispatch
  runs on Linux 5.8 and later.

Wall-clock time depends on the disk and on what else writes to the same
file system. The results are printed, not recorded.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from unittest import mock

from betaalreis.channels import files
from betaalreis.channels.files import durable_batch, write_once

FILE_SIZE = 4_600


def _write_unsynced(folder: str, count: int, batch_size: int) -> None:
    for number in range(count):
        descriptor = os.open(folder, files._UNNAMED_FLAGS, 0o600)
        try:
            files._write_all(descriptor, _data(number))
            os.fstat(descriptor)
            files._link_unnamed(descriptor, os.path.join(folder, f"{number}.eml"))
        finally:
            os.close(descriptor)


def _write_per_file(folder: str, count: int, batch_size: int) -> None:
    for number in range(count):
        write_once(os.path.join(folder, f"{number}.eml"), _data(number))


def _write_batches(folder: str, count: int, batch_size: int) -> None:
    for start in range(0, count, batch_size):
        with durable_batch() as batch:
            for number in range(start, min(start + batch_size, count)):
                write_once(os.path.join(folder, f"{number}.eml"), _data(number))
            batch.commit()


def _write_batches_without_syncfs(folder: str, count: int, batch_size: int) -> None:
    with mock.patch.object(files, "_syncfs_function", lambda: None):
        _write_batches(folder, count, batch_size)


def _data(number: int) -> bytes:
    return f"{number:08d}".encode() * (FILE_SIZE // 8)


WAYS: dict[str, Callable[[str, int, int], None]] = {
    "unsynced": _write_unsynced,
    "per file": _write_per_file,
    "batch, fdatasync": _write_batches_without_syncfs,
    "batch, syncfs": _write_batches,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.outbox_sync", description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2_000, help="Number of files per way and round (default 2,000).")
    parser.add_argument("--batch", type=int, default=200, help="Files per durable batch (default 200, as dispatch).")
    parser.add_argument(
        "--rounds", type=int, default=3, help="Number of rounds, in each of which every way runs once (default 3)."
    )
    parser.add_argument(
        "--dir", default=None, help="Folder to write under, on the disk to measure (default: the temporary folder)."
    )
    options = parser.parse_args(argv)
    for name in ("files", "batch", "rounds"):
        if getattr(options, name) < 1:
            parser.error(f"--{name} must be at least 1, not {getattr(options, name)}.")

    timings: dict[str, list[tuple[float, float, float]]] = {name: [] for name in WAYS}
    for _ in range(options.rounds):
        for name, write in WAYS.items():
            with tempfile.TemporaryDirectory(prefix="br-outbox-sync-", dir=options.dir) as folder:
                # Other files' pending writes would otherwise land in this way's sync.
                os.sync()
                before = resource.getrusage(resource.RUSAGE_SELF)
                began = time.perf_counter()
                write(folder, options.files, options.batch)
                wall = time.perf_counter() - began
                after = resource.getrusage(resource.RUSAGE_SELF)
            timings[name].append((wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime))

    print(
        f"{options.files:,} files of {FILE_SIZE:,} bytes, batches of {options.batch}, median of "
        f"{options.rounds} rounds, load average {os.getloadavg()[0]:.1f}:"
    )
    print()
    print("| way | wall-clock (s) | user CPU (s) | system CPU (s) | files per wall-clock second |")
    print("|---|---:|---:|---:|---:|")
    for name, rows in timings.items():
        wall, user, system = (statistics.median(row[index] for row in rows) for index in range(3))
        print(f"| {name} | {wall:.2f} | {user:.2f} | {system:.2f} | {options.files / wall:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
