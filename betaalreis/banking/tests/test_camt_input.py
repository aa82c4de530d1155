"""A camt file read without its default namespace gives the same statements, errors and positions."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import pytest

from betaalreis.banking import camt
from betaalreis.banking.camt_input import without_default_namespace
from betaalreis.banking.samples import SampleEntry, write_camt053

from .helpers import CREDITOR_IBAN, camt_outcome

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
CORPUS_CAMT = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "camt053"


def _read_through(data: bytes, chunk: int) -> bytes:
    source = without_default_namespace(io.BytesIO(data), data[:65536])
    parts = []
    while part := source.read(chunk):
        parts.append(part)
    return b"".join(parts)


@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_namespace_blanked_in_place(chunk: int):
    data = (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<!-- export -->\n<Document xmlns:xsi="x" a=\'>\'\n'
        b'  xmlns\n="' + NAMESPACE.encode() + b'" b="1"><BkToCstmrStmt/></Document>\n'
    )

    read = _read_through(data, chunk)

    assert len(read) == len(data)
    assert NAMESPACE.encode() not in read
    assert read.count(b"\n") == data.count(b"\n")
    assert read.index(b'b="1"') == data.index(b'b="1"')
    assert b'xmlns:xsi="x" a=\'>\'' in read


@pytest.mark.parametrize(
    "head",
    [
        f'<c:Document xmlns:c="{NAMESPACE}">',
        '<Document xmlns="urn:example:other">',
        f'<Document><BkToCstmrStmt xmlns="{NAMESPACE}">',
    ],
)
def test_other_declarations_read_as_is(head: str):
    data = f'<?xml version="1.0"?>\n{head}'.encode()

    assert _read_through(data, 65536) == data


def _read_both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Return the statements or errors of `path` as read with and without the namespace."""
    without = camt_outcome(path)
    with monkeypatch.context() as patch:
        patch.setattr(camt, "without_default_namespace", _unchanged)
        with_namespace = camt_outcome(path)
    return without, with_namespace


def _unchanged(handle: BinaryIO, head: bytes) -> BinaryIO:
    handle.seek(0)
    return handle


@pytest.mark.parametrize("name", sorted(path.name for path in CORPUS_CAMT.iterdir()))
def test_corpus_same_without_namespace(corpus: Path, monkeypatch: pytest.MonkeyPatch, name: str):
    without, with_namespace = _read_both(corpus / "camt053" / name, monkeypatch)

    assert without == with_namespace


def test_truncated_file_same_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    samples = [SampleEntry(Decimal("10.00"), remittance="a", reference=f"R{number}") for number in range(5)]
    text = write_camt053(tmp_path / "good.xml", CREDITOR_IBAN, samples).read_text()
    path = tmp_path / "truncated.xml"
    path.write_text(text[: len(text) * 2 // 3])

    without, with_namespace = _read_both(path, monkeypatch)

    assert "field='XML'" in without
    assert "afgebroken" in without
    assert without == with_namespace
