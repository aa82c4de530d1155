"""SMS encoding and segment count per GSM 03.38.

A text whose characters all appear in the GSM 7-bit default alphabet (or
its extension table) goes out as GSM-7. That allows 160 septets in one
message and 153 per part when concatenated. Every extension character
costs two septets because it is sent as ESC plus a code. Any other
character switches the whole message to UCS-2, with 70 UTF-16 code units
in one message and 67 per part.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# The default alphabet in code order 0x00-0x7F; "\x1b" (ESC) leads into the
# extension table and is not a character of its own.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXTENSION = frozenset(GSM7_EXTENSION)

GSM7_SINGLE = 160
GSM7_PART = 153
UCS2_SINGLE = 70
UCS2_PART = 67

# Typographic characters that word processors and translators put in text,
# with the plain GSM-7 character that reads the same.
_PUNCTUATION = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2010": "-", "\u2011": "-",
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\t": " ",
}


@dataclass(frozen=True, slots=True)
class SmsEncoding:
    """Encoding of one SMS text, with its length in units and its number of parts."""

    encoding: str
    units: int
    segments: int


def is_gsm7(text: str) -> bool:
    return all(char in _BASIC or char in _EXTENSION for char in text)


def _char_units(text: str, gsm7: bool) -> list[int]:
    if gsm7:
        return [2 if char in _EXTENSION else 1 for char in text]
    # UCS-2 as phones send it is UTF-16: a character outside the BMP (most
    # emoji) takes a surrogate pair, which never splits across parts.
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _count_parts(units: list[int], part_size: int) -> int:
    parts = 1
    used = 0
    for size in units:
        if used + size > part_size:
            parts += 1
            used = 0
        used += size
    return parts


def measure_sms(text: str) -> SmsEncoding:
    """Return the encoding, length and number of parts `text` needs as an SMS.

    Parts are filled greedily the way handsets split them: an escape pair
    or a surrogate pair moves whole to the next part instead of splitting.
    """
    gsm7 = is_gsm7(text)
    units = _char_units(text, gsm7)
    total = sum(units)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm7 else (UCS2_SINGLE, UCS2_PART)

    if total <= single:
        segments = 1 if total else 0
    else:
        segments = _count_parts(units, part)

    return SmsEncoding(encoding="GSM-7" if gsm7 else "UCS-2", units=total, segments=segments)


def to_gsm7(text: str) -> str:
    """Replace characters outside GSM-7 by the nearest GSM-7 text where one exists.

    Curly quotes and dashes become their plain forms, and a letter with an
    accent GSM-7 lacks (ë, ï, ê, á) loses the accent. Characters with no such
    stand-in (emoji, other scripts) stay, so the message then goes as UCS-2.
    """
    result = []
    for char in text:
        if char in _BASIC or char in _EXTENSION:
            result.append(char)
            continue

        replacement = _PUNCTUATION.get(char)
        if replacement is not None:
            result.append(replacement)
            continue

        # NFKD splits "ë" into "e" plus a combining mark and "ĳ" into "ij".
        decomposed = unicodedata.normalize("NFKD", char)
        plain = "".join(part for part in decomposed if not unicodedata.combining(part))
        result.append(plain if plain and is_gsm7(plain) else char)
    return "".join(result)
