"""The help of `run`, `demo` and `portal_check` is in the report language: --lang, else BETAALREIS_LANGUAGE."""

from __future__ import annotations

import pytest
from django.core.management import load_command_class

COMMANDS = {"run": "betaalreis.dunning", "demo": "betaalreis.demo", "portal_check": "betaalreis.portal"}


def help_from_argv(capsys: pytest.CaptureFixture[str], command: str, *argv: str) -> str:
    """Return the output of `betaalreis <command> <argv>`, which must print the help and exit, in one line."""
    with pytest.raises(SystemExit) as exited:
        load_command_class(COMMANDS[command], command).run_from_argv(["betaalreis", command, *argv])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def printed_help(capsys: pytest.CaptureFixture[str], command: str) -> str:
    """Return the output of `betaalreis help <command>` in one line."""
    load_command_class(COMMANDS[command], command).print_help("betaalreis", command)
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("command", "argv", "expected", "absent"),
    [
        (
            "run",
            ["--help", "--lang", "en"],
            [
                "--date YYYY-MM-DD",
                "Business day to run for, YYYY-MM-DD, today or earlier",
                "Run the daily dunning job",
                "Write the outbox but send nothing.",
            ],
            "JJJJ",
        ),
        (
            "run",
            ["--lang=nl", "--help"],
            [
                "--date JJJJ-MM-DD",
                "Werkdag waarvoor de run draait, JJJJ-MM-DD, vandaag of eerder",
                "Voer de dagelijkse run uit",
                "Vul de berichtenmap maar verstuur niets.",
            ],
            "YYYY",
        ),
        (
            "demo",
            ["--help", "--lang", "en"],
            [
                "--start YYYY-MM-DD",
                "First simulated day, YYYY-MM-DD",
                "First deletes the demo creditors (",
                "Random seed (default 7).",
            ],
            "JJJJ",
        ),
        (
            "demo",
            ["--help", "--lang", "nl"],
            [
                "--start JJJJ-MM-DD",
                "Eerste gesimuleerde dag, JJJJ-MM-DD",
                "Verwijdert eerst de democrediteuren (",
                "Aantal dagen om te simuleren (standaard 60).",
            ],
            "YYYY",
        ),
        (
            "portal_check",
            ["--help", "--lang", "en"],
            ["--day YYYY-MM-DD", "Business day to check", "Mark promises whose date passed"],
            "JJJJ",
        ),
    ],
)
def test_help_in_lang_language(
    capsys: pytest.CaptureFixture[str], command: str, argv: list[str], expected: list[str], absent: str
) -> None:
    text = help_from_argv(capsys, command, *argv)

    for part in expected:
        assert part in text
    assert absent not in text


@pytest.mark.parametrize(
    ("language", "expected", "absent"),
    [
        ("nl", ["--day JJJJ-MM-DD", "Werkdag om te controleren", "Markeer betaalbeloften"], "YYYY"),
        ("en", ["--day YYYY-MM-DD", "Business day to check", "Mark promises whose date passed"], "JJJJ"),
    ],
)
def test_portal_check_help_follows_setting(
    capsys: pytest.CaptureFixture[str], settings, language: str, expected: list[str], absent: str
) -> None:
    settings.BETAALREIS_LANGUAGE = language

    for text in (help_from_argv(capsys, "portal_check", "--help"), printed_help(capsys, "portal_check")):
        for part in expected:
            assert part in text
        assert absent not in text


@pytest.mark.parametrize("command", ["run", "demo"])
def test_help_command_follows_setting(capsys: pytest.CaptureFixture[str], settings, command: str) -> None:
    settings.BETAALREIS_LANGUAGE = "nl"

    text = printed_help(capsys, command)

    assert "JJJJ-MM-DD" in text
    assert "YYYY" not in text


def test_portal_check_invalid_day_in_language(capsys: pytest.CaptureFixture[str], settings) -> None:
    settings.BETAALREIS_LANGUAGE = "nl"
    command = load_command_class(COMMANDS["portal_check"], "portal_check")

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["betaalreis", "portal_check", "--day", "4-12-2026"])

    assert exited.value.code == 1
    assert "Ongeldige --day '4-12-2026': gebruik JJJJ-MM-DD" in capsys.readouterr().err


def test_portal_check_invalid_day_with_lang(capsys: pytest.CaptureFixture[str], settings) -> None:
    settings.BETAALREIS_LANGUAGE = "nl"
    command = load_command_class(COMMANDS["portal_check"], "portal_check")

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["betaalreis", "portal_check", "--day", "4-12-2026", "--lang", "en"])

    assert exited.value.code == 1
    assert "Invalid --day '4-12-2026': use YYYY-MM-DD" in capsys.readouterr().err
