"""Where the browser tests save screenshots: a temporary folder unless a refresh of docs/screenshots is requested."""

from __future__ import annotations

from pathlib import Path

from betaalreis.portal.tests import test_browser
from betaalreis.testing import DOCS_SCREENSHOTS, REFRESH_SCREENSHOTS_VARIABLE, screenshot_folder


class _RecordingPage:
    """A stand-in for a Playwright page that records the screenshot paths instead of taking them."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def set_viewport_size(self, size: dict[str, int]) -> None:
        pass

    def screenshot(self, *, path: str, full_page: bool) -> None:
        self.paths.append(Path(path))


def test_folder_temporary_by_default(tmp_path: Path) -> None:
    assert screenshot_folder(tmp_path, {}) == tmp_path


def test_folder_docs_when_refresh_asked(tmp_path: Path) -> None:
    assert screenshot_folder(tmp_path, {REFRESH_SCREENSHOTS_VARIABLE: "1"}) == DOCS_SCREENSHOTS
    assert DOCS_SCREENSHOTS.is_dir()


def test_folder_temporary_for_other_values(tmp_path: Path) -> None:
    assert screenshot_folder(tmp_path, {REFRESH_SCREENSHOTS_VARIABLE: "0"}) == tmp_path


def test_shoot_leaves_docs_unchanged(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(test_browser, "SCREENSHOTS", screenshot_folder(tmp_path, {}))
    page = _RecordingPage()

    test_browser.shoot(page, "overview")

    assert [path.name for path in page.paths] == ["portal-overview-390.png", "portal-overview-1280.png"]
    assert all(path.parent == tmp_path for path in page.paths)
    assert not any(DOCS_SCREENSHOTS in path.parents for path in page.paths)
