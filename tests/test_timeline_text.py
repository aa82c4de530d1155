"""Timeline summaries are stored in Dutch and shown in English when English is active.

The scenarios below write events through the real actions, the demo and the
portal services, and check that each summary matches a shape of
`betaalreis.ledger.timeline_text` and reads as English.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from betaalreis.banking.samples import SampleEntry
from betaalreis.banking.tests.helpers import PAYER_IBAN, import_entries
from betaalreis.banking.tests.helpers import make_creditor as make_bank_creditor
from betaalreis.banking.tests.helpers import make_debtor as make_bank_debtor
from betaalreis.banking.tests.helpers import make_invoice as make_bank_invoice
from betaalreis.ledger.actions import do_set_invoice_status
from betaalreis.ledger.models import InvoiceStatus, TimelineEvent, TimelineKind
from betaalreis.ledger.timeline import clip
from betaalreis.ledger.timeline_text import UNPRINTABLE_LETTERS, has_shape, summary_in_language
from betaalreis.payments import plans
from betaalreis.portal import services
from betaalreis.portal.tests.factories import make_creditor, make_debtor, make_invoice

# Dutch words that no English summary should keep. Invoice numbers, names and
# provider texts are stored as written, so the words are matched whole.
DUTCH_WORDS = re.compile(
    r"\b(factuur|facturen|betaling|gepland|verzonden|tegoed|openstaand|betaald|herinnering|termijn|"
    r"betalingsregeling|betaalbelofte|geschil|mislukt|gewijzigd|geïmporteerd|verschuldigd|vanaf|kwijtgescholden|"
    r"gevorderd|ontvangen|aanmaning|tegengehouden|afgewezen|nagekomen|afgehandeld)\b",
    re.IGNORECASE,
)


def untranslated(events: list[TimelineEvent]) -> list[str]:
    """Return the summaries of `events` that match no shape or keep Dutch words in English, without repeats."""
    found: list[str] = []
    for event in events:
        english = summary_in_language(event.summary, event.data, "en")
        if not has_shape(event.summary) or DUTCH_WORDS.search(english):
            found.append(f"{event.summary!r} -> {english!r}")
    return sorted(set(found))


@pytest.mark.django_db(transaction=True)
def test_demo_summaries_in_english() -> None:
    # Forty days reach the 14-day letter, the final notice and the handover.
    call_command(
        "demo", "--debtors", "30", "--invoices", "120", "--days", "40", "--start", "2026-03-02", stdout=StringIO()
    )

    events = list(TimelineEvent.objects.all())
    kinds = {event.kind for event in events}

    assert {TimelineKind.IMPORT, TimelineKind.COMMUNICATION, TimelineKind.PAYMENT, TimelineKind.LEGAL} <= kinds
    assert untranslated(events) == []


@pytest.mark.django_db
def test_portal_summaries_in_english() -> None:
    debtor = make_debtor(make_creditor())
    today = timezone.localdate()
    planned = make_invoice(debtor, "F-001", "300.00")
    disputed = make_invoice(debtor, "F-002", "40.00")
    promised = make_invoice(make_debtor(debtor.creditor, "K002"), "F-003", "80.00")

    plan = plans.do_request_plan(debtor, [planned], 12, today=today)
    plans.do_decide_plan(plan, approve=False, by="user:beheer")
    dispute = services.do_open_dispute(debtor, disputed, reason="question", message="Waarom?")
    services.do_resolve_dispute(dispute, resolution="uitgelegd", source="user:beheer")
    services.do_make_promise(promised.debtor, today, today=today)
    services.settle_promises(debtor.creditor_id, today + dt.timedelta(days=1))
    do_set_invoice_status(disputed, InvoiceStatus.WRITTEN_OFF, source="admin:beheer", reason="test")

    events = list(TimelineEvent.objects.all())

    assert len(events) >= 8
    assert untranslated(events) == []


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "shown", "hidden"), [
    ("nl", "Betaalbelofte: € 80,00 uiterlijk", "Promise to pay"),
    ("en", "Promise to pay: €80.00 by", "Betaalbelofte"),
])
def test_admin_timeline_follows_language(client: Client, language: str, shown: str, hidden: str) -> None:
    debtor = make_debtor(make_creditor())
    make_invoice(debtor, "F-001", "80.00")
    today = timezone.localdate()
    services.do_make_promise(debtor, today, today=today)
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    pages = {
        "list": client.get(reverse("admin:ledger_timelineevent_changelist"), HTTP_ACCEPT_LANGUAGE=language),
        "debtor": client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk]), HTTP_ACCEPT_LANGUAGE=language),
    }

    for name, response in pages.items():
        page = response.content.decode().replace("\xa0", " ")
        assert shown in page, name
        assert hidden not in page, name


def test_unknown_summary_shown_as_stored() -> None:
    assert summary_in_language("Iets wat geen vorm heeft", None, "en") == "Iets wat geen vorm heeft"


def test_writer_english_wins() -> None:
    data = {"summary_en": "Invoice F1 edited by hand: total €1.00 → €2.00"}

    assert summary_in_language("Factuur F1 handmatig gewijzigd: totaal € 1,00 → € 2,00", data, "en") == data["summary_en"]


@pytest.mark.django_db
def test_bank_summaries_in_english(tmp_path) -> None:
    # The first payment pays its invoice with 20,00 left as credit, the second pays part of its invoice.
    debtor = make_bank_debtor(make_bank_creditor(), "K1", "Jan de Vries")
    make_bank_invoice(debtor, "2026-0020", "80.00", due=dt.date(2026, 11, 1))
    make_bank_invoice(debtor, "2026-0021", "50.00", due=dt.date(2026, 11, 1))
    entries = [
        SampleEntry(Decimal("100.00"), name="Jan de Vries", iban=PAYER_IBAN, remittance="Factuur 2026-0020",
                    booking_date=dt.date(2026, 12, 1)),
        SampleEntry(Decimal("20.00"), name="Jan de Vries", iban=PAYER_IBAN, remittance="Factuur 2026-0021",
                    booking_date=dt.date(2026, 12, 1)),
    ]
    import_entries(tmp_path, entries, day=dt.date(2026, 12, 1))

    events = list(TimelineEvent.objects.filter(kind=TimelineKind.PAYMENT))

    assert len(events) >= 3
    assert untranslated(events) == []


def test_clip_cuts_at_word() -> None:
    text = "het bericht is niet verzonden omdat het lettertype tekens mist"

    assert clip(text, 100) == text
    assert clip(text, 30) == "het bericht is niet verzonden…"
    assert len(clip(text, 30)) <= 30


def test_failed_letter_summary_in_english() -> None:
    error = UNPRINTABLE_LETTERS % {"letters": repr("王小明")}
    summary = f"Brief (Aanmaning) mislukt: {error}"

    english = summary_in_language(summary, language="en")

    assert english.endswith("The letter font lacks the characters '王小明' of the name or address. Set "
                          "BETAALREIS_LETTER_FONT and BETAALREIS_LETTER_FONT_BOLD to a TrueType font that has them, "
                          "or write the name in Latin letters.")


@pytest.mark.django_db
def test_instalment_summaries_in_english() -> None:
    from betaalreis.dunning.policies import seed_default_policies
    from betaalreis.dunning.run import run_cycle

    debtor = make_debtor(make_creditor())
    seed_default_policies(debtor.creditor)
    day = dt.date(2026, 11, 20)
    invoice = make_invoice(debtor, "F-001", "300.00")
    plans.do_request_plan(debtor, [invoice], 3, today=day)

    run_cycle(day, debtor.creditor)

    events = list(TimelineEvent.objects.filter(data__has_key="communication_id"))
    english = [summary_in_language(event.summary, event.data, "en") for event in events]
    assert len(events) >= 2
    assert untranslated(events) == []
    assert not [text for text in english if "instalment_reminder" in text or "vervaldatum" in text]
    assert any(text.startswith("Reminder for instalment 1 of 3 planned by email") for text in english), english
