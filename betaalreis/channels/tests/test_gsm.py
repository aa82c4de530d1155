"""SMS encoding and segment counts against the GSM 03.38 rules."""

from __future__ import annotations

import pytest

from betaalreis.channels.gsm import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, measure_sms, to_gsm7


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        (
            "Herinnering: factuur 2026-0042 (EUR 425,00) staat nog open. "
            "Betaal via https://pay.example.nl/x7K2",
            "GSM-7", 98, 1,
        ),
        ("Herinnering: factuur 2026-0042 (€ 425,00) staat nog open.", "GSM-7", 58, 1),
        ("Uw financiële situatie bespreken? Bel ons.", "UCS-2", 42, 1),
        ("A" * 160, "GSM-7", 160, 1),
        ("A" * 161, "GSM-7", 161, 2),
        ("é" * 160, "GSM-7", 160, 1),
        ("ë" * 70, "UCS-2", 70, 1),
        ("ë" * 71, "UCS-2", 71, 2),
    ],
)
def test_segment_table(text: str, encoding: str, units: int, segments: int) -> None:
    measured = measure_sms(text)

    assert measured.encoding == encoding
    assert measured.units == units
    assert measured.segments == segments


def test_long_gsm7_splits_at_153() -> None:
    assert measure_sms("A" * 306).segments == 2
    assert measure_sms("A" * 307).segments == 3


def test_long_ucs2_splits_at_67() -> None:
    assert measure_sms("ë" * 134).segments == 2
    assert measure_sms("ë" * 135).segments == 3


def test_extension_pair_never_splits() -> None:
    # 152 plain characters then "€": the escape pair does not fit in the
    # first part's last septet and moves whole to the second part.
    text = "A" * 152 + "€" + "A" * 10

    measured = measure_sms(text)

    assert measured.units == 164
    assert measured.segments == 2
    assert measure_sms("A" * 152 + "€" * 77).segments == 3


def test_emoji_counts_two_units() -> None:
    measured = measure_sms("Bedankt 👍")

    assert measured.encoding == "UCS-2"
    assert measured.units == 10


def test_empty_text_has_no_segments() -> None:
    assert measure_sms("").segments == 0


def test_alphabet_sizes() -> None:
    assert len(GSM7_BASIC) == 128
    assert set(GSM7_EXTENSION) == set("\f^{}\\[~]|€")


def test_to_gsm7_keeps_gsm_accents() -> None:
    assert to_gsm7("Café Müller à Zürich É") == "Café Müller à Zürich É"


def test_to_gsm7_replaces_dutch_pitfalls() -> None:
    text = "Uw financiële situatie – ‘geïnd’ “ideeën” ĳs"

    converted = to_gsm7(text)

    assert converted == "Uw financiele situatie - 'geind' \"ideeen\" ijs"
    assert is_gsm7(converted)


def test_to_gsm7_leaves_emoji() -> None:
    assert to_gsm7("Dank 👍") == "Dank 👍"
