"""The admin action that puts a failed message back in the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from betaalreis.channels.delivery import CHAIN_MARK
from betaalreis.dunning.policies import seed_default_policies
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.ledger.tenancy import do_grant_creditor_access
from betaalreis.outbox.actions import ResendRejected, do_resend_failed
from betaalreis.outbox.models import Communication, CommunicationInvoice, CommunicationStatus
from betaalreis.testing import make_creditor, make_debtor, make_invoice

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)
CHANGELIST = "admin:outbox_communication_changelist"


def failed_message(slug: str = "acme", *, stage_kept: bool = True) -> Communication:
    creditor = make_creditor(slug)
    seed_default_policies(creditor)
    debtor = make_debtor(creditor)
    invoice = make_invoice(
        debtor, "100.00", due=DAY - dt.timedelta(days=20),
        dunning_stage="reminder" if stage_kept else "friendly_reminder", dunning_stage_date=DAY,
    )
    communication = Communication.objects.create(
        creditor=creditor, debtor=debtor, channel="email", stage="reminder", language="nl",
        idempotency_key=f"{slug}:{debtor.pk}:reminder:email:{DAY}", run_date=DAY, total_amount=Decimal("100.00"),
        status=CommunicationStatus.FAILED, attempts=5,
        last_error="smtp_unavailable: SMTP hand-over failed: [Errno 111] Connection refused",
    )
    CommunicationInvoice.objects.create(communication=communication, invoice=invoice, open_amount=invoice.open_amount)
    return communication


def fallback_of(communication: Communication, status: str) -> Communication:
    fallback = Communication.objects.create(
        creditor=communication.creditor, debtor=communication.debtor, channel="letter", stage=communication.stage,
        language="nl", idempotency_key=f"{communication.idempotency_key}{CHAIN_MARK}letter", run_date=DAY,
        total_amount=communication.total_amount, status=status,
    )
    item = communication.items.get()
    CommunicationInvoice.objects.create(communication=fallback, invoice=item.invoice, open_amount=item.open_amount)
    return fallback


def post_resend(client, user: User, communication: Communication):
    client.force_login(user)
    return client.post(
        reverse(CHANGELIST), {"action": "resend_failed", "_selected_action": [communication.pk]}, follow=True,
    )


@pytest.fixture
def superuser() -> User:
    return User.objects.create_superuser("beheer", "beheer@example.nl", "geheim-wachtwoord")


def test_resend_back_to_pending(client, superuser):
    communication = failed_message()

    page = post_resend(client, superuser, communication)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.PENDING
    assert communication.attempts == 0
    assert communication.last_error == ""
    assert communication.not_before is not None
    assert "1 bericht terug in de berichtenmap" in page.content.decode()
    event = TimelineEvent.objects.get(debtor=communication.debtor, kind=TimelineKind.COMMUNICATION)
    assert event.summary == "E-mail (Herinnering) opnieuw te versturen, op verzoek van user:beheer"
    assert event.source == "user:beheer"
    assert event.data["previous_error"].startswith("smtp_unavailable:")


def test_resend_cancels_waiting_fallback():
    communication = failed_message()
    fallback = fallback_of(communication, CommunicationStatus.PENDING)

    do_resend_failed(communication.pk, by="user:beheer")

    fallback.refresh_from_db()
    assert fallback.status == CommunicationStatus.CANCELLED
    cancelled = TimelineEvent.objects.get(kind=TimelineKind.COMMUNICATION_CANCELLED)
    assert cancelled.data == {"communication_id": fallback.pk, "replaced_by": communication.pk}
    assert "op verzoek van user:beheer" in cancelled.summary


def test_resend_rejected_after_sent_fallback():
    communication = failed_message()
    fallback_of(communication, CommunicationStatus.SENT)

    with pytest.raises(ResendRejected) as raised:
        do_resend_failed(communication.pk, by="user:beheer")

    assert raised.value.code == "resend_superseded"
    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED


def test_resend_rejected_after_stage_revert():
    communication = failed_message(stage_kept=False)

    with pytest.raises(ResendRejected) as raised:
        do_resend_failed(communication.pk, by="user:beheer")

    assert raised.value.code == "resend_stage_reverted"
    assert not TimelineEvent.objects.exists()


def test_resend_rejected_when_not_failed():
    communication = failed_message()
    Communication.objects.filter(pk=communication.pk).update(status=CommunicationStatus.SENT)

    with pytest.raises(ResendRejected) as raised:
        do_resend_failed(communication.pk, by="user:beheer")

    assert raised.value.code == "resend_not_failed"


def test_resend_rejection_shown_in_admin(client, superuser):
    communication = failed_message(stage_kept=False)

    page = post_resend(client, superuser, communication)

    text = page.content.decode()
    assert f"De facturen van bericht {communication.pk} zijn na de fout teruggezet" in text
    assert "Geen bericht opnieuw in de berichtenmap gezet." in text


def test_resend_only_own_creditors(client):
    own = failed_message("eigen")
    other = failed_message("ander")
    user = User.objects.create_user("anna", "anna@example.nl", "geheim-wachtwoord", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="outbox", codename__in=["view_communication", "change_communication"],
    ))
    do_grant_creditor_access(own.creditor, user, by="test")

    post_resend(client, user, own)
    post_resend(client, user, other)

    own.refresh_from_db()
    other.refresh_from_db()
    assert own.status == CommunicationStatus.PENDING
    assert other.status == CommunicationStatus.FAILED


def test_resend_needs_change_permission(client):
    communication = failed_message()
    user = User.objects.create_user("kijker", "kijker@example.nl", "geheim-wachtwoord", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="outbox", codename="view_communication"))
    do_grant_creditor_access(communication.creditor, user, by="test")

    post_resend(client, user, communication)

    communication.refresh_from_db()
    assert communication.status == CommunicationStatus.FAILED


@pytest.mark.parametrize(("language", "reason"), [
    ("nl", "verbinden met de mailserver mislukte: de verbinding werd geweigerd (ECONNREFUSED)"),
    ("en", "connecting to the mail server failed: the connection was refused (ECONNREFUSED)"),
])
def test_admin_failure_reason_plain(client, superuser, language, reason):
    failed_message()
    client.force_login(superuser)

    page = client.get(reverse(CHANGELIST), HTTP_ACCEPT_LANGUAGE=language)

    text = page.content.decode()
    assert reason in text
    assert "Errno" not in text
