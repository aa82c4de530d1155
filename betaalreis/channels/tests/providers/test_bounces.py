"""Bounce emails for SMTP mail: sent through a real SMTP server, bounced
back with hand-written Postfix and Exchange delivery status notifications
in a Maildir, and read by `betaalreis read_bounces`."""

from __future__ import annotations

import io
import mailbox
import smtplib
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from django.core.management import call_command
from django.core.management.base import CommandError

from betaalreis.channels.backends.email import DjangoEmailBackend
from betaalreis.channels.bounces import bounce_address, delivery_id_from_bounce_address, read_maildir
from betaalreis.channels.models import Delivery, DeliveryEvent, DeliveryStatus, InvalidAddress
from betaalreis.channels.providers import EmailRouter
from betaalreis.channels.tests.fakes.email import SmtpServer, free_port
from betaalreis.channels.tests.providers.conftest import message_for
from betaalreis.ledger.models import TimelineEvent, TimelineKind
from betaalreis.outbox.models import Communication

SAMPLES = Path(__file__).parent / "bounces"
BOUNCE_DOMAIN = "bounce.acme.nl"


@pytest.fixture
def smtp(provider_settings, creditor):
    server = SmtpServer().start()
    provider_settings.BETAALREIS_PROVIDERS = {"acme": {"email": {
        "provider": "smtp", "host": "127.0.0.1", "port": server.port, "from_email": "debiteuren@acme.nl",
        "bounce_domain": BOUNCE_DOMAIN,
    }}}
    yield server
    server.stop()


@pytest.fixture
def maildir(tmp_path) -> Path:
    path = tmp_path / "bounces"
    mailbox.Maildir(path, create=True)
    return path


def send_email(communication) -> Delivery:
    EmailRouter().send(message_for(communication, subject="Herinnering factuur 2026-0001", text="Beste Jan, ..."))
    return Delivery.objects.get(idempotency_key=communication.idempotency_key)


def sample(name: str, *, bounce_to: str = "", message_id: str = "", recipient: str = "jan@example.nl",
           original: bytes = b"") -> bytes:
    text = (SAMPLES / name).read_text()
    for placeholder, value in (("{bounce_address}", bounce_to), ("{message_id}", message_id),
                               ("{recipient}", recipient), ("{original}", original.decode())):
        text = text.replace(placeholder, value)
    return text.replace("\n", "\r\n").encode()


def drop(maildir: Path, name: str, data: bytes) -> Path:
    path = maildir / "new" / name
    path.write_bytes(data)
    return path


def test_envelope_sender_names_delivery(smtp, make_communication):
    delivery = send_email(make_communication("email"))

    sender = smtp.envelope_senders[0]
    assert sender == bounce_address(delivery.pk, BOUNCE_DOMAIN)
    assert delivery_id_from_bounce_address(sender) == delivery.pk
    assert smtp.messages[0]["From"] == "debiteuren@acme.nl"


def test_bounce_address_forged_tag():
    genuine = bounce_address(41, BOUNCE_DOMAIN)
    forged = genuine.replace("bounces+41-", "bounces+42-")

    assert delivery_id_from_bounce_address(genuine) == 41
    assert delivery_id_from_bounce_address(genuine.upper()) == 41
    assert delivery_id_from_bounce_address(forged) is None
    assert delivery_id_from_bounce_address(f"bounces+41-0000@{BOUNCE_DOMAIN}") is None


def test_postfix_hard_bounce_falls_back(smtp, make_communication, debtor, maildir):
    communication = make_communication("email")
    delivery = send_email(communication)
    dsn = sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference)
    file = drop(maildir, "1796378523.M1P1.mail", dsn)

    summary = read_maildir(maildir)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert delivery.error_code == "5.1.1"
    assert InvalidAddress.objects.filter(debtor=debtor, channel="email", address="jan@example.nl").exists()
    fallback = Communication.objects.exclude(pk=communication.pk).get()
    assert fallback.channel == "letter"
    row = TimelineEvent.objects.get(debtor=debtor, kind=TimelineKind.COMMUNICATION, data__status="bounced")
    assert "5.1.1" in row.summary
    assert not file.exists()
    assert [path.name for path in (maildir / "cur").iterdir()] == ["1796378523.M1P1.mail:2,S"]


def test_bounce_delivered_by_smtp(smtp, make_communication, debtor, tmp_path):
    # The bounce travels like a real one: over SMTP to the envelope sender,
    # into a Maildir written by aiosmtpd's Mailbox handler.
    delivery = send_email(make_communication("email"))
    bounce_to = smtp.envelope_senders[0]
    folder = tmp_path / "bounce-mailbox"
    controller = Controller(Mailbox(folder), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", controller.port) as client:
            client.sendmail("", [bounce_to], sample("postfix_550.eml", bounce_to=bounce_to,
                                                    message_id=delivery.provider_reference))
    finally:
        controller.stop()

    summary = read_maildir(folder)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED


def test_same_dsn_twice_changes_nothing(smtp, make_communication, debtor, maildir):
    communication = make_communication("email")
    delivery = send_email(communication)
    dsn = sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference)
    drop(maildir, "first.mail", dsn)
    read_maildir(maildir)
    timeline_rows = TimelineEvent.objects.filter(debtor=debtor).count()

    drop(maildir, "copy.mail", dsn)
    summary = read_maildir(maildir)

    assert summary.counts == {"duplicate": 1}
    assert DeliveryEvent.objects.filter(delivery=delivery).count() == 1
    assert Communication.objects.exclude(pk=communication.pk).count() == 1
    assert InvalidAddress.objects.filter(debtor=debtor).count() == 1
    assert TimelineEvent.objects.filter(debtor=debtor).count() == timeline_rows


def test_delayed_dsn_is_soft(smtp, make_communication, debtor, maildir):
    communication = make_communication("email")
    delivery = send_email(communication)
    drop(maildir, "delay.mail",
         sample("postfix_delayed.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))

    summary = read_maildir(maildir)

    assert summary.counts == {"soft": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DEFERRED
    assert not InvalidAddress.objects.filter(debtor=debtor).exists()
    assert not Communication.objects.exclude(pk=communication.pk).exists()
    assert TimelineEvent.objects.filter(debtor=debtor, data__status="deferred").count() == 1


def test_exchange_ndr_matched_by_message_id(provider_settings, smtp, make_communication, debtor, maildir):
    # Without a bounce domain the bounce reaches the From address, and only
    # the quoted original's Message-ID names the delivery.
    del provider_settings.BETAALREIS_PROVIDERS["acme"]["email"]["bounce_domain"]
    communication = make_communication("email")
    delivery = send_email(communication)
    assert smtp.envelope_senders[0] == "debiteuren@acme.nl"
    drop(maildir, "ndr.mail", sample("exchange_ndr.eml", original=smtp.messages[0].as_bytes()))

    summary = read_maildir(maildir)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert delivery.error_code == "5.1.10"
    assert InvalidAddress.objects.filter(debtor=debtor, address="jan@example.nl").exists()


def test_django_email_bounce_matched_by_message_id(settings, smtp, make_communication, debtor, maildir):
    # DjangoEmailBackend has no bounce address per message, so the bounce
    # reaches the From address and only the quoted Message-ID names the delivery.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp.port
    settings.DEFAULT_FROM_EMAIL = "debiteuren@acme.nl"
    communication = make_communication("email")
    result = DjangoEmailBackend().send(message_for(communication, subject="Herinnering", text="Beste Jan, ..."))
    assert smtp.envelope_senders == ["debiteuren@acme.nl"]
    delivery = Delivery.objects.get(idempotency_key=communication.idempotency_key)
    assert (delivery.provider, delivery.state) == ("smtp", "accepted")
    assert f"<{delivery.provider_reference}>" == result.provider_reference == smtp.messages[0]["Message-ID"]
    drop(maildir, "ndr.mail", sample("exchange_ndr.eml", original=smtp.messages[0].as_bytes()))

    summary = read_maildir(maildir)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert InvalidAddress.objects.filter(debtor=debtor, address="jan@example.nl").exists()
    fallback = Communication.objects.exclude(pk=communication.pk).get()
    assert fallback.channel == "letter"


def test_django_email_resend_keeps_delivery(settings, smtp, make_communication):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp.port
    communication = make_communication("email")
    message = message_for(communication, subject="Herinnering", text="Beste Jan, ...")
    backend = DjangoEmailBackend()
    backend.send(message)
    accepted_at = Delivery.objects.get().accepted_at

    backend.send(message)

    assert len(smtp.messages) == 1
    delivery = Delivery.objects.get()
    assert delivery.accepted_at == accepted_at
    assert delivery.recipient == "jan@example.nl"


def test_message_id_for_other_recipient(provider_settings, smtp, make_communication, debtor, maildir):
    del provider_settings.BETAALREIS_PROVIDERS["acme"]["email"]["bounce_domain"]
    delivery = send_email(make_communication("email"))
    drop(maildir, "ndr.mail", sample("exchange_ndr.eml", recipient="someone-else@example.nl",
                                     original=smtp.messages[0].as_bytes()))

    summary = read_maildir(maildir)

    assert summary.counts == {"unmatched": 1}
    delivery.refresh_from_db()
    assert delivery.status == ""
    assert not InvalidAddress.objects.exists()
    assert [path.name for path in (maildir / "cur").iterdir()] == ["ndr.mail:2,F"]


def test_forged_bounce_address_unmatched(smtp, make_communication, debtor, maildir):
    delivery = send_email(make_communication("email"))
    forged = f"bounces+{delivery.pk}-{'0' * 20}@{BOUNCE_DOMAIN}"
    drop(maildir, "forged.mail", sample("postfix_550.eml", bounce_to=forged, message_id="unknown@acme.nl"))

    summary = read_maildir(maildir)

    assert summary.counts == {"unmatched": 1}
    delivery.refresh_from_db()
    assert delivery.status == ""
    assert not InvalidAddress.objects.exists()


def test_forged_tag_skips_message_id(smtp, make_communication, debtor, maildir):
    # The quoted Message-ID names a real delivery, but a bounce sent to one
    # of our bounce addresses must prove itself by the tag alone.
    communication = make_communication("email")
    delivery = send_email(communication)
    forged = f"bounces+{delivery.pk}-{'0' * 20}@{BOUNCE_DOMAIN}"
    drop(maildir, "forged.mail", sample("postfix_550.eml", bounce_to=forged, message_id=delivery.provider_reference))

    summary = read_maildir(maildir)

    assert summary.counts == {"unmatched": 1}
    delivery.refresh_from_db()
    assert delivery.status == ""
    assert not DeliveryEvent.objects.exists()
    assert not InvalidAddress.objects.exists()
    assert not Communication.objects.exclude(pk=communication.pk).exists()
    assert [path.name for path in (maildir / "cur").iterdir()] == ["forged.mail:2,F"]


def test_policy_rejection_keeps_address(smtp, make_communication, debtor, maildir):
    communication = make_communication("email")
    delivery = send_email(communication)
    dsn = sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference)
    drop(maildir, "policy.mail", dsn.replace(b"Status: 5.1.1", b"Status: 5.7.1"))

    summary = read_maildir(maildir)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert not InvalidAddress.objects.filter(debtor=debtor).exists()
    assert Communication.objects.exclude(pk=communication.pk).get().channel == "letter"


def test_rewritten_recipient_keeps_address(smtp, make_communication, debtor, maildir):
    # The envelope sender proves the delivery, but the server reports the
    # alias target, so the message fails and the debtor's address stays valid.
    communication = make_communication("email")
    delivery = send_email(communication)
    drop(maildir, "alias.mail", sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0],
                                       message_id=delivery.provider_reference, recipient="j.devries@mailhost.example"))

    summary = read_maildir(maildir)

    assert summary.counts == {"hard": 1}
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.BOUNCED
    assert not InvalidAddress.objects.filter(debtor=debtor).exists()


def test_out_of_office_not_a_bounce(smtp, make_communication, debtor, maildir):
    delivery = send_email(make_communication("email"))
    drop(maildir, "ooo.mail",
         sample("out_of_office.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))

    summary = read_maildir(maildir)

    assert summary.counts == {"not_dsn": 1}
    delivery.refresh_from_db()
    assert delivery.status == ""
    assert not DeliveryEvent.objects.exists()
    assert [path.name for path in (maildir / "cur").iterdir()] == ["ooo.mail:2,"]


def test_command_reads_account_maildir(provider_settings, smtp, make_communication, debtor, maildir):
    provider_settings.BETAALREIS_PROVIDERS["acme"]["email"]["bounce_maildir"] = str(maildir)
    delivery = send_email(make_communication("email"))
    drop(maildir, "bounce.mail",
         sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))
    drop(maildir, "ooo.mail",
         sample("out_of_office.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))
    output = io.StringIO()

    call_command("read_bounces", stdout=output)

    assert output.getvalue().strip() == f"{maildir}: 1 hard bounce(s), 1 not a bounce"
    assert not list((maildir / "new").iterdir())


def test_command_scopes_to_creditor(smtp, make_communication, debtor, maildir):
    from betaalreis.ledger.models import Creditor

    Creditor.objects.create(slug="other", legal_name="Other B.V.", iban="NL91ABNA0417164300")
    delivery = send_email(make_communication("email"))
    drop(maildir, "bounce.mail",
         sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))
    output = io.StringIO()

    call_command("read_bounces", maildir=maildir, creditor="other", stdout=output)

    assert "1 unmatched (flagged)" in output.getvalue()
    delivery.refresh_from_db()
    assert delivery.status == ""


def test_command_without_folder_fails(smtp):
    with pytest.raises(CommandError, match="No bounce folder given"):
        call_command("read_bounces")


def test_mbox_read_twice(smtp, make_communication, debtor, tmp_path):
    delivery = send_email(make_communication("email"))
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    box.add(sample("postfix_550.eml", bounce_to=smtp.envelope_senders[0], message_id=delivery.provider_reference))
    box.flush()
    first, second = io.StringIO(), io.StringIO()

    call_command("read_bounces", mbox=path, stdout=first)
    call_command("read_bounces", mbox=path, stdout=second)

    assert "1 hard bounce(s)" in first.getvalue()
    assert "1 seen before" in second.getvalue()
    assert InvalidAddress.objects.filter(debtor=debtor).count() == 1
