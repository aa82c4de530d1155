"""The direct .eml writer against Django's MIME classes and the standard generator."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from email.generator import BytesGenerator
from io import BytesIO

import pytest
from django.core.mail.message import forbid_multi_line_headers
from email.policy import compat32
from hypothesis import given
from hypothesis import strategies as st

from betaalreis.channels.backends.email import build_email
from betaalreis.channels.backends.mime_bytes import (
    _header_value,
    alternative_email_bytes,
    fold_plain_subject,
    message_bytes,
)
from betaalreis.channels.base import Attachment, OutgoingMessage

BASE = OutgoingMessage(
    idempotency_key="bakkerij-zoet:42:reminder:email:2026-12-04",
    channel="email",
    creditor_slug="bakkerij-zoet",
    debtor_id=42,
    language="nl",
    recipient="zoe@example.nl",
    subject="Herinnering: factuur 2026-0042",
    text="Beste klant,\n\nWij hebben uw betaling nog niet ontvangen.\n",
    html="<p>Beste klant,</p>\n<p>Wij hebben uw betaling nog niet ontvangen.</p>\n",
    sender_name="Bakkerij Zoet",
    reply_to="debiteuren@bakkerijzoet.example",
)

CASES = {
    "ascii": {},
    "non-ascii body": {"text": "Beste Zoë,\n\n€ 425,00\n", "html": "<p>Beste Zoë, € 425,00</p>"},
    "non-ascii subject": {"subject": "Herinnering van Bakkerij Zoët: factuur 2026-0042"},
    "long subject": {"subject": "Aanmaning: " + ", ".join(f"factuur 2026-{n:04d}" for n in range(12))},
    "repeated blanks": {"subject": "Herinnering:  factuur 2026-0042 "},
    "non-ascii sender": {"sender_name": "Bakkerij Zoët & Zn."},
    "copy addresses": {"cc": ("boekhouding@example.nl", "Zoë <zoe2@example.nl>")},
    "no reply-to": {"reply_to": ""},
    "mixed line endings": {"text": "een\r\ntwee\rdrie\nvier", "html": "<p>een</p>\r\n<p>twee</p>\r\n"},
    "long line": {"html": "<p>" + "x" * 1200 + "</p>"},
    "long multibyte line": {"text": "€" * 340},
    "multibyte line at limit": {"text": "€" * 332},
    "attachment": {"attachments": (Attachment(filename="a.pdf", content=b"%PDF-1.4", mimetype="application/pdf"),)},
    "no html": {"html": ""},
}


def standard_bytes(message: OutgoingMessage) -> tuple[bytes, str, str]:
    """Return the message as Django and the standard generator write it, with its Date and boundary."""
    mime = build_email(message).message()
    return standard_bytes_of(mime), mime["Date"], mime.get_boundary() or ""


@pytest.mark.parametrize("case", CASES)
def test_direct_bytes_match_standard(case: str) -> None:
    message = dataclasses.replace(BASE, **CASES[case])
    expected, date, boundary = standard_bytes(message)

    direct = alternative_email_bytes(build_email(message), date=date, boundary=boundary)

    if case in {"long line", "long multibyte line", "attachment", "no html"}:
        # These take the standard path, which the backend falls back to.
        assert direct is None
    else:
        assert direct == expected


@pytest.mark.parametrize(
    "subject",
    [
        "Herinnering",
        "=?utf-8?q?Herinnering?=",
        "Factuur 2026-0042; 2026-0043, 2026-0044",
        "Herinnering\tfactuur",
        " Herinnering",
        "Herinnering ",
        "x" * 69,
        "x" * 70,
    ],
)
def test_subject_value_matches_django(subject: str) -> None:
    expected = forbid_multi_line_headers("Subject", subject, "utf-8")[1]

    assert _header_value("Subject", subject, "utf-8") == expected


# Words of letters, digits and the split characters, from short to longer than a line.
_WORDS = st.lists(
    st.text(alphabet="abXY09-.:;,()", min_size=1, max_size=80), min_size=1, max_size=30
)


@given(_WORDS)
def test_plain_subject_fold_matches_standard(words: list[str]) -> None:
    subject = " ".join(words)
    expected = compat32.clone(linesep="\r\n").fold_binary(
        "Subject", forbid_multi_line_headers("Subject", subject, "utf-8")[1]
    )

    folded = fold_plain_subject(subject)

    if folded is not None:
        assert folded == expected


@pytest.mark.parametrize(
    ("subject", "fast"),
    [
        ("Herinnering: factuur 2026-0042", True),
        ("Aanmaning: " + ", ".join(f"factuur 2026-{n:04d}" for n in range(12)), True),
        ("Factuur 2026-0042; " * 6, False),
        ("Herinnering van Bakkerij Zoët", False),
        ("Herinnering  factuur", False),
        ("Herinnering\tfactuur", False),
        ("x" * 70, False),
    ],
)
def test_plain_subject_fold_cases(subject: str, fast: bool) -> None:
    folded = fold_plain_subject(subject)

    assert (folded is not None) == fast
    if folded is not None:
        expected = compat32.clone(linesep="\r\n").fold_binary(
            "Subject", forbid_multi_line_headers("Subject", subject, "utf-8")[1]
        )
        assert folded == expected


def test_short_boundary_not_folded() -> None:
    mime = build_email(BASE).message()
    mime.set_boundary("short")
    expected = standard_bytes_of(mime)

    direct = alternative_email_bytes(build_email(BASE), date=mime["Date"], boundary="short")

    assert direct == expected


def test_direct_bytes_parse_back() -> None:
    message = dataclasses.replace(BASE, **CASES["non-ascii body"])

    data = alternative_email_bytes(build_email(message))

    assert data is not None
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Date"]
    assert parsed["Message-ID"]
    assert parsed.get_body(("plain",)).get_content() == "Beste Zoë,\r\n\r\n€ 425,00\r\n"
    assert parsed.get_body(("html",)).get_content() == "<p>Beste Zoë, € 425,00</p>"


def test_boundary_absent_from_parts() -> None:
    message = dataclasses.replace(BASE, text="--" + "=" * 15 + "\n", html="<p>--==</p>")

    data = alternative_email_bytes(build_email(message))

    assert data is not None
    boundary = email.message_from_bytes(data).get_boundary()
    assert data.count(b"--" + boundary.encode("ascii")) == 3


def test_fast_generator_matches_standard() -> None:
    message = dataclasses.replace(BASE, **CASES["non-ascii sender"])
    mime = build_email(message).message()
    expected = standard_bytes_of(mime)

    assert message_bytes(mime) == expected


def standard_bytes_of(mime: email.message.Message) -> bytes:
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(mime, linesep="\r\n")
    return buffer.getvalue()


@pytest.mark.parametrize("subject", [
    "Termijn 1 van uw betalingsregeling: € 33,33, vervallen op 5 december 2026",
    ("Zoë " + "€ 1.234,56 " * 12).rstrip(),
    "Zoë",
])
def test_non_ascii_subject_parses_back(subject: str) -> None:
    message = dataclasses.replace(BASE, subject=subject)
    standard, date, boundary = standard_bytes(message)
    direct = alternative_email_bytes(build_email(message), date=date, boundary=boundary)

    for raw in (standard, direct):
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        assert parsed["Subject"] == subject
        assert b"Subject: \r\n" not in raw
