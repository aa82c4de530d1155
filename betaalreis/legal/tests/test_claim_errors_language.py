"""The claim library's input errors are Dutch, or English while English is the active language."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from betaalreis.errors import InvalidInput
from betaalreis.legal import contact
from betaalreis.legal.claims import ClaimItem, ClaimPayment, LaterPart, compute_claim
from betaalreis.legal.contact import contact_week_start, next_allowed_contact, weekly_contact_allowed
from betaalreis.legal.fourteen_day import fourteen_day_term, presumed_receipt_date
from betaalreis.legal.ledger_claims import claim_for_debtor
from betaalreis.legal.letter import fourteen_day_letter
from betaalreis.legal.policy import ClaimPart, LegalSettings, parse_allocation_order
from betaalreis.legal.rates import RateKind, rate_on
from betaalreis.testing import make_creditor, make_debtor, make_invoice

d = dt.date
D = Decimal
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ON = d(2026, 2, 1)
ITEM = ClaimItem("F1", D("100.00"), d(2026, 1, 1))
SENT = d(2026, 12, 4)


def _claim(items: list[ClaimItem] | None = None, **options: object) -> Callable[[], object]:
    values: dict[str, object] = {"debtor_kind": "consumer", "items": [ITEM] if items is None else items, "on": ON}
    values.update(options)
    return lambda: compute_claim(**values)


def _item(**fields: object) -> ClaimItem:
    values: dict[str, object] = {"invoice_number": "F1", "principal": D("100.00"), "due_date": d(2026, 1, 1)}
    values.update(fields)
    return ClaimItem(**values)


def _letter(debtor_kind: str, **options: object) -> Callable[[], object]:
    def write() -> object:
        items = [_item(due_date=d(2026, 10, 1))]
        breakdown = compute_claim(debtor_kind=debtor_kind, items=items, on=SENT, **options)
        return fourteen_day_letter(
            breakdown, fourteen_day_term(SENT, "letter"), language="nl",
            payee_name="Acme B.V.", iban="NL91ABNA0417164300", payment_reference="RF0520260000042",
        )

    return write


TOO_LATE_NL = "is ongeldig: een vordering loopt uiterlijk tot 2199-12-31. Controleer de datum op een tikfout."
TOO_LATE_EN = "is invalid: claims run to 2199-12-31 at the latest. Check the date for a typing error."

# Each case: a call that raises InvalidInput, then its Dutch and its English message.
CASES: dict[str, tuple[Callable[[], object], str, str]] = {
    "no invoice": (
        _claim([]),
        "Een vordering heeft minstens één factuur nodig; er is er geen gegeven.",
        "A claim needs at least one invoice; none was given.",
    ),
    "invoice twice": (
        _claim([ITEM, ITEM]),
        "Factuurnummers ['F1'] komen meer dan eens voor in de vordering.",
        "Invoice numbers ['F1'] appear more than once in the claim.",
    ),
    "negative principal": (
        _claim([_item(principal=D("-5"))]),
        "Factuur F1: hoofdsom Decimal('-5') is ongeldig. Geef een positieve Decimal; laat betaalde "
        "facturen en creditnota's weg.",
        "Invoice F1: principal Decimal('-5') is invalid. Give a positive Decimal; leave paid invoices "
        "and credit notes out.",
    ),
    "principal above maximum": (
        _claim([_item(principal=D("2000000000000.00"))]),
        "Factuur F1: hoofdsom 2000000000000.00 is meer dan het maximum van 1000000000000.00. "
        "Controleer het bedrag op een tikfout.",
        "Invoice F1: principal 2000000000000.00 is above the maximum of 1000000000000.00. "
        "Check the amount for a typing error.",
    ),
    "principal with three decimals": (
        _claim([_item(principal=D("100.005"))]),
        "Factuur F1: hoofdsom 100.005 heeft meer dan twee decimalen. Geef het bedrag in hele centen, "
        "zoals op de factuur.",
        "Invoice F1: principal 100.005 has more than two decimals. Give the amount in whole cents, "
        "as on the invoice.",
    ),
    "due date with time": (
        _claim([_item(due_date=dt.datetime(2026, 1, 1, 12, 0))]),
        "Factuur F1: vervaldatum datetime.datetime(2026, 1, 1, 12, 0) is ongeldig. "
        "Geef een datetime.date zonder tijd.",
        "Invoice F1: due date datetime.datetime(2026, 1, 1, 12, 0) is invalid. "
        "Give a datetime.date without a time.",
    ),
    "claim date too late": (
        _claim(on=d(2200, 1, 1)),
        f"datum van de vordering 2200-01-01 {TOO_LATE_NL}",
        f"claim date 2200-01-01 {TOO_LATE_EN}",
    ),
    "term end with time": (
        _claim(fourteen_day_term_end=dt.datetime(2026, 1, 20, 0, 0)),
        "einde van de termijn van 14 dagen datetime.datetime(2026, 1, 20, 0, 0) is ongeldig. "
        "Geef een datetime.date zonder tijd.",
        "14-day term end datetime.datetime(2026, 1, 20, 0, 0) is invalid. "
        "Give a datetime.date without a time.",
    ),
    "unnamed principal above principal": (
        _claim([_item(unnamed_principal=D("150.00"))]),
        "Factuur F1: niet in de brief genoemde hoofdsom 150.00 ligt buiten 0 tot haar hoofdsom 100.00; "
        "geef het deel van de hoofdsom dat na de brief is verhoogd.",
        "Invoice F1: unnamed principal 150.00 is outside 0 to its principal 100.00; "
        "pass the part of the principal raised after the letter.",
    ),
    "default date too late": (
        _claim([_item(default_date=d(2200, 1, 1))]),
        f"Factuur F1: verzuimdatum 2200-01-01 {TOO_LATE_NL}",
        f"Invoice F1: default date 2200-01-01 {TOO_LATE_EN}",
    ),
    "empty later part": (
        _claim([_item(later_parts=(LaterPart(D("0"), d(2026, 1, 15)),))]),
        "Factuur F1: later deel Decimal('0') is ongeldig. Geef een positieve Decimal; laat lege delen weg.",
        "Invoice F1: later part Decimal('0') is invalid. Give a positive Decimal; leave empty parts out.",
    ),
    "later part due too late": (
        _claim([_item(later_parts=(LaterPart(D("10.00"), d(2200, 1, 1)),))]),
        f"Factuur F1: vervaldatum van een later deel 2200-01-01 {TOO_LATE_NL}",
        f"Invoice F1: due date of a later part 2200-01-01 {TOO_LATE_EN}",
    ),
    "later part due before invoice": (
        _claim([_item(later_parts=(LaterPart(D("10.00"), d(2025, 12, 1)),))]),
        "Factuur F1: later deel met vervaldatum 2025-12-01 ligt voor de vervaldatum 2026-01-01 van de "
        "factuur. Geef het in plaats daarvan mee als deel van de hoofdsom.",
        "Invoice F1: later part due 2025-12-01 is before the invoice's due date 2026-01-01. "
        "Pass it as part of the principal instead.",
    ),
    "later parts above principal": (
        _claim([_item(later_parts=(LaterPart(D("150.00"), d(2026, 1, 15)),))]),
        "Factuur F1: latere delen van 150.00 zijn meer dan haar hoofdsom 100.00. "
        "Geef alleen de delen die nog bij de hoofdsom horen.",
        "Invoice F1: later parts of 150.00 exceed its principal 100.00. "
        "Pass only the parts that are still part of the principal.",
    ),
    "payment date with time": (
        _claim(payments=[ClaimPayment(dt.datetime(2026, 1, 15, 9, 0), D("10.00"))]),
        "Betaaldatum datetime.datetime(2026, 1, 15, 9, 0) is ongeldig. Geef een datetime.date zonder tijd.",
        "Payment date datetime.datetime(2026, 1, 15, 9, 0) is invalid. Give a datetime.date without a time.",
    ),
    "negative payment": (
        _claim(payments=[ClaimPayment(d(2026, 1, 15), D("-5"))]),
        "Betaling van 2026-01-15: bedrag Decimal('-5') is ongeldig. Geef een positieve Decimal; "
        "trek teruggeboekte betalingen eerst af.",
        "Payment of 2026-01-15: amount Decimal('-5') is invalid. Give a positive Decimal; "
        "subtract reversed payments before the claim.",
    ),
    "payment after claim date": (
        _claim(payments=[ClaimPayment(d(2026, 3, 1), D("10.00"))]),
        "Betaling van 2026-03-01 ligt na de datum van de vordering 2026-02-01. "
        "Laat latere betalingen weg of bereken de vordering op een latere dag.",
        "Payment of 2026-03-01 is after the claim date 2026-02-01. "
        "Leave later payments out or compute the claim on a later day.",
    ),
    "payment names other invoice": (
        _claim(payments=[ClaimPayment(d(2026, 1, 15), D("10.00"), invoice_number="F9")]),
        "Betaling van 2026-01-15 noemt factuur 'F9', die niet in de vordering staat.",
        "Payment of 2026-01-15 names invoice 'F9', which is not in the claim.",
    ),
    "unknown currency code": (
        _claim(currency="XYZ"),
        "Ongeldige valutacode 'XYZ': geef een ISO 4217-code zoals EUR.",
        "Invalid currency code 'XYZ': give an ISO 4217 code such as EUR.",
    ),
    "currency other than euro": (
        _claim(currency="USD"),
        "Vorderingen in USD worden niet ondersteund: de wettelijke incassokosten (BIK-staffel, minimaal "
        "EUR 40) zijn in euro vastgesteld en worden niet omgerekend. Bereken de vordering in EUR of "
        "behandel deze debiteur met de hand.",
        "Claims in USD are not supported: the statutory collection costs (BIK scale, EUR 40 minimum) "
        "are set in euro and are not converted. Compute the claim in EUR or handle this debtor by hand.",
    ),
    "unknown debtor kind": (
        _claim(debtor_kind="person"),
        "Ongeldige soort debiteur 'person': gebruik een van ['consumer', 'business'].",
        "Invalid debtor kind 'person': use one of ['consumer', 'business'].",
    ),
    "channel without receipt days": (
        lambda: presumed_receipt_date(SENT, "sms"),
        "Voor kanaal 'sms' is geen aantal dagen tot de vermoedelijke ontvangst ingesteld. Verstuur de "
        "veertiendagenbrief via een van ['email', 'letter'] of voeg het kanaal toe aan de ontvangstdagen "
        "van de crediteur.",
        "No presumed receipt days are set for channel 'sms'. Send the 14-day letter by one of "
        "['email', 'letter'] or add the channel to the creditor's receipt days.",
    ),
    "letter before Atw calendar": (
        lambda: fourteen_day_term(d(2013, 4, 1), "letter"),
        "Ongeldige datum van de veertiendagenbrief 2013-04-01: de Atw-kalender loopt van 2014-01-01 tot "
        "en met 2199-12-31. Bereken oudere termijnen met de hand.",
        "Invalid 14-day letter date 2013-04-01: the Atw calendar covers 2014-01-01 to 2199-12-31. "
        "Compute older terms by hand.",
    ),
    "letter to business": (
        _letter("business"),
        "Een veertiendagenbrief is voor debiteuren die consument zijn; een bedrijf is de kosten zonder "
        "zo'n brief verschuldigd.",
        "A 14-day letter is for consumer debtors; a business owes costs without one.",
    ),
    "letter on claim with costs": (
        _letter("consumer", fourteen_day_term_end=d(2026, 11, 20)),
        "De vordering rekent al incassokosten. Bereken haar op de dag dat de brief uitgaat, zonder "
        "einde van de termijn van 14 dagen.",
        "The claim already charges collection costs. Compute it on the day the letter is sent, "
        "without a 14-day term end.",
    ),
    "allocation order incomplete": (
        lambda: LegalSettings(allocation_order=(ClaimPart.COSTS,)),
        "Ongeldige volgorde van toerekening ['costs']: noem costs, interest en principal elk één keer.",
        "Invalid payment allocation order ['costs']: name costs, interest and principal once each.",
    ),
    "interest start offset zero": (
        lambda: LegalSettings(consumer_interest_start_offset_days=0),
        "Ongeldig aantal dagen na de vervaldatum waarop de rente van een consument begint, 0: gebruik 1 "
        "of meer dagen, want de vervaldatum is de laatste dag om te betalen en de rente begint de dag erna.",
        "Invalid consumer interest start offset 0: use 1 or more days, because the due date is the last "
        "day to pay and interest starts the day after it.",
    ),
    "receipt days above 30": (
        lambda: LegalSettings(receipt_days={"letter": 31}),
        "Ongeldig aantal ontvangstdagen 31 voor kanaal 'letter': gebruik 0 tot en met 30 dagen.",
        "Invalid receipt days 31 for channel 'letter': use 0 to 30 days.",
    ),
    "contact hours reversed": (
        lambda: LegalSettings(contact_start=dt.time(20, 0), contact_end=dt.time(7, 0)),
        "Ongeldige contacturen 20:00-07:00: het begin moet op dezelfde dag voor het einde liggen.",
        "Invalid contact hours 20:00-07:00: the start must be before the end on the same day.",
    ),
    "weekly contact maximum zero": (
        lambda: LegalSettings(weekly_contact_maximum=0),
        "Ongeldig maximum aantal contacten per week 0: gebruik 1 of meer.",
        "Invalid weekly contact maximum 0: use 1 or more.",
    ),
    "allocation order unknown part": (
        lambda: parse_allocation_order("costs,fees"),
        "Ongeldige volgorde van toerekening 'costs,fees': noem costs, interest en principal, gescheiden "
        "door komma's.",
        "Invalid payment allocation order 'costs,fees': list costs, interest and principal, separated "
        "by commas.",
    ),
    "allocation order part missing": (
        lambda: parse_allocation_order("costs,interest"),
        "Ongeldige volgorde van toerekening 'costs,interest': noem costs, interest en principal elk één keer.",
        "Invalid payment allocation order 'costs,interest': name costs, interest and principal once each.",
    ),
    "negative contact count": (
        lambda: weekly_contact_allowed(-1),
        "Ongeldig aantal contacten -1: gebruik 0 of meer.",
        "Invalid contact count -1: use 0 or more.",
    ),
    "contact time without zone": (
        lambda: contact_week_start(dt.datetime(2026, 3, 2, 10, 0)),
        "Contactmoment 2026-03-02T10:00:00 heeft geen tijdzone. Geef een datetime met tijdzone.",
        "Contact time 2026-03-02T10:00:00 has no time zone. Pass a timezone-aware datetime.",
    ),
    "rate before table": (
        lambda: rate_on(RateKind.VAT, d(2012, 8, 2)),
        "Er is geen tarief voor btw bekend op 2012-08-02: de tabel in statutory_rates.toml begint op "
        "2012-10-01. Voeg de oudere tarieven toe aan de tabel of begin de berekening later.",
        "No vat rate is known for 2012-08-02: the table in statutory_rates.toml starts on 2012-10-01. "
        "Add the older rates to the table or start the computation later.",
    ),
}


def _message(call: Callable[[], object]) -> str:
    with pytest.raises(InvalidInput) as raised:
        call()
    return str(raised.value)


@pytest.mark.parametrize("case", list(CASES))
def test_claim_error_dutch_by_default(case: str) -> None:
    call, dutch, _english = CASES[case]

    assert _message(call) == dutch


@pytest.mark.parametrize("case", list(CASES))
def test_claim_error_english_when_active(case: str) -> None:
    call, _dutch, english = CASES[case]

    with translation.override("en"):
        assert _message(call) == english


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("nl", "Geen toegestaan contactmoment binnen 2 dagen na 2026-02-28T21:00:00+01:00. "
               "Controleer de contacturen en de gegevens over feestdagen."),
        ("en", "No allowed contact moment within 2 days after 2026-02-28T21:00:00+01:00. "
               "Check the contact hours and the holiday data."),
    ],
)
def test_no_contact_moment_error(language: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Saturday evening after the contact hours, then a Sunday: no moment within two days.
    monkeypatch.setattr(contact, "MAX_DAYS_AHEAD", 2)

    saturday_evening = dt.datetime(2026, 2, 28, 21, 0, tzinfo=AMSTERDAM)

    with translation.override(language):
        assert _message(lambda: next_allowed_contact(saturday_evening)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ((), "Ongeldige volgorde van toerekening 'costs,fees': noem costs, interest en principal, "
             "gescheiden door komma's."),
        (("--lang", "en"), "Invalid payment allocation order 'costs,fees': list costs, interest and "
                           "principal, separated by commas."),
    ],
)
def test_claim_command_library_error_language(options: tuple[str, ...], expected: str) -> None:
    with pytest.raises(CommandError) as raised:
        call_command(
            "claim", "--principal", "100.00", "--due", "2026-01-01", "--on", "2026-02-01",
            "--allocation-order", "costs,fees", *options,
        )

    assert str(raised.value) == expected
