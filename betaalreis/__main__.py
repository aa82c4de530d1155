"""Console entry point: `betaalreis <command>` runs a Django management command."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(["betaalreis", *sys.argv[1:]])
    except DatabaseError:
        message = missing_tables_message()
        if message is None:
            raise
        sys.stderr.write(message + "\n")
        sys.exit(1)


def missing_tables_message() -> str | None:
    """Return a one-line hint when the database has no tables yet, else None.

    Called after a database error, so a command run before `betaalreis
    migrate` ends with the fix instead of a traceback. Any other database
    error returns None and keeps its traceback.
    """
    from django.db import DatabaseError, connection
    from django.db.migrations.recorder import MigrationRecorder

    # The failed statement may have left the connection unusable (PostgreSQL).
    connection.close()
    try:
        if MigrationRecorder(connection).has_table():
            return None
    except DatabaseError:
        return None
    return (
        f"betaalreis: the database at {database_location()} has no tables yet; "
        "run `betaalreis migrate`"
    )


def database_location() -> str:
    """Describe the default database without its password: a file path or host and name."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        return str(database["NAME"])
    host = database.get("HOST") or "localhost"
    port = f":{database['PORT']}" if database.get("PORT") else ""
    return f"{host}{port}/{database['NAME']}"


if __name__ == "__main__":
    main()
