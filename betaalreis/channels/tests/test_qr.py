"""EPC QR payloads: building them, reading them back, and the corpus images."""

from __future__ import annotations

import io
import random
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from betaalreis.channels.qr import (
    EPC_MAX_BYTES,
    EpcPayment,
    build_epc_payload,
    epc_qr_matrix,
    make_epc_qr,
    parse_epc_payload,
)
from betaalreis.errors import InvalidInput
from betaalreis.legal.references import make_rf_reference


def decode_png(path: Path) -> bytes:
    results = zxingcpp.read_barcodes(Image.open(path), formats=zxingcpp.BarcodeFormat.QRCode)
    assert len(results) == 1, f"expected one QR code in {path.name}, found {len(results)}"
    return results[0].bytes


def test_payload_with_rf_reference() -> None:
    payload = build_epc_payload(
        name="Voorbeeld Incasso B.V.",
        iban="NL91 ABNA 0417 1643 00",
        amount=Decimal("425.00"),
        reference="RF05 2026 0000 042",
    )

    assert payload == (
        "BCD\n002\n1\nSCT\n\nVoorbeeld Incasso B.V.\nNL91ABNA0417164300\nEUR425.00\n\nRF0520260000042"
    )


def test_payload_with_betalingskenmerk_on_line_10() -> None:
    payload = build_epc_payload(
        name="Voorbeeld", iban="NL91ABNA0417164300", amount=Decimal("12.30"), reference="5000056789012345"
    )

    lines = payload.split("\n")
    assert lines[7] == "EUR12.30"
    assert lines[9] == "5000056789012345"
    assert len(lines) == 10


def test_free_text_reference_goes_to_line_11() -> None:
    payload = build_epc_payload(
        name="Café Zoë", iban="NL91ABNA0417164300", amount=Decimal("12.30"), reference="Factuur 2026-0042"
    )

    lines = payload.split("\n")
    assert lines[9] == ""
    assert lines[10] == "Factuur 2026-0042"


def test_invalid_rf_is_not_structured() -> None:
    payload = build_epc_payload(name="X", iban="NL91ABNA0417164300", amount=Decimal("1.00"), reference="RF00123")

    assert payload.split("\n")[10] == "RF00123"


def test_bic_and_information_lines() -> None:
    payload = build_epc_payload(
        name="X",
        iban="NL91ABNA0417164300",
        bic="ABNANL2A",
        amount=Decimal("1.00"),
        reference="RF0520260000042",
        information="Betaal voor 18-12-2026",
    )

    lines = payload.split("\n")
    assert lines[4] == "ABNANL2A"
    assert lines[10] == ""
    assert lines[11] == "Betaal voor 18-12-2026"


@pytest.mark.parametrize(
    ("arguments", "code"),
    [
        ({"amount": Decimal("0.00")}, "epc_amount_out_of_range"),
        ({"amount": Decimal("-5.00")}, "epc_amount_out_of_range"),
        ({"amount": Decimal("1000000000.00")}, "epc_amount_out_of_range"),
        ({"amount": Decimal("1.005")}, "epc_amount_precision"),
        ({"iban": "NL91ABNA0417164301"}, "epc_invalid_iban"),
        ({"name": ""}, "epc_missing_name"),
        ({"name": "N" * 71}, "epc_field_too_long"),
        ({"reference": "x" * 141}, "epc_field_too_long"),
        ({"bic": "NOTABIC"}, "epc_invalid_bic"),
        ({"name": "N" * 70, "reference": "€" * 140}, "epc_payload_too_long"),
    ],
)
def test_payload_rejects_bad_values(arguments: dict, code: str) -> None:
    values = {"name": "Voorbeeld", "iban": "NL91ABNA0417164300", "amount": Decimal("10.00"), "reference": ""}
    values.update(arguments)

    with pytest.raises(InvalidInput) as raised:
        build_epc_payload(**values)

    assert raised.value.code == code


def test_symbol_is_level_m_within_version_13() -> None:
    payload = build_epc_payload(
        name="N" * 70, iban="NL91ABNA0417164300", amount=Decimal("999999999.99"), reference="x" * 140
    )

    qr = make_epc_qr(payload)

    assert qr.error == "M"
    assert qr.version <= 13


def test_parse_round_trip() -> None:
    payload = build_epc_payload(
        name="Bakkerij Zoë B.V.", iban="NL91ABNA0417164300", amount=Decimal("1659.56"), reference="RF48D42"
    )

    parsed = parse_epc_payload(payload.encode("utf-8"))

    assert parsed == EpcPayment(
        name="Bakkerij Zoë B.V.",
        iban="NL91ABNA0417164300",
        amount=Decimal("1659.56"),
        structured_reference="RF48D42",
    )


@pytest.mark.parametrize("stem", ["py-epc-qr_v001-with-bic", "py-epc-qr_v002-without-bic"])
def test_corpus_images_match_text(corpus: Path, stem: str) -> None:
    decoded = decode_png(corpus / "epc" / f"{stem}.png")
    expected = (corpus / "epc" / f"{stem}.txt").read_bytes()

    assert parse_epc_payload(decoded) == parse_epc_payload(expected)
    assert parse_epc_payload(decoded).amount == Decimal("123.45")
    assert parse_epc_payload(decoded).text == "Spende fuer Wikipedia"


def test_corpus_segno_image_fields(corpus: Path) -> None:
    parsed = parse_epc_payload(decode_png(corpus / "epc" / "segno_docs_spende-wikipedia.png"))

    assert parsed.version == "002"
    assert parsed.charset == "2"
    assert parsed.bic == ""
    assert parsed.name == "Wikimedia Foerdergesellschaft"
    assert parsed.iban == "DE33100205000001194700"
    assert parsed.amount == Decimal("20")
    assert parsed.text == "Spende fuer Wikipedia"


def test_corpus_v001_has_bic(corpus: Path) -> None:
    parsed = parse_epc_payload(decode_png(corpus / "epc" / "py-epc-qr_v001-with-bic.png"))

    assert parsed.version == "001"
    assert parsed.bic == "BFSWDE33BER"


def test_parse_rejects_other_qr_text() -> None:
    with pytest.raises(InvalidInput):
        parse_epc_payload("https://example.nl\n1\n2\n3\n4\n5\n6")


NAME_CHARACTERS = st.characters(codec="utf-8", categories=("L", "N", "Zs"), include_characters="&.-'€")


@settings(max_examples=25, deadline=None)
@given(
    # At most 50 characters, so even four-byte letters stay within the 331-byte payload.
    name=st.text(NAME_CHARACTERS, min_size=1, max_size=50).filter(lambda value: value.strip() == value and value),
    cents=st.integers(min_value=1, max_value=99_999_999_999),
    reference_body=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21),
)
# With this name zxing also reported a false ITF barcode inside the QR symbol.
@example(name="\ub5d6\u0154\u00bd5\u0113\u00da\u00ed\u0162\u0102\U0002d57at\U0001857f", cents=200, reference_body="AJ0")
def test_payload_survives_scanning(name: str, cents: int, reference_body: str) -> None:
    amount = Decimal(cents) / 100
    reference = make_rf_reference(reference_body)
    payload = build_epc_payload(name=name, iban="NL91ABNA0417164300", amount=amount, reference=reference)
    image = make_epc_qr(payload)
    buffer = io.BytesIO()
    image.save(buffer, kind="png", scale=4, border=4)

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(buffer.getvalue())), formats=zxingcpp.BarcodeFormat.QRCode)

    assert len(decoded) == 1
    parsed = parse_epc_payload(decoded[0].bytes)
    assert parsed.name == name
    assert parsed.amount == amount
    assert parsed.structured_reference == reference


@settings(max_examples=60, deadline=None)
@given(
    # From a few bytes up to the 331-byte maximum, so versions 2 to 13 and all eight masks occur.
    text=st.text(st.characters(codec="utf-8", categories=("L", "N", "Zs")), min_size=1, max_size=80),
    repeat=st.integers(min_value=1, max_value=4),
)
def test_matrix_equals_segno_symbol(text: str, repeat: int) -> None:
    payload = (text * repeat).encode("utf-8")[:EPC_MAX_BYTES].decode("utf-8", "ignore")

    expected = tuple(bytes(row) for row in make_epc_qr(payload).matrix)

    assert epc_qr_matrix(payload) == expected


@pytest.mark.parametrize("mask", range(8))
def test_matrix_equals_segno_for_each_mask(mask: int) -> None:
    # A seeded search for a payload for which segno chooses `mask`.
    rng = random.Random(mask)
    for _ in range(500):
        payload = "".join(rng.choice("ABCDEFGHIJ0123456789 \n.") for _ in range(rng.randint(20, 300)))
        symbol = make_epc_qr(payload)
        if symbol.mask == mask:
            break
    else:
        pytest.fail(f"no payload among 500 makes segno choose mask {mask}")

    expected = tuple(bytes(row) for row in symbol.matrix)

    assert epc_qr_matrix(payload) == expected
    # The second call takes the format and version modules from the cache.
    assert epc_qr_matrix(payload) == expected
