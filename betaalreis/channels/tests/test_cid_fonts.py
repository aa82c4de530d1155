"""Why letters do not print Chinese, Japanese or Korean names in ReportLab's CID fonts.

ReportLab's `UnicodeCIDFont` needs no font file, and a name drawn in one
reads back from the PDF text. But ReportLab does not embed these fonts, so
the printed page depends on fonts the printer may lack. These tests check
both facts. If a ReportLab release starts to embed them, the embedding test
fails, and the letter font could then fall back to a CID font for these names.
"""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from betaalreis.channels.pdf.letter import unprintable_letters

NAMES = [
    ("STSong-Light", "李小龙"),
    ("MSung-Light", "李小龍"),
    ("HeiseiMin-W3", "山田太郎"),
    ("HYSMyeongJo-Medium", "김민준"),
]


def cid_pdf(font: str, text: str) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.setFont(font, 12)
    canvas.drawString(72, 700, text)
    canvas.save()
    return buffer.getvalue()


@pytest.mark.parametrize(("font", "name"), NAMES)
def test_cid_name_reads_back(font: str, name: str) -> None:
    pdf = cid_pdf(font, f"{name} Jansen")

    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()

    assert text.strip() == f"{name} Jansen"


@pytest.mark.parametrize(("font", "name"), NAMES)
def test_cid_font_not_embedded(font: str, name: str) -> None:
    pdf = cid_pdf(font, name)

    assert b"/FontFile" not in pdf


@pytest.mark.parametrize("name", [name for _font, name in NAMES])
def test_letter_font_lacks_cjk(name: str) -> None:
    # With the default letter font these names stay unprintable, so the
    # planner turns a consumer's 14-day letter to them into a task.
    assert unprintable_letters([name]) == name
