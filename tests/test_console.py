"""The `betaalreis` console command on a bad configuration or a database it cannot use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def betaalreis(home, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "betaalreis", *arguments],
        env={**environment, "BETAALREIS_HOME": str(home)},
        capture_output=True, text=True, timeout=120,
    )


def test_unmigrated_database_names_the_fix(tmp_path):
    result = betaalreis(
        tmp_path, "creditor", "add", "--slug", "acme", "--legal-name", "Acme B.V.", "--iban", "NL91ABNA0417164300"
    )

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"betaalreis: the database at {tmp_path / 'betaalreis.sqlite3'} has no tables yet; "
        "run `betaalreis migrate`"
    )
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_migrated_database_keeps_other_errors():
    from betaalreis.__main__ import missing_tables_message

    assert missing_tables_message() is None


def betaalreis_with(*arguments: str, **settings: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "BETAALREIS_SECRET_KEY", "BETAALREIS_PRODUCTION")
    }
    return subprocess.run(
        [sys.executable, "-m", "betaalreis", *arguments],
        env={**environment, **settings},
        capture_output=True, text=True, timeout=120,
    )


def test_production_without_secret_key_is_one_line(tmp_path):
    result = betaalreis_with(
        "check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_PRODUCTION="1", BETAALREIS_PAYMENT_PROVIDER="mollie"
    )

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("betaalreis: invalid configuration: BETAALREIS_SECRET_KEY is missing.")
    assert "Traceback" not in result.stderr


def test_unknown_report_language_is_one_line(tmp_path):
    result = betaalreis_with("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_LANGUAGE="de")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "betaalreis: invalid configuration: BETAALREIS_LANGUAGE is 'de'; set it to nl or en, or leave it unset for nl."
    )


def test_unknown_log_level_is_one_line(tmp_path):
    result = betaalreis_with("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_LOG_LEVEL="verbose")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        "betaalreis: invalid configuration: BETAALREIS_LOG_LEVEL is 'verbose'; set it to one of DEBUG, INFO, "
        "WARNING, ERROR, CRITICAL, or leave it unset for WARNING."
    )


def test_lower_case_log_level_accepted(tmp_path):
    result = betaalreis_with("check", BETAALREIS_HOME=str(tmp_path), BETAALREIS_LOG_LEVEL="info")

    assert result.returncode == 0, result.stderr


def test_traceback_option_keeps_traceback(tmp_path):
    result = betaalreis_with(
        "check", "--traceback", BETAALREIS_HOME=str(tmp_path), BETAALREIS_PRODUCTION="1",
        BETAALREIS_PAYMENT_PROVIDER="mollie",
    )

    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_unreachable_sqlite_file_is_one_line(tmp_path):
    location = tmp_path / "missing-folder" / "betaalreis.sqlite3"

    result = betaalreis_with("run", BETAALREIS_HOME=str(tmp_path), DATABASE_URL=f"sqlite:///{location}")

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"betaalreis: cannot connect to the database at {location}: ")
    assert "check that its folder exists" in result.stderr


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs a PostgreSQL server in DATABASE_URL"
)
def test_missing_postgres_database_is_one_line(tmp_path):
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]

    result = betaalreis_with("run", BETAALREIS_HOME=str(tmp_path), DATABASE_URL=f"{server}/betaalreis_no_such_db")

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "betaalreis_no_such_db" in result.stderr
    assert "create the database with `createdb`" in result.stderr
