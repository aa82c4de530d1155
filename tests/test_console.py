"""The `betaalreis` console command on a database that was never migrated."""

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
