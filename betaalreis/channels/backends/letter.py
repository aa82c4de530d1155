"""Letters to the file outbox: the rendered PDF, ready for a print service."""

from __future__ import annotations

import logging

from betaalreis.channels.base import ChannelBackend, ChannelError, OutgoingMessage, SendResult
from betaalreis.channels.files import outbox_path, relative_to_outbox, write_once, written_at

logger = logging.getLogger(__name__)


class FileLetterBackend(ChannelBackend):
    """Writes each letter's PDF to `$OUTBOX_DIR/letter/<creditor>/<date>/<key>.pdf`."""

    channel = "letter"
    provider = "file"
    reaches_debtor = False

    def send(self, message: OutgoingMessage) -> SendResult:
        pdfs = [attachment for attachment in message.attachments if attachment.mimetype == "application/pdf"]
        if len(pdfs) != 1:
            raise ChannelError(
                f"A letter needs exactly one PDF attachment, got {len(pdfs)}; render it with render_message.",
                permanent=True,
                code="letter_without_pdf",
            )

        path = outbox_path(message, "pdf")
        sent_at = write_once(path, pdfs[0].content)
        if sent_at is not None:
            logger.info("letter written to outbox", extra={"debtor_id": message.debtor_id})
        else:
            sent_at = written_at(path)
        return SendResult(provider=self.provider, provider_reference=relative_to_outbox(path),
                          sent_at=sent_at)
