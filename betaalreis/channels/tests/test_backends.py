"""The channel adapters: file outbox per channel, and email over a real SMTP server."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from betaalreis.channels.backends.email import DjangoEmailBackend, FileEmailBackend, message_id_for
from betaalreis.channels.backends.letter import FileLetterBackend
from betaalreis.channels.backends.phone import FileCallTaskBackend
from betaalreis.channels.backends.sms import FileSmsBackend
from betaalreis.channels.base import ChannelError, get_backend
from betaalreis.channels.files import safe_key
from betaalreis.channels.render import render_message
from betaalreis.ledger.models import Creditor, Debtor

REJECTED = "rejected@example.nl"


def outbox_files(outbox: Path) -> list[Path]:
    return sorted(path for path in outbox.rglob("*") if path.is_file())


def parse_eml(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


class RecordingHandler:
    """An SMTP handler that keeps every message and rejects one address with 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201
        if address == REJECTED:
            return "550 5.1.1 Mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def ledger_rows(db, creditor_info, debtor_info) -> None:
    """The creditor and debtor of `make_context`, which DjangoEmailBackend names in its Delivery rows and logs."""
    creditor = Creditor.objects.create(
        slug=creditor_info.slug, legal_name=creditor_info.legal_name, iban=creditor_info.iban
    )
    Debtor.objects.create(
        pk=debtor_info.id, creditor=creditor, customer_number=debtor_info.customer_number,
        name=debtor_info.name, email=debtor_info.email,
    )


@pytest.fixture
def smtp_server(settings, ledger_rows) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.DEFAULT_FROM_EMAIL = "noreply@betaalreis.example"
    try:
        yield handler
    finally:
        controller.stop()


def test_configured_backends(settings) -> None:
    assert isinstance(get_backend("email"), FileEmailBackend)
    assert isinstance(get_backend("sms"), FileSmsBackend)
    assert isinstance(get_backend("letter"), FileLetterBackend)
    assert isinstance(get_backend("phone"), FileCallTaskBackend)


def test_file_email_written_as_eml(make_context, settings) -> None:
    message = render_message(make_context(stage_code="final_notice", attach_letter=True), "email")

    result = FileEmailBackend().send(message)

    path = Path(settings.OUTBOX_DIR) / result.provider_reference
    assert path.parent == Path(settings.OUTBOX_DIR) / "email" / "bakkerij-zoet" / "2026-12-04"
    assert path.name == f"{safe_key(message.idempotency_key)}.eml"
    parsed = parse_eml(path.read_bytes())
    assert parsed["Message-ID"] == message_id_for(message)
    assert parsed["To"] == "zoe@example.nl"
    assert parsed["Subject"] == message.subject
    assert parsed.get_body(("plain",)).get_content().startswith("Beste Zoë")
    assert make_context().portal_url in parsed.get_body(("html",)).get_content()
    attachments = list(parsed.iter_attachments())
    assert [part.get_content_type() for part in attachments] == ["application/pdf"]


def test_file_email_second_send_writes_nothing(make_context, settings) -> None:
    backend = FileEmailBackend()
    message = render_message(make_context(), "email")
    first = backend.send(message)
    files = outbox_files(Path(settings.OUTBOX_DIR))
    contents = [path.read_bytes() for path in files]

    second = backend.send(message)

    assert second == first
    assert outbox_files(Path(settings.OUTBOX_DIR)) == files
    assert [path.read_bytes() for path in files] == contents


def test_email_logo_inline(make_context, creditor_info, betaalreis_home: Path) -> None:
    # The smallest valid PNG: one transparent pixel.
    logo = betaalreis_home / "logo.png"
    logo.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001"
        "0d0a2db40000000049454e44ae426082"
    ))
    context = make_context(creditor=dataclasses.replace(creditor_info, logo_path="logo.png"))
    message = render_message(context, "email")

    result = FileEmailBackend().send(message)

    parsed = parse_eml((betaalreis_home / "outbox" / result.provider_reference).read_bytes())
    assert 'src="cid:logo"' in message.html
    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    assert images[0]["Content-ID"] == "<logo>"


def test_smtp_delivery_parsed(make_context, smtp_server: RecordingHandler) -> None:
    context = make_context(stage_code="fourteen_day_letter", attach_letter=True)
    message = render_message(context, "email")

    result = DjangoEmailBackend().send(message)

    assert len(smtp_server.messages) == 1
    mail_from, recipients, data = smtp_server.messages[0]
    assert mail_from == "noreply@betaalreis.example"
    assert recipients == ["zoe@example.nl", "boekhouding@example.nl"]
    parsed = parse_eml(data)
    assert parsed["From"] == "Bakkerij Zoet <noreply@betaalreis.example>"
    assert parsed["Reply-To"] == "debiteuren@bakkerijzoet.example"
    assert parsed["Message-ID"] == result.provider_reference
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    assert "binnen veertien dagen na de dag waarop u deze brief heeft ontvangen" in text
    assert context.portal_url in text
    assert f'href="{context.portal_url}"' in html
    attachments = list(parsed.iter_attachments())
    assert len(attachments) == 1
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_filename() == "fourteen_day_letter-K-1001.pdf"
    assert attachments[0].get_content().startswith(b"%PDF")


def test_smtp_second_send_is_noop(make_context, smtp_server: RecordingHandler) -> None:
    backend = DjangoEmailBackend()
    message = render_message(make_context(), "email")
    first = backend.send(message)

    second = backend.send(message)

    assert second == first
    assert len(smtp_server.messages) == 1


def test_smtp_rejection_is_permanent(make_context, debtor_info, smtp_server: RecordingHandler) -> None:
    debtor = dataclasses.replace(debtor_info, email=REJECTED, extra_emails=())
    message = render_message(make_context(debtor=debtor), "email")

    with pytest.raises(ChannelError) as raised:
        DjangoEmailBackend().send(message)

    assert raised.value.permanent is True
    assert smtp_server.messages == []


def test_smtp_server_down_is_temporary(make_context, settings, ledger_rows) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.EMAIL_TIMEOUT = 5

    with pytest.raises(ChannelError) as raised:
        DjangoEmailBackend().send(render_message(make_context(), "email"))

    assert raised.value.permanent is False


def test_sms_json(make_context, settings) -> None:
    message = render_message(make_context(stage_code="friendly_reminder"), "sms")

    result = FileSmsBackend().send(message)

    path = Path(settings.OUTBOX_DIR) / result.provider_reference
    assert path.parent == Path(settings.OUTBOX_DIR) / "sms" / "bakkerij-zoet" / "2026-12-04"
    stored = json.loads(path.read_text(encoding="utf-8"))
    assert stored["to"] == "+31612345678"
    assert stored["text"] == message.text
    assert stored["encoding"] == "GSM-7"
    assert stored["segments"] == 2
    assert stored["units"] == len(message.text) + message.text.count("€")
    assert result.segments == 2


def test_sms_second_send_writes_nothing(make_context, settings) -> None:
    backend = FileSmsBackend()
    message = render_message(make_context(), "sms")
    first = backend.send(message)
    files = outbox_files(Path(settings.OUTBOX_DIR))

    assert backend.send(message) == first
    assert outbox_files(Path(settings.OUTBOX_DIR)) == files


def test_letter_pdf_written(make_context, settings) -> None:
    message = render_message(make_context(), "letter")

    result = FileLetterBackend().send(message)

    path = Path(settings.OUTBOX_DIR) / result.provider_reference
    assert path.parent == Path(settings.OUTBOX_DIR) / "letter" / "bakkerij-zoet" / "2026-12-04"
    assert path.read_bytes() == message.attachments[0].content
    assert FileLetterBackend().send(message) == result
    assert len(outbox_files(Path(settings.OUTBOX_DIR))) == 1


def test_call_task_written(make_context, settings) -> None:
    message = render_message(make_context(stage_code="call_task"), "phone")

    result = FileCallTaskBackend().send(message)

    path = Path(settings.OUTBOX_DIR) / result.provider_reference
    assert path.parent == Path(settings.OUTBOX_DIR) / "phone" / "bakkerij-zoet" / "2026-12-04"
    task = json.loads(path.read_text(encoding="utf-8"))
    assert task["debtor"]["customer_number"] == "K-1001"
    assert task["amount"] == "1659.56"
    assert task["phone_numbers"] == ["+31301234567", "+31612345678"]
    assert task["reason"]
    assert len(task["script"]) >= 3
    assert FileCallTaskBackend().send(message) == result


def test_unsafe_key_becomes_file_name() -> None:
    assert safe_key("acme:42:reminder:email:2026-12-04") != safe_key("acme_42_reminder_email_2026-12-04")
    assert "/" not in safe_key("../../etc/passwd")
    assert not safe_key("../../etc/passwd").startswith(".")


def test_letter_without_pdf_is_rejected(make_context) -> None:
    message = render_message(make_context(), "letter")
    bare = dataclasses.replace(message, attachments=())

    with pytest.raises(ChannelError) as raised:
        FileLetterBackend().send(bare)

    assert raised.value.permanent is True


def test_racing_senders_write_one_file(make_context, settings) -> None:
    message = render_message(make_context(), "email")
    barrier = threading.Barrier(4)
    results = []

    def send() -> None:
        barrier.wait()
        results.append(FileEmailBackend().send(message))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    files = outbox_files(Path(settings.OUTBOX_DIR))
    assert len(files) == 1
    assert not files[0].name.startswith(".tmp-")
    assert len({result.provider_reference for result in results}) == 1


def test_held_letter_filed_under_send_day(make_context, settings) -> None:
    planned_on = dt.date(2026, 11, 29)
    message = render_message(make_context(planned_on=planned_on), "letter")

    result = FileLetterBackend().send(message)

    path = Path(settings.OUTBOX_DIR) / result.provider_reference
    assert path.parent == Path(settings.OUTBOX_DIR) / "letter" / "bakkerij-zoet" / "2026-12-04"


def test_retry_on_later_day_finds_first_file(make_context, settings) -> None:
    planned_on = dt.date(2026, 11, 29)
    first = FileLetterBackend().send(
        render_message(make_context(planned_on=planned_on, date=dt.date(2026, 11, 30)), "letter")
    )

    retry = FileLetterBackend().send(render_message(make_context(planned_on=planned_on), "letter"))

    assert retry.provider_reference == first.provider_reference
    assert "/2026-11-30/" in first.provider_reference
    assert len(outbox_files(Path(settings.OUTBOX_DIR))) == 1


@pytest.mark.django_db
def test_sign_in_code_email_date_amsterdam(betaalreis_home: Path) -> None:
    from zoneinfo import ZoneInfo

    from betaalreis.portal.codes import send_sign_in_code
    from betaalreis.testing import make_creditor, make_debtor

    debtor = make_debtor(make_creditor())

    send_sign_in_code(debtor, "email")

    (path,) = outbox_files(betaalreis_home / "outbox")
    date_header = parse_eml(path.read_bytes())["Date"]
    sent = date_header.datetime
    assert not str(date_header).endswith("-0000"), str(date_header)
    assert sent.utcoffset() == sent.astimezone(ZoneInfo("Europe/Amsterdam")).utcoffset()
    assert sent.utcoffset() in (dt.timedelta(hours=1), dt.timedelta(hours=2))


def test_email_date_header_from_sent_at(make_context, settings) -> None:
    message = render_message(make_context(), "email")
    message.metadata["sent_at"] = "2026-12-04T09:00:00+01:00"

    result = FileEmailBackend().send(message)

    parsed = parse_eml((Path(settings.OUTBOX_DIR) / result.provider_reference).read_bytes())
    assert parsed["Date"] == "Fri, 04 Dec 2026 09:00:00 +0100"
