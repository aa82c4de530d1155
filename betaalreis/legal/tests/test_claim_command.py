"""The `betaalreis claim` command."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

# These tests check the English wording; the Dutch output has its own tests at the end.
pytestmark = pytest.mark.usefixtures("english_reports")


def _run(*args: str) -> str:
    output = StringIO()
    call_command("claim", *args, stdout=output)
    return output.getvalue()


def test_json_business_with_vat() -> None:
    data = json.loads(
        _run("--principal", "10000", "--due", "2025-06-15", "--on", "2026-02-10",
             "--business", "--no-vat-deductible", "--format", "json")
    )

    assert data["interest"] == "671.51"
    assert data["costs"]["costs"] == "875.00"
    assert data["costs"]["vat"] == "183.75"
    # Each period shows its share of the rounded total, so the rows add up to it.
    assert [period["amount"] for period in data["interest_periods"]] == ["45.82", "625.69"]
    assert data["explanation_nl"].startswith("Hoofdsom")


def test_table_consumer_with_letter() -> None:
    output = _run("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04",
                  "--letter-sent", "2026-10-01")

    assert "185.18" in output
    assert "collection costs (due)" in output


def test_consumer_before_letter_shows_no_costs() -> None:
    data = json.loads(_run("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04", "--format", "json"))

    assert data["costs"]["status"] == "no_letter"
    assert data["costs"]["if_unpaid"] == "185.18"


def test_payment_option() -> None:
    data = json.loads(
        _run("--principal", "1000", "--due", "2026-01-31", "--on", "2026-03-31",
             "--paid", "2026-02-28=500", "--format", "json")
    )

    assert data["principal_outstanding"] == "503.07"


def test_payment_after_claim_date_rejected() -> None:
    with pytest.raises(CommandError, match="after the claim date"):
        _run("--principal", "100", "--due", "2026-01-31", "--on", "2026-03-31", "--paid", "2026-04-01=5")


def _run_with_stderr(*args: str) -> tuple[str, str]:
    output, errors = StringIO(), StringIO()
    call_command("claim", *args, stdout=output, stderr=errors)
    return output.getvalue(), errors.getvalue()


def test_table_shows_credit_and_payment_split() -> None:
    output = _run("--principal", "100", "--due", "2026-08-01", "--on", "2026-11-01",
                  "--paid", "2026-09-01=10", "--paid", "2026-10-01=500")

    assert "credit (paid more than owed)" in output
    assert "409.36" in output
    assert "to principal" in output
    assert "9.66" in output
    assert "You paid €409.36 more than you owed" in " ".join(output.split())


def test_table_period_rows_show_total() -> None:
    output = _run("--principal", "1000", "--due", "2025-09-30", "--on", "2026-03-31")

    assert "15.12" in output
    assert "9.87" in output
    assert "total" in output
    assert "24.99" in output


def test_business_table_has_no_letter_row() -> None:
    output = _run("--principal", "1000", "--due", "2026-01-01", "--on", "2026-04-01", "--business")

    assert "14-day" not in output
    assert "collection costs (due)" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--due", "2026-03-01", "--on", "2026-02-01"), "Invalid --due 2026-03-01"),
        (("--due", "2026-03-01", "--on", "2026-04-01", "--letter-sent", "2026-05-05"), "Invalid --letter-sent"),
        (("--due", "2026-03-01", "--on", "2026-04-01", "--business", "--letter-sent", "2026-03-05"), "consumers only"),
        (("--due", "2026-03-01", "--on", "2026-04-01", "--business", "--term-end", "2026-03-20"), "consumers only"),
        (("--due", "2013-03-01", "--on", "2013-08-01", "--letter-sent", "2013-04-01"), "Atw calendar covers"),
        (("--due", "2026-03-01", "--on", "9999-12-31"), "9999-12-31"),
        (("--due", "2026-03-01", "--on", "9999-12-31", "--letter-sent", "9999-12-31"), "9999-12-31"),
    ],
)
def test_contradicting_dates_rejected(args, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        _run("--principal", "100", *args)


@pytest.mark.parametrize(
    ("principal", "message"), [("1" + "0" * 26, "above the maximum"), ("100.005", "two decimals")]
)
def test_extreme_principal_rejected(principal, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        _run("--principal", principal, "--due", "2026-01-01", "--on", "2026-02-01", "--business")


def test_term_past_declared_days_warns() -> None:
    output, errors = _run_with_stderr("--principal", "100", "--due", "2029-03-01", "--on", "2029-05-01",
                                      "--letter-sent", "2029-03-10")

    assert "declared Atw holidays" in errors
    assert "collection costs (due)" in output


def test_term_within_declared_days_silent() -> None:
    _, errors = _run_with_stderr("--principal", "100", "--due", "2026-03-01", "--on", "2026-05-01",
                                 "--letter-sent", "2026-03-10")

    assert errors == ""


def test_table_in_dutch() -> None:
    output = " ".join(_run("--principal", "1234.56", "--due", "2025-10-01", "--on", "2026-12-04",
                           "--paid", "2026-03-01=100.00", "--lang", "nl").split())

    assert "Wettelijke rente tot en met 2026-12-04" in output
    assert "│ 2025-10-02 │ 2025-12-31 │" in output
    assert "1.234,56" in output
    assert "openstaande hoofdsom" in output
    assert "incassokosten (geen veertiendagenbrief)" in output
    assert "Betalingen, toegerekend in de volgorde kosten, rente, hoofdsom" in output
    assert "Wettelijke rente (art. 6:119 BW) vanaf 02-10-2025 tot en met 04-12-2026" in output
    assert "principal" not in output
    assert "02/10/2025" not in output


def test_english_explanation_names_the_month() -> None:
    output = " ".join(_run("--principal", "1234.56", "--due", "2025-10-01", "--on", "2026-12-04", "--lang", "en").split())

    assert "from 2 Oct 2025 up to and including 4 Dec 2026" in output
    assert "│ interest " in output
    assert "rente" not in output
    assert "1,234.56" in output
    assert "collection costs (no letter)" in output
    assert "02/10/2025" not in output


def test_contradicting_dates_rejected_in_dutch() -> None:
    with pytest.raises(CommandError, match="Ongeldige --due 2026-03-01: die ligt na de datum van de vordering"):
        _run("--principal", "100", "--due", "2026-03-01", "--on", "2026-02-01", "--lang", "nl")


MALFORMED_VALUES = [
    (("--principal", "12,50", "--due", "2026-03-01"), "Ongeldig bedrag '12,50' bij --principal: gebruik cijfers",
     "Invalid amount '12,50' for --principal: use digits"),
    (("--principal", "-5", "--due", "2026-03-01"), "Ongeldig bedrag '-5' bij --principal: geef een positief getal",
     "Invalid amount '-5' for --principal: use a positive number"),
    (("--principal", "100", "--due", "01-03-2026"), "Ongeldige datum '01-03-2026' bij --due: gebruik JJJJ-MM-DD",
     "Invalid date '01-03-2026' for --due: use YYYY-MM-DD"),
    (("--principal", "100", "--due", "2026-03-01", "--on", "2026-02-30"), "Datum '2026-02-30' bij --on is geen bestaande datum: maand 2 van 2026 heeft geen dag 30",
     "Date '2026-02-30' for --on is not a real date: month 2 of 2026 has no day 30"),
    (("--principal", "100", "--due", "2026-03-01", "--term-end", "morgen"), "Ongeldige datum 'morgen' bij --term-end",
     "Invalid date 'morgen' for --term-end"),
    (("--principal", "100", "--due", "2026-03-01", "--letter-sent", "x"), "Ongeldige datum 'x' bij --letter-sent",
     "Invalid date 'x' for --letter-sent"),
    (("--principal", "100", "--due", "2026-03-01", "--paid", "100.00"),
     "Ongeldige betaling '100.00' bij --paid: gebruik DATUM=BEDRAG",
     "Invalid payment '100.00' for --paid: use DATE=AMOUNT"),
    (("--principal", "100", "--due", "2026-03-01", "--paid", "2026-03-01=NaN"),
     "Ongeldig bedrag 'NaN' bij --paid: gebruik cijfers", "Invalid amount 'NaN' for --paid: use digits"),
    (("--principal", "1e3", "--due", "2026-03-01"), "Ongeldig bedrag '1e3' bij --principal: gebruik cijfers",
     "Invalid amount '1e3' for --principal: use digits"),
    (("--principal", "Infinity", "--due", "2026-03-01"), "Ongeldig bedrag 'Infinity' bij --principal",
     "Invalid amount 'Infinity' for --principal"),
    (("--principal", "100", "--due", "2026-03-01", "--paid", "2026-03-01=1E2"),
     "Ongeldig bedrag '1E2' bij --paid", "Invalid amount '1E2' for --paid"),
    (("--principal", "100", "--due", "2026-03-01", "--paid", "1-3-2026=10"),
     "Ongeldige datum '1-3-2026' bij --paid", "Invalid date '1-3-2026' for --paid"),
]
MALFORMED_IDS = [
    "principal-comma", "principal-negative", "due-day-first", "on-no-such-day", "term-end-word",
    "letter-sent-word", "paid-no-date", "paid-nan", "principal-exponent", "principal-infinity",
    "paid-exponent", "paid-day-first",
]


@pytest.mark.parametrize(("args", "dutch", "english"), MALFORMED_VALUES, ids=MALFORMED_IDS)
def test_malformed_value_rejected_in_dutch(args, dutch, english) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as error:
        _run(*args, "--lang", "nl")

    assert dutch in str(error.value)


@pytest.mark.parametrize(("args", "dutch", "english"), MALFORMED_VALUES, ids=MALFORMED_IDS)
def test_malformed_value_rejected_in_english(args, dutch, english) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as error:
        _run(*args, "--lang", "en")

    assert english in str(error.value)


# Option sets that together print every row of the claim tables: payments with
# credit left, a consumer before and after the 14-day letter, a business, a
# rate that no official source confirmed yet and a term past the Atw calendar.
FULL_OUTPUT_CASES = [
    ("--principal", "100", "--due", "2026-08-01", "--on", "2026-11-01",
     "--paid", "2026-09-01=10", "--paid", "2026-10-01=500"),
    ("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04", "--letter-sent", "2026-10-01"),
    ("--principal", "1234.56", "--due", "2025-10-01", "--on", "2026-12-04", "--paid", "2026-03-01=100.00"),
    ("--principal", "10000", "--due", "2025-06-15", "--on", "2026-02-10", "--business", "--no-vat-deductible"),
    ("--principal", "100", "--due", "2029-03-01", "--on", "2029-05-01", "--letter-sent", "2029-03-10"),
]
DUTCH_WORDS = (
    "rente", "hoofdsom", "kosten", "totaal", "openstaand", "openstaande", "tegoed", "incassokosten",
    "betalingen", "vordering", "bedrag", "dagen", "onderdeel", "grondslag", "termijn", "toegerekend",
    "verschuldigd", "btw", "van", "naar", "tarief",
)
ENGLISH_WORDS = (
    "interest", "principal", "costs", "total", "outstanding", "payments", "credit", "amount", "days",
    "part", "claim", "due", "base", "rate", "from", "to", "VAT",
)


def _words(text: str, words: tuple[str, ...]) -> list[str]:
    import re

    return [word for word in words if re.search(rf"\b{word}\b", text, re.IGNORECASE)]


@pytest.mark.parametrize("args", FULL_OUTPUT_CASES)
def test_whole_output_in_english(args) -> None:  # type: ignore[no-untyped-def]
    output, errors = _run_with_stderr(*args, "--lang", "en")

    assert "interest" in output
    assert _words(output + errors, DUTCH_WORDS) == []


@pytest.mark.parametrize("args", FULL_OUTPUT_CASES)
def test_whole_output_in_dutch(args) -> None:  # type: ignore[no-untyped-def]
    output, errors = _run_with_stderr(*args, "--lang", "nl")

    assert "rente" in output
    assert _words(output + errors, ENGLISH_WORDS) == []


def test_english_totals_label_interest() -> None:
    output = _run("--principal", "1234.56", "--due", "2026-01-15", "--on", "2026-12-04", "--lang", "en")

    assert "│ interest " in output
    assert "│ rente " not in output


def _help(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    from betaalreis.legal.management.commands.claim import Command

    with pytest.raises(SystemExit):
        Command().run_from_argv(["betaalreis", "claim", *argv])
    return " ".join(capsys.readouterr().out.split())


def test_help_names_date_format_in_english(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "--help", "--lang", "en")

    for option in ("--due", "--on", "--term-end"):
        assert f"{option} YYYY-MM-DD" in text
    assert "--letter-sent DATE[=NUMBER,...]" in text
    assert "Consumer: last day of the 14-day letter's term" in text
    assert "day a 14-day letter was sent (YYYY-MM-DD)" in text
    assert "with the date as YYYY-MM-DD, e.g. 2026-03-01=100.00" in text
    assert "JJJJ" not in text


def test_help_names_date_format_in_dutch(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(capsys, "--lang=nl", "--help")

    for option in ("--due", "--on", "--term-end"):
        assert f"{option} JJJJ-MM-DD" in text
    assert "--letter-sent DATUM[=NUMMER,...]" in text
    assert "verlenging door de Algemene termijnenwet (JJJJ-MM-DD)" in text
    assert "dag waarop een veertiendagenbrief is verstuurd (JJJJ-MM-DD)" in text
    assert "YYYY" not in text


def test_help_follows_language_setting(capsys: pytest.CaptureFixture[str]) -> None:
    from betaalreis.legal.management.commands.claim import Command

    Command().print_help("betaalreis", "claim")

    assert "--term-end YYYY-MM-DD" in capsys.readouterr().out
# F1 is named by a first letter of 2026-09-01, whose term has passed by
# 2026-10-10. The letter of 2026-10-01 names F1 and F2, and its term runs
# up to and including Monday 2026-10-19 (presumed received on Saturday
# 3 October, and the fourteenth day is a Saturday).
TWO_LETTERS = (
    "--invoice", "F1=300.00@2026-08-01", "--invoice", "F2=200.00@2026-09-01",
    "--letter-sent", "2026-09-01=F1", "--letter-sent", "2026-10-01",
)


@pytest.mark.parametrize(
    ("on", "status", "costs", "base", "if_unpaid"),
    [
        # The first term passed: 15 % of the 300.00 it named. The second letter announces the costs over 500.00.
        ("2026-10-10", "due", "45.00", "300.00", "75.00"),
        # The second term passed: 15 % of 500.00, not 45.00 plus a second minimum of 40.00.
        ("2026-11-01", "due", "75.00", "500.00", "75.00"),
        # The last day of the second term.
        ("2026-10-19", "due", "45.00", "300.00", "75.00"),
        ("2026-10-20", "due", "75.00", "500.00", "75.00"),
    ],
)
def test_several_letters(on, status, costs, base, if_unpaid) -> None:
    data = json.loads(_run(*TWO_LETTERS, "--on", on, "--format", "json"))

    assert data["costs"]["status"] == status
    assert data["costs"]["costs"] == costs
    assert data["costs"]["base"] == base
    assert data["costs"]["if_unpaid"] == if_unpaid
    assert [item["invoice_number"] for item in data["items"]] == ["F1", "F2"]


def test_letter_naming_all_invoices() -> None:
    data = json.loads(_run(
        "--invoice", "F1=300.00@2026-08-01", "--invoice", "F2=200.00@2026-09-01",
        "--letter-sent", "2026-09-10", "--on", "2026-11-01", "--format", "json",
    ))

    assert data["costs"]["base"] == "500.00"
    assert data["costs"]["costs"] == "75.00"


def test_payment_names_invoice() -> None:
    data = json.loads(_run(
        "--invoice", "F1=300.00@2026-08-01", "--invoice", "F2=200.00@2026-09-01",
        "--paid", "2026-07-20=200.00@F2", "--on", "2026-11-01", "--format", "json",
    ))

    # Paid before both due dates and named F2, so F2 is paid and F1 is not.
    assert [item["principal_outstanding"] for item in data["items"]] == ["300.00", "0.00"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--invoice", "F1=300.00@2026-08-01", "--letter-sent", "2026-09-01=F9"),
         "Unknown invoice F9 for --letter-sent 2026-09-01: name only invoices that you give with --invoice (F1)."),
        (("--invoice", "F1=300.00@2026-08-01", "--principal", "100", "--due", "2026-08-01"),
         "Give --invoice or --principal with --due, not both."),
        (("--principal", "100",), "Give the invoice with --principal and --due"),
        (("--invoice", "F1=300.00",), "Invalid invoice 'F1=300.00' for --invoice: use NUMBER=AMOUNT@DUE"),
        (("--invoice", "F1=300.00@2026-08-01", "--letter-sent", "2026-09-01="),
         "Invalid letter '2026-09-01=' for --letter-sent"),
        (("--invoice", "F1=300.00@2026-12-01",), "Invalid --invoice 2026-12-01: it is after the claim date"),
    ],
)
def test_invoice_and_letter_options_rejected(args, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as error:
        _run(*args, "--on", "2026-11-01")

    assert message in str(error.value)


@pytest.mark.parametrize(("language", "row"), [("nl", "incassokosten (niet verschuldigd)"), ("en", "collection costs (not owed)")])
def test_old_invoice_costs_not_owed(language, row) -> None:
    # In default before 1 July 2012, so BIK art. 3 excludes collection costs.
    output = " ".join(_run("--principal", "500", "--due", "2012-03-01", "--on", "2013-03-01",
                           "--term-end", "2013-01-20", "--lang", language).split())

    assert row in output
    assert "(art. 3)" in output


OPEN_AND_PAID = ("--invoice", "F1=300.00@2026-09-01", "--on", "2026-11-01", "--format", "json")


@pytest.mark.parametrize(
    ("paid_on", "letter", "base", "costs"),
    [
        # The letter of 10 September has its term end on 28 September.
        ("2026-10-20", "2026-09-10", "500.00", "75.00"),
        ("2026-09-28", "2026-09-10", "300.00", "45.00"),
        ("2026-09-29", "2026-09-10", "500.00", "75.00"),
        # A letter that did not name F2 makes no costs owed over it.
        ("2026-10-20", "2026-09-10=F1", "300.00", "45.00"),
    ],
)
def test_paid_invoice_in_cost_base(paid_on, letter, base, costs) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(_run(*OPEN_AND_PAID, "--paid-invoice", f"F2=200.00@{paid_on}", "--letter-sent", letter))

    assert data["costs"]["status"] == "due"
    assert data["costs"]["base"] == base
    assert data["costs"]["costs"] == costs
    assert data["principal"] == "300.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--paid-invoice", "F2=200.00@2026-10-20"), "--paid-invoice needs --letter-sent"),
        (("--paid-invoice", "F1=200.00@2026-10-20", "--letter-sent", "2026-09-10"), "Invoice F1 is given more than once"),
        (("--paid-invoice", "F2=200.00@2026-11-02", "--letter-sent", "2026-09-10"), "paid on 2026-11-02, after the claim date"),
        (("--paid-invoice", "F2=200.00", "--letter-sent", "2026-09-10"), "Invalid invoice 'F2=200.00' for --paid-invoice"),
        (("--paid-invoice", "F2=2e2@2026-10-20", "--letter-sent", "2026-09-10"), "Invalid amount '2e2'"),
    ],
)
def test_paid_invoice_rejected(args, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        _run(*OPEN_AND_PAID, *args)


PAYMENT_OF_UNKNOWN_INVOICE = [
    (
        ("--principal", "1000.00", "--due", "2021-06-01", "--on", "2026-12-05", "--business",
         "--paid", "2026-12-05=500.00@OLD-1"),
        "Ongeldige --paid 2026-12-05: de betaling noemt factuur OLD-1, maar --principal en --due maken één "
        "factuur zonder nummer. Laat @OLD-1 weg, of geef de facturen met --invoice, zoals --invoice "
        "OLD-1=BEDRAG@VERVALDATUM.",
        "Invalid --paid 2026-12-05: the payment names invoice OLD-1, but --principal and --due make one "
        "invoice without a number. Leave out @OLD-1, or give the invoices with --invoice, like --invoice "
        "OLD-1=AMOUNT@DUEDATE.",
    ),
    (
        ("--invoice", "F1=300.00@2026-09-01", "--on", "2026-11-01", "--paid", "2026-10-01=100.00@F9"),
        "Ongeldige --paid 2026-10-01: de betaling noemt factuur F9, die niet in de vordering staat. Geef die "
        "factuur met --invoice, of verbeter het nummer na @ (F1).",
        "Invalid --paid 2026-10-01: the payment names invoice F9, which is not in the claim. Give that "
        "invoice with --invoice, or correct the number after @ (F1).",
    ),
]


@pytest.mark.parametrize(("args", "dutch", "english"), PAYMENT_OF_UNKNOWN_INVOICE, ids=["principal", "invoice"])
def test_payment_unknown_invoice_in_dutch(args, dutch, english) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as error:
        _run(*args, "--lang", "nl")

    assert str(error.value) == dutch


@pytest.mark.parametrize(("args", "dutch", "english"), PAYMENT_OF_UNKNOWN_INVOICE, ids=["principal", "invoice"])
def test_payment_unknown_invoice_in_english(args, dutch, english) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as error:
        _run(*args, "--lang", "en")

    assert str(error.value) == english
