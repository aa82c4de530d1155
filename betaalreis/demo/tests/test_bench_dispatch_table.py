"""The dispatch tables of bench.plan: user and system CPU time apart, and the median over repeated runs."""

from __future__ import annotations

import resource

import pytest

from bench.plan import EngineResult, Timing, _Stopwatch, render_dispatch_table, render_repeated_dispatch


def dispatch_result(
    engine: str, email_user: float, email_system: float, email_server: float | None = None
) -> EngineResult:
    result = EngineResult.dispatch_only(engine, (1.0, 1.0))
    result.emails = 2000
    result.email_dispatch = Timing(
        wall=2.0, cpu=email_user + email_system, server=email_server, user=email_user, system=email_system
    )
    result.letters = 200
    result.letter_dispatch = Timing(wall=2.5, cpu=2.0, user=1.9, system=0.1)
    return result


def test_dispatch_table_splits_cpu() -> None:
    lines = render_dispatch_table([dispatch_result("sqlite", 1.2, 0.4)])

    assert "| engine | emails | CPU user + system | letters (PDF) | CPU user + system |" in lines
    assert lines[-1] == (
        "| sqlite | 1,000/s (1,250/s), 2000 in 2.00 s | 1.20 s + 0.40 s "
        "| 80/s (100/s), 200 in 2.50 s | 1.90 s + 0.10 s |"
    )


def test_dispatch_table_adds_server_cpu() -> None:
    lines = render_dispatch_table([dispatch_result("postgresql", 1.2, 0.4, email_server=0.35)])

    assert lines[-1].startswith("| postgresql | 1,000/s (1,250/s), 2000 in 2.00 s | 1.20 s + 0.40 s, server 0.35 s |")


def test_repeated_dispatch_median_and_range() -> None:
    runs = {
        "postgresql": [
            dispatch_result("postgresql", 1.0, 0.6),
            dispatch_result("postgresql", 1.1, 0.1),
            dispatch_result("postgresql", 1.2, 0.3),
        ]
    }

    lines = render_repeated_dispatch(runs)

    email_row = next(line for line in lines if line.startswith("| postgresql | emails |"))
    assert email_row == (
        "| postgresql | emails | 3 | 1,333 (1,250 to 1,667) | 1.10 (1.00 to 1.20) "
        "| 0.30 (0.10 to 0.60) | not measured | not measured | 1,000 (1,000 to 1,000) |"
    )


def test_repeated_dispatch_counts_server_cpu() -> None:
    runs = {
        "postgresql": [
            dispatch_result("postgresql", 1.0, 0.6, email_server=0.4),
            dispatch_result("postgresql", 1.1, 0.1, email_server=0.8),
            dispatch_result("postgresql", 1.2, 0.3, email_server=0.5),
        ]
    }

    lines = render_repeated_dispatch(runs)

    email_row = next(line for line in lines if line.startswith("| postgresql | emails |"))
    # Each run used 2.0 s of user, system and server CPU in all, so 1,000 emails per CPU-second.
    assert email_row == (
        "| postgresql | emails | 3 | 1,333 (1,250 to 1,667) | 1.10 (1.00 to 1.20) "
        "| 0.30 (0.10 to 0.60) | 0.50 (0.40 to 0.80) | 1,000 (1,000 to 1,000) | 1,000 (1,000 to 1,000) |"
    )
    letter_row = next(line for line in lines if line.startswith("| postgresql | letters |"))
    assert "| not measured | not measured |" in letter_row


# On PostgreSQL the stopwatch also reads the server process's CPU time.
@pytest.mark.django_db
def test_stopwatch_measures_system_time(tmp_path) -> None:
    # Creating and removing files is kernel work, so it must show as system time.
    with _Stopwatch() as stopwatch:
        for number in range(3000):
            path = tmp_path / f"file-{number}"
            path.write_bytes(b"x")
            path.unlink()

    timing = stopwatch.timing
    assert timing.system > 0
    assert abs(timing.user + timing.system - timing.cpu) < 0.05 + 0.1 * timing.cpu
    assert resource.getrusage(resource.RUSAGE_SELF).ru_stime >= timing.system
