"""Run every benchmark that is present: `python -m bench.run [--only NAME ...] [--large]`.

A benchmark is a module `bench/<name>.py` with a `main()`. A listed module
that does not exist is skipped with a message. A benchmark that fails is
reported and the others still run. The exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys
import time
import traceback

BENCHMARKS = ("plan", "bank_match", "portal_latency", "dispatch_providers")


def _load(name: str):
    try:
        return importlib.import_module(f"bench.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"bench.{name}":
            return None
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="Run only these benchmarks.")
    parser.add_argument(
        "--large", action="store_true", help="Run the large variant of benchmarks that have one (plan: 1,000,000 invoices)."
    )
    options = parser.parse_args(argv)

    failed = []
    for name in options.only or BENCHMARKS:
        module = _load(name)
        if module is None or not hasattr(module, "main"):
            print(f"bench.{name}: not present, skipped.")
            continue

        print(f"bench.{name}: running.", flush=True)
        began = time.monotonic()
        # Only modules that set SUPPORTS_LARGE get --large, so a benchmark
        # whose parser does not know the flag is not broken by it.
        forwarded = ["--large"] if options.large and getattr(module, "SUPPORTS_LARGE", False) else []
        try:
            takes_arguments = bool(inspect.signature(module.main).parameters)
            status = module.main(forwarded) if takes_arguments else module.main()
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            status = 1
        if status:
            failed.append(name)
        print(f"bench.{name}: {'failed' if status else 'done'} in {time.monotonic() - began:.0f} s.", flush=True)

    if failed:
        print(f"Failed benchmarks: {', '.join(failed)}.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
