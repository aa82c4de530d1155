"""Call tasks to the file outbox: one JSON task per debtor for an agent to call."""

from __future__ import annotations

import json
import logging

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.files import outbox_path, relative_to_outbox, write_once, written_at

logger = logging.getLogger(__name__)


class FileCallTaskBackend(ChannelBackend):
    """Writes each call task as JSON to `$OUTBOX_DIR/phone/<creditor>/<date>/<key>.json`.

    The task is the `call_task` entry that `render_message` puts in the
    message metadata: debtor, phone numbers, amount, invoices, reason,
    script lines and the portal link.
    """

    channel = "phone"
    provider = "file"
    reaches_debtor = False

    def send(self, message: OutgoingMessage) -> SendResult:
        task = message.metadata.get("call_task")
        if not isinstance(task, dict):
            raise ChannelError(
                "Phone message has no call_task in its metadata; render it with render_message.",
                permanent=True,
                code="call_task_missing",
            )

        document = {"idempotency_key": message.idempotency_key, "date": message.metadata.get("date"), **task}
        data = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8")
        path = outbox_path(message, "json")
        sent_at = write_once(path, data)
        if sent_at is not None:
            logger.info("call task written to outbox", extra={"debtor_id": message.debtor_id})
        else:
            sent_at = written_at(path)
        return SendResult(provider=self.provider, provider_reference=relative_to_outbox(path),
                          sent_at=sent_at)
