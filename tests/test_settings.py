"""Production start-up refuses the demo's unsafe defaults."""

from __future__ import annotations

import os
import subprocess
import sys


def start(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "betaalreis.settings", **environment}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def test_production_without_secret_key_fails(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "BETAALREIS_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={**environment, "DJANGO_SETTINGS_MODULE": "betaalreis.settings", "BETAALREIS_PRODUCTION": "1",
             "BETAALREIS_HOME": str(tmp_path), "BETAALREIS_PAYMENT_PROVIDER": "mollie"},
        capture_output=True, text=True, timeout=120,
    )

    assert result.returncode != 0
    assert "BETAALREIS_SECRET_KEY is missing" in result.stderr


def test_production_with_test_payments_fails(tmp_path):
    result = start(BETAALREIS_PRODUCTION="1", BETAALREIS_HOME=str(tmp_path), BETAALREIS_SECRET_KEY="k" * 50)

    assert result.returncode != 0
    assert "BETAALREIS_PAYMENT_PROVIDER is 'test' in production" in result.stderr


def test_production_with_real_settings_starts(tmp_path):
    result = start(BETAALREIS_PRODUCTION="1", BETAALREIS_HOME=str(tmp_path), BETAALREIS_SECRET_KEY="k" * 50,
                   BETAALREIS_PAYMENT_PROVIDER="mollie")

    assert result.returncode == 0, result.stderr
