"""SMS to the file outbox: one JSON file per message with its encoding and parts."""

from __future__ import annotations

import json
import logging

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.files import outbox_path, relative_to_outbox, write_once, written_at
from betaalreis.channels.gsm import measure_sms

logger = logging.getLogger(__name__)


class FileSmsBackend(ChannelBackend):
    """Writes each SMS as JSON to `$OUTBOX_DIR/sms/<creditor>/<date>/<key>.json`."""

    channel = "sms"
    provider = "file"
    reaches_debtor = False

    def send(self, message: OutgoingMessage) -> SendResult:
        if not message.recipient:
            raise ChannelError("SMS has no recipient number.", permanent=True, code="missing_recipient")

        path = outbox_path(message, "json")
        measured = measure_sms(message.text)
        document = {
            "idempotency_key": message.idempotency_key,
            "creditor": message.creditor_slug,
            "debtor_id": message.debtor_id,
            "to": message.recipient,
            "sender": message.sender_name,
            "language": message.language,
            "text": message.text,
            "encoding": measured.encoding,
            "units": measured.units,
            "segments": measured.segments,
            "metadata": message.metadata,
        }
        data = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")

        segments = measured.segments
        sent_at = write_once(path, data)
        if sent_at is not None:
            logger.info("sms written to outbox", extra={"debtor_id": message.debtor_id, "segments": segments})
        else:
            # Sent before: report the parts of the stored message, not of this render.
            segments = int(json.loads(path.read_bytes()).get("segments", segments))
            sent_at = written_at(path)

        return SendResult(provider=self.provider, provider_reference=relative_to_outbox(path),
                          sent_at=sent_at, segments=segments)
