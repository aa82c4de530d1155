"""The timeline rows on the admin's debtor page show Amsterdam time and Dutch labels."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.portal.tests.factories import make_creditor, make_debtor

pytestmark = pytest.mark.django_db

# 01:37 UTC on 5 December is 02:37 in Amsterdam (CET, UTC+1).
MOMENT = dt.datetime(2026, 12, 5, 1, 37, tzinfo=dt.UTC)


def test_timeline_event_str_local_and_dutch() -> None:
    debtor = make_debtor(make_creditor())
    event = TimelineEvent.objects.create(
        creditor=debtor.creditor, debtor=debtor, kind=TimelineKind.PAYMENT, at=MOMENT,
        source="test", summary="€ 12,50 ontvangen",
    )

    assert str(event) == "2026-12-05 02:37 Betaling: € 12,50 ontvangen"


def test_debtor_admin_timeline_shows_local_time(client: Client) -> None:
    debtor = make_debtor(make_creditor())
    TimelineEvent.objects.create(
        creditor=debtor.creditor, debtor=debtor, kind=TimelineKind.PAYMENT, at=MOMENT,
        source="test", summary="€ 12,50 ontvangen",
    )
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    page = client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk])).content.decode()

    assert "2026-12-05 02:37 Betaling: € 12,50 ontvangen" in page
    assert "01:37" not in page
    assert "payment:" not in page


def test_debtor_admin_flags_no_channel_left(client: Client) -> None:
    creditor = make_creditor()
    make_debtor(creditor, "NOWHERE", opted_out_channels=["email", "sms", "whatsapp", "letter", "phone"])
    make_debtor(creditor, "NOLETTER", opted_out_channels=["letter"])
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    page = client.get(reverse("admin:ledger_debtor_changelist"), HTTP_ACCEPT_LANGUAGE="nl").content.decode()

    assert "afgemeld voor alle kanalen" in page.lower()
    assert page.count('alt="True"') == 1


@pytest.mark.parametrize(("language", "shown", "hidden"), [
    ("nl", ("beoordelingslijst", "afletteren bank", "backoffice:beheer"), ("review queue", "bank matching")),
    ("en", ("review queue", "bank matching", "back office:beheer"), ("beoordelingslijst", "afletteren bank")),
])
def test_timeline_source_follows_language(
    client: Client, language: str, shown: tuple[str, ...], hidden: tuple[str, ...]
) -> None:
    debtor = make_debtor(make_creditor())
    for number, source in enumerate(("review queue", "bank matching", "admin:beheer")):
        TimelineEvent.objects.create(
            creditor=debtor.creditor, debtor=debtor, kind=TimelineKind.PAYMENT, at=MOMENT,
            source=source, summary=f"betaling {number}",
        )
    client.force_login(User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord"))

    pages = {
        "list": client.get(reverse("admin:ledger_timelineevent_changelist"), HTTP_ACCEPT_LANGUAGE=language),
        "debtor": client.get(reverse("admin:ledger_debtor_change", args=[debtor.pk]), HTTP_ACCEPT_LANGUAGE=language),
    }

    for name, response in pages.items():
        page = response.content.decode()
        for text in shown:
            assert text in page, (name, text)
        for text in hidden:
            assert text not in page, (name, text)
