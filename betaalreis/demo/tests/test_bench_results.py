"""Tests of the shared benchmark results page writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.results import PAGE_HEADER, run_header, write_section


def test_write_section_creates_page(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"

    write_section("plan", "## Plan\n\n1 s", page)

    text = page.read_text(encoding="utf-8")
    assert text.startswith(PAGE_HEADER)
    assert "<!-- bench:plan -->\n## Plan\n\n1 s\n<!-- /bench:plan -->" in text


def test_write_section_replaces_own_only(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    write_section("plan", "plan v1", page)
    write_section("portal", "portal v1", page)
    page.write_text(page.read_text(encoding="utf-8") + "\nHand-written notes.\n", encoding="utf-8")

    write_section("plan", "plan v2", page)

    text = page.read_text(encoding="utf-8")
    assert "plan v1" not in text
    assert text.count("plan v2") == 1
    assert "portal v1" in text
    assert "Hand-written notes." in text
    assert text.index("plan v2") < text.index("portal v1")


def test_write_section_keeps_backslashes(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    write_section("plan", "first", page)

    write_section("plan", r"path C:\bench\1", page)

    assert r"path C:\bench\1" in page.read_text(encoding="utf-8")


def test_write_section_rejects_bad_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Invalid benchmark name 'Plan Run'"):
        write_section("Plan Run", "text", tmp_path / "benchmarks.md")


def test_run_header_names_machine() -> None:
    header = run_header("python -m bench.plan")

    assert "- Machine: " in header
    assert "cores" in header
    assert "- Command: `python -m bench.plan`" in header
    assert "- Date: " in header
