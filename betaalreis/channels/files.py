"""The file outbox: one file per message under settings.OUTBOX_DIR.

Layout: `<OUTBOX_DIR>/<channel>/<creditor slug>/<YYYY-MM-DD>/<key>.<ext>`,
where the date is the message date and `<key>` the idempotency key made
safe for file names. A file is written under a temporary name and then
hard-linked to its final name, which fails when the name exists: two
dispatchers racing on one key leave exactly one file, and a readable file
is always complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from betaalreis.channels.base import OutgoingMessage

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_key(key: str) -> str:
    """Return `key` as a file name: unsafe characters become "_" plus a hash of the original.

    The hash keeps two keys apart that differ only in replaced characters.
    """
    safe = _UNSAFE.sub("_", key)
    if safe != key or not safe or safe.startswith("."):
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        safe = f"{safe.lstrip('.')[:150]}-{digest}"
    return safe


def message_date(message: OutgoingMessage) -> dt.date:
    """Return the date a message belongs to: its `date` metadata, else today in Amsterdam."""
    value = message.metadata.get("date")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        return dt.date.fromisoformat(value)
    return timezone.localdate()


def outbox_path(message: OutgoingMessage, extension: str, *, folder: str = "") -> Path:
    """Return where the file outbox keeps `message`: under its channel, or `folder` when given."""
    root = Path(settings.OUTBOX_DIR) / (folder or message.channel)
    day = message_date(message).isoformat()
    return root / safe_key(message.creditor_slug) / day / f"{safe_key(message.idempotency_key)}.{extension}"


def relative_to_outbox(path: Path) -> str:
    return str(path.relative_to(Path(settings.OUTBOX_DIR)))


def write_once(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless the file exists; return whether this call wrote it."""
    if path.exists():
        return False

    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        try:
            os.link(temporary, path)
        except FileExistsError:
            logger.info("outbox file already written by another sender", extra={"path": str(path)})
            return False
    finally:
        os.unlink(temporary)
    return True


def written_at(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)
