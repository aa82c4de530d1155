"""The web server serves /static/ itself with the default settings, without `collectstatic`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client


@pytest.mark.parametrize("path", ["/static/portal/portal.css", "/static/admin/css/base.css"])
def test_static_file_served_without_debug(client: Client, settings, tmp_path: Path, path: str) -> None:
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "not-collected"

    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content)


def test_unknown_static_file_not_found(client: Client) -> None:
    response = client.get("/static/portal/missing.css")

    assert response.status_code == 404
