"""Console entry point: `betaalreis <command>` runs a Django management command."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "betaalreis.settings")

    from django.core.management import execute_from_command_line

    execute_from_command_line(["betaalreis", *sys.argv[1:]])


if __name__ == "__main__":
    main()
