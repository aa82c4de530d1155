"""Console entry point: `betaalreis <command>` runs a Django management command."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    # With --traceback, Django's option for full error output, every error keeps its traceback.
    show_traceback = "--traceback" in sys.argv[1:]
    try:
        execute_from_command_line(["betaalreis", *sys.argv[1:]])
    except ImproperlyConfigured as error:
        # betaalreis.settings raises it for a missing or unsafe setting, and its message names the setting.
        if show_traceback:
            raise
        sys.stderr.write(f"betaalreis: invalid configuration: {one_line(str(error))}\n")
        sys.exit(1)
    except DatabaseError as error:
        message = None if show_traceback else connection_failed_message() or missing_tables_message()
        if message is None:
            raise
        sys.stderr.write(message + "\n")
        sys.exit(1)


def one_line(text: str) -> str:
    """Return `text` with its lines and runs of spaces joined by single spaces."""
    return " ".join(text.split())


def connection_failed_message() -> str | None:
    """Return a one-line error when the database cannot be reached at all, else None.

    Called after a database error. A database that does not exist, a server
    that is down or a SQLite file that cannot be opened ends with the
    database's location, the driver's reason and what to check, instead of
    a traceback.
    """
    from django.db import OperationalError, connection

    connection.close()
    try:
        connection.ensure_connection()
    except OperationalError as error:
        if connection.vendor == "sqlite":
            fix = "check that its folder exists and is writable, or set BETAALREIS_HOME or DATABASE_URL"
        else:
            fix = "check DATABASE_URL, or create the database with `createdb` and run `betaalreis migrate`"
        return f"betaalreis: cannot connect to the database at {database_location()}: {one_line(str(error))}; {fix}"
    return None


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
