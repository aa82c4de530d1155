"""Creditor logos: uploaded PNG or JPEG files kept under MEDIA_ROOT/logos.

The portal serves a creditor's logo to anyone, so only a file in the logos
folder of the media root is ever read as a logo. The admin uploads it
there, and `creditor add` and `creditor load` copy the file they are given
there. Every logo is checked to be a PNG or JPEG image that Pillow can read,
of at most MAX_LOGO_BYTES and MAX_LOGO_SIDE pixels a side.
"""

from __future__ import annotations

import io
import logging
import secrets
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext
from PIL import Image, UnidentifiedImageError

logger = logging.getLogger(__name__)

LOGOS_FOLDER = "logos"
MAX_LOGO_BYTES = 1024 * 1024
# Letters draw the logo 60 x 20 mm and e-mails at most 240 px wide, so a
# larger image only costs memory when Pillow or ReportLab decodes it.
MAX_LOGO_SIDE = 4000

# Content type and file extension of each accepted logo format, by Pillow's format name.
LOGO_FORMATS = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg")}
_MAGIC = {b"\x89PNG\r\n\x1a\n": "PNG", b"\xff\xd8\xff": "JPEG"}


def logo_format(stream: IO[bytes]) -> str:
    """Check that `stream` is a PNG or JPEG logo of sane size, and return its format ("PNG" or "JPEG").

    Raises ValidationError in the active language, with code logo_too_large,
    logo_type or logo_dimensions. The stream is read from its start and
    left at its start.
    """
    stream.seek(0)
    data = stream.read(MAX_LOGO_BYTES + 1)
    stream.seek(0)
    if len(data) > MAX_LOGO_BYTES:
        raise ValidationError(
            gettext("Het logo is groter dan 1 MB. Verklein het bestand en probeer het opnieuw."),
            code="logo_too_large",
        )

    expected = next((name for magic, name in _MAGIC.items() if data.startswith(magic)), None)
    not_an_image = ValidationError(
        gettext("Het logo is geen PNG- of JPEG-afbeelding. Kies een PNG- of JPEG-bestand."),
        code="logo_type",
    )
    if expected is None:
        raise not_an_image
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            image_format, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        # Pillow raises SyntaxError and ValueError too for some damaged files.
        raise not_an_image from None
    if image_format != expected:
        raise not_an_image

    if width > MAX_LOGO_SIDE or height > MAX_LOGO_SIDE:
        raise ValidationError(
            gettext(
                "Het logo is %(width)d bij %(height)d pixels; het mag ten hoogste %(maximum)d pixels breed "
                "en hoog zijn. Verklein de afbeelding en probeer het opnieuw."
            ) % {"width": width, "height": height, "maximum": MAX_LOGO_SIDE},
            code="logo_dimensions",
        )
    return expected


def validate_logo(upload: File) -> None:
    """Validate a newly uploaded logo: a PNG or JPEG image of sane size (see `logo_format`)."""
    logo_format(upload)


def logo_upload_path(instance: object, filename: str) -> str:
    """Return the storage name of a logo uploaded in the admin."""
    extension = Path(filename).suffix.lower()
    return _logo_name(getattr(instance, "slug", ""), extension if extension in {".png", ".jpg", ".jpeg"} else "")


def _logo_name(slug: str, extension: str) -> str:
    """Return a storage name in the logos folder, with a random part so that no name can be guessed."""
    return f"{LOGOS_FOLDER}/{slug or 'creditor'}-{secrets.token_hex(8)}{extension}"


def stored_logo_path(name: str) -> Path | None:
    """Return the file of a stored logo name, or None when it is missing or lies outside MEDIA_ROOT/logos.

    The path is resolved with symbolic links followed before the check, so a
    link in the logos folder cannot point at another file.
    """
    if not name:
        return None
    logos_root = (Path(settings.MEDIA_ROOT) / LOGOS_FOLDER).resolve()
    path = (Path(settings.MEDIA_ROOT) / name).resolve()
    if not path.is_relative_to(logos_root) or not path.is_file():
        return None
    return path


def logo_content_type(path: Path) -> str | None:
    """Return the content type of a PNG or JPEG file from its first bytes, or None for any other file."""
    with path.open("rb") as handle:
        head = handle.read(8)
    name = next((name for magic, name in _MAGIC.items() if head.startswith(magic)), None)
    return LOGO_FORMATS[name][0] if name else None


def store_logo_file(source: Path, slug: str) -> str:
    """Copy a checked PNG or JPEG file into MEDIA_ROOT/logos and return its storage name.

    Raises ValidationError as `logo_format` does, and OSError when the file
    cannot be read.
    """
    with source.open("rb") as handle:
        image_format = logo_format(handle)
        extension = LOGO_FORMATS[image_format][1]
        stored = default_storage.save(_logo_name(slug, extension), File(handle))
    logger.info("creditor logo stored", extra={"creditor_slug": slug, "logo": stored})
    return stored
