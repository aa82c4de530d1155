"""Embedded TrueType fonts for letters, covering € and Dutch accents.

Print shops expect embedded fonts, and the base-14 PDF fonts are not
embedded. Letters therefore use a TrueType font: the one set in
BETAALREIS_LETTER_FONT (and _BOLD), else DejaVu Sans where the system has
it, else Bitstream Vera, which ships with ReportLab. Vera has € and the
accented letters of Dutch (ë, ï, é) but lacks the "ĳ" ligature and Central
European letters such as "ő". DejaVu Sans has all of these.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import reportlab
from django.conf import settings
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from betaalreis.errors import ConfigurationError

logger = logging.getLogger(__name__)

_REPORTLAB_FONTS = Path(reportlab.__file__).resolve().parent / "fonts"

_CANDIDATES = (
    (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
     Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")),
    (_REPORTLAB_FONTS / "Vera.ttf", _REPORTLAB_FONTS / "VeraBd.ttf"),
)


_SPACES = re.compile(r" {2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" +(?=[,.;:!?)])")
# Bidirectional classes of right-to-left letters (Hebrew, Arabic). ReportLab
# draws them left to right and unshaped without a shaping engine, which is not installed,
# so such a name would be unreadable.
_RIGHT_TO_LEFT = {"R", "AL"}


class _CachedFlate:
    """ReportLab's FlateDecode stream filter, with the output kept for the last few inputs.

    Letters embed the same font subsets again and again, and compressing
    one (35 KB of DejaVu Sans) costs about 1 ms of CPU time. The content is
    the key, so a changed subset is compressed anew.
    """

    pdfname = "FlateDecode"

    def __init__(self) -> None:
        # One filter serves the regular and the bold face.
        self.encode = lru_cache(maxsize=2 * _CACHED_SUBSETS)(pdfdoc.PDFZCompress.encode)

    def decode(self, encoded: bytes) -> bytes:
        return pdfdoc.PDFZCompress.decode(encoded)


# Font subsets kept per font face. Letters of one creditor and language
# mostly use the same characters in the same order, so a few cover them.
_CACHED_SUBSETS = 16
_CACHED_FLATE = _CachedFlate()


class _LetterFont(TTFont):
    """A TrueType font that leaves out characters it has no glyph for.

    ReportLab draws such a character, an emoji in a debtor's name for
    example, as an empty box. This font drops it, from the drawn text and
    from the width that line breaking measures, so both agree.

    The font also keeps its last subsets, built and compressed, because
    building the subset and compressing it took about a sixth of a letter's
    CPU time. ReportLab numbers a document's characters in the order of
    first use, after ASCII, so equal subsets give equal font files.
    """

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        face = self.face
        make_subset = face.makeSubset
        add_subset_objects = face.addSubsetObjects

        @lru_cache(maxsize=_CACHED_SUBSETS)
        def cached_subset(codes: tuple[int, ...]) -> bytes:
            return make_subset(list(codes))

        def make_cached_subset(subset: list[int]) -> bytes:
            return cached_subset(tuple(subset))

        def add_cached_subset_objects(doc: pdfdoc.PDFDocument, font_name: str, subset: list[int]) -> object:
            descriptor = add_subset_objects(doc, font_name, subset)
            # The name under which TTFontFace.addSubsetObjects registers the font file (ReportLab 5.1).
            stream = doc.idToObject.get(f"fontFile:{face.filename}({font_name})")
            if isinstance(stream, pdfdoc.PDFStream) and stream.filters == [pdfdoc.PDFZCompress]:
                stream.filters = [_CACHED_FLATE]
            return descriptor

        # Instance attributes replace the face's methods for this font only.
        face.makeSubset = make_cached_subset
        face.addSubsetObjects = add_cached_subset_objects
        self._draws_ascii = all(code in face.charToGlyph for code in range(0x20, 0x7F))

    @property
    def draws_ascii(self) -> bool:
        """Whether the font draws every printable ASCII character."""
        return self._draws_ascii

    def printable(self, text: str) -> str:
        """Return `text` without the characters this font cannot draw."""
        # Line breaking measures every word, nearly always plain ASCII.
        if text.isascii() and text.isprintable() and self._draws_ascii:
            return text
        glyphs = self.face.charToGlyph
        if all(ord(character) in glyphs or character in " \xa0\n" for character in text):
            return text
        drawable = "".join(character for character in text if ord(character) in glyphs or character in " \xa0\n")
        return _SPACE_BEFORE_PUNCTUATION.sub("", _SPACES.sub(" ", drawable))

    def unprintable_letters(self, text: str) -> str:
        """Return the letters and digits of `text` that this font cannot draw readably."""
        # Most names and addresses are ASCII, and the planner checks one per consumer 14-day letter.
        if text.isascii() and self._draws_ascii:
            return ""
        glyphs = self.face.charToGlyph
        return "".join(
            character
            for character in text
            if unicodedata.category(character)[0] in "LN"
            and (ord(character) not in glyphs or unicodedata.bidirectional(character) in _RIGHT_TO_LEFT)
        )

    def splitString(self, text: str, doc: object, encoding: str = "utf-8") -> list[tuple[int, bytes]]:
        if isinstance(text, bytes):
            text = text.decode(encoding)
        return super().splitString(self.printable(text), doc, encoding)

    def stringWidth(self, text: str, size: float, encoding: str = "utf-8") -> float:
        if isinstance(text, bytes):
            text = text.decode(encoding)
        return super().stringWidth(self.printable(text), size, encoding)


@dataclass(frozen=True, slots=True)
class LetterFonts:
    regular: str
    bold: str


def _configured_paths() -> tuple[Path, Path] | None:
    regular = getattr(settings, "BETAALREIS_LETTER_FONT", "")
    bold = getattr(settings, "BETAALREIS_LETTER_FONT_BOLD", "") or regular
    if not regular:
        return None
    paths = (Path(regular), Path(bold))
    for path in paths:
        if not path.is_file():
            raise ConfigurationError(
                f"Letter font {path} does not exist; set BETAALREIS_LETTER_FONT to a TrueType file "
                "or leave it empty for the built-in font.",
                code="letter_font_missing",
            )
    return paths


@lru_cache(maxsize=4)
def _register(regular: str, bold: str) -> LetterFonts:
    names = LetterFonts(regular=f"Letter-{Path(regular).stem}", bold=f"Letter-{Path(bold).stem}-Bold")
    pdfmetrics.registerFont(_LetterFont(names.regular, regular))
    pdfmetrics.registerFont(_LetterFont(names.bold, bold))
    pdfmetrics.registerFontFamily(names.regular, normal=names.regular, bold=names.bold,
                                  italic=names.regular, boldItalic=names.bold)
    logger.info("letter fonts registered", extra={"font": regular})
    return names


def letter_fonts() -> LetterFonts:
    """Register the letter fonts with ReportLab once and return their names."""
    paths = _configured_paths()
    if paths is None:
        paths = next(
            (pair for pair in _CANDIDATES if pair[0].is_file() and pair[1].is_file()),
            _CANDIDATES[-1],
        )
    return _register(str(paths[0]), str(paths[1]))
