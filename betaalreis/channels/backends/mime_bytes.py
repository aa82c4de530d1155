"""Serialise a MIME message to bytes faster than `Message.as_bytes()`.

The output is byte for byte what `email.generator.BytesGenerator` writes
under the compat32 policy, which Django's mail classes use. The one
exception is a random boundary that occurs in the body, which is rare. The
standard generator then appends a counter, and this one draws a new token.
A non-ASCII Subject is encoded by `encoded_subject` on both paths, not as
Django encodes it.
Two steps of the standard generator dominate its cost, and this one
shortens both:

* Folding runs every header through `email.header.Header`, even when the
  value is short ASCII text that folding leaves unchanged. Such values are
  written as they are.
* Choosing a multipart boundary compiles a new regular expression for each
  random boundary. A substring test rejects every boundary that the
  expression would reject, and some more, so the boundary stays safe.

Checked against CPython 3.11's `email` package.

`alternative_email_bytes` goes further for the common email of a text part
and one HTML alternative: it writes the same bytes without building the
MIME tree at all, and returns None for every other email.
"""

from __future__ import annotations

import random
import re
import sys
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import Compat32, compat32
from email.utils import formatdate, make_msgid
from io import BytesIO

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers
from django.core.mail.utils import DNS_NAME

# RFC 5322 recommends lines of at most 78 characters, and compat32 folds there.
_FOLD_WIDTH = 78

_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))

# The line endings `email.generator` recognises when it rewrites them to `linesep`.
_NEWLINE = re.compile(r"\r\n|\r|\n")


def _needs_folding(name: str, value: object, max_line_length: int | None) -> bool:
    """Return whether compat32 folding could change `name: value`."""
    if not isinstance(value, str) or not value.isascii():
        return True
    if max_line_length != _FOLD_WIDTH or len(name) + 2 + len(value) > _FOLD_WIDTH:
        return True
    if "\r" in value or "\n" in value or "\t" in value:
        return True

    # Header() may rewrite leading, trailing or repeated blanks, so such values take the slow path.
    return value != value.strip(" ") or "  " in value


class FastBytesGenerator(BytesGenerator):
    """A BytesGenerator that skips folding headers that need none."""

    def _write_headers(self, msg: Message) -> None:
        policy = self.policy
        linesep = policy.linesep
        plain = isinstance(policy, Compat32)

        for name, value in msg.raw_items():
            if plain and not _needs_folding(name, value, policy.max_line_length):
                self._fp.write(f"{name}: {value}{linesep}".encode("ascii"))
            else:
                self._fp.write(policy.fold_binary(name, value))

        self.write(self._NL)

    @classmethod
    def _make_boundary(cls, text: bytes | None = None) -> str:
        # BytesGenerator passes the already serialised parts as bytes.
        while True:
            token = random.randrange(sys.maxsize)
            boundary = "=" * 15 + str(token).zfill(_BOUNDARY_DIGITS) + "=="
            if text is None or b"--" + boundary.encode("ascii") not in text:
                return boundary


def message_bytes(message: Message, *, linesep: str = "\r\n") -> bytes:
    """Return the message as bytes, as `as_bytes(linesep=...)` would, without mangling "From " lines."""
    buffer = BytesIO()
    FastBytesGenerator(buffer, mangle_from_=False).flatten(message, linesep=linesep)
    return buffer.getvalue()


def alternative_email_bytes(
    email: EmailMultiAlternatives,
    *,
    date: str | None = None,
    boundary: str | None = None,
    linesep: str = "\r\n",
) -> bytes | None:
    """Serialise a text email with one HTML alternative and no attachments, or return None.

    The bytes are those of `message_bytes(email.message())` for the same
    Date header and boundary, without building the MIME tree: the headers
    go through Django's own header check and encoding, and each body part
    gets the headers Django's `SafeMIMEText` gives it. Any other email
    (attachments, more alternatives, a line over 998 bytes, a non-text
    alternative) returns None, and the caller builds it the standard way.
    `date` and `boundary` exist for tests that compare both outputs.
    """
    encoding = email.encoding or settings.DEFAULT_CHARSET
    if email.attachments or not email.body or len(email.alternatives) != 1 or encoding != "utf-8":
        return None
    html, mimetype = email.alternatives[0]
    if mimetype != "text/html" or not isinstance(html, str) or not isinstance(email.body, str):
        return None

    text_part = _text_part_bytes(email.body, "plain", linesep)
    html_part = _text_part_bytes(html, "html", linesep)
    if text_part is None or html_part is None:
        return None

    if boundary is None:
        boundary = FastBytesGenerator._make_boundary(text_part + linesep.encode("ascii") + html_part)
    policy = compat32.clone(linesep=linesep)
    newline = linesep.encode("ascii")
    delimiter = b"--" + boundary.encode("ascii")
    buffer = BytesIO()
    buffer.write(_content_type_header(email.alternative_subtype, boundary, policy))
    for name, value in [("MIME-Version", "1.0"), *_outer_headers(email, date, encoding)]:
        if name == "Subject":
            buffer.write(_subject_line(value, encoding, policy))
        elif _needs_folding(name, value, policy.max_line_length):
            buffer.write(policy.fold_binary(name, value))
        else:
            buffer.write(f"{name}: {value}{linesep}".encode("ascii"))
    buffer.write(newline)
    buffer.write(delimiter + newline + text_part)
    buffer.write(newline + delimiter + newline + html_part)
    buffer.write(newline + delimiter + b"--" + newline)
    return buffer.getvalue()


def _content_type_header(subtype: str, boundary: str, policy: Compat32) -> bytes:
    """Return the multipart Content-Type header line as compat32 folds it."""
    value = f'multipart/{subtype}; boundary="{boundary}"'
    linesep = policy.linesep
    if not _needs_folding("Content-Type", value, policy.max_line_length):
        return f"Content-Type: {value}{linesep}".encode("ascii")

    # compat32 breaks a long Content-Type after the "; ". With a boundary of
    # plain characters each half fits in a line, and the result is known.
    first = f"Content-Type: multipart/{subtype};"
    second = f' boundary="{boundary}"'
    if _PLAIN_BOUNDARY.fullmatch(boundary) and max(len(first), len(second)) <= _FOLD_WIDTH:
        return f"{first}{linesep}{second}{linesep}".encode("ascii")
    return policy.fold_binary("Content-Type", value)


_PLAIN_BOUNDARY = re.compile(r"[A-Za-z0-9=._-]+")


def _outer_headers(email: EmailMultiAlternatives, date: str | None, encoding: str) -> list[tuple[str, str]]:
    """Return the top-level headers in the order and form `EmailMessage.message()` sets them."""
    extra = email.extra_headers
    raw: list[tuple[str, object]] = [
        ("Subject", email.subject),
        ("From", extra.get("From", email.from_email)),
    ]
    for name, values in (("To", email.to), ("Cc", email.cc), ("Reply-To", email.reply_to)):
        if values:
            raw.append((name, extra.get(name, ", ".join(str(value) for value in values))))

    extra_names = {name.lower() for name in extra}
    if "date" not in extra_names:
        raw.append(("Date", date or formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in extra_names:
        raw.append(("Message-ID", make_msgid(domain=DNS_NAME)))
    raw.extend((name, value) for name, value in extra.items() if name.lower() not in _ADDRESS_EXTRAS)

    # The Subject stays as given, because `_subject_line` encodes and folds it in one step.
    return [
        (name, value if name == "Subject" else _header_value(name, value, encoding)) for name, value in raw
    ]


def _header_value(name: str, value: object, encoding: str) -> str:
    """Return the header value Django's MIME classes store for `value`.

    A non-ASCII Subject is the value of `encoded_subject` instead.
    """
    # Django passes every ASCII subject through email.header.Header, which
    # leaves a short one without tabs or repeated blanks as it is.
    if name == "Subject" and not _needs_folding(name, value, _FOLD_WIDTH):
        return value
    if name == "Subject" and isinstance(value, str) and not value.isascii():
        return encoded_subject(value, encoding)
    return forbid_multi_line_headers(name, value, encoding)[1]


def encoded_subject(subject: str, encoding: str) -> str:
    """Encode a non-ASCII subject in RFC 2047 words whose first line fits after "Subject: ".

    Django encodes it without the header name (Django 5.2,
    `forbid_multi_line_headers`), so the first encoded word fills a whole
    line. The compat32 generator then starts the header with an empty line,
    and a parser under `email.policy.default` decodes the subject with a
    leading space.
    """
    return Header(subject, encoding, header_name="Subject").encode()


def fix_subject(message: Message, subject: str, encoding: str) -> None:
    """Replace the Subject that Django stored in `message` by `encoded_subject` when the subject is not ASCII."""
    if subject and not subject.isascii() and "Subject" in message:
        message.replace_header("Subject", encoded_subject(subject, encoding))


def _subject_line(subject: object, encoding: str, policy: Compat32) -> bytes:
    """Return the Subject header line as Django stores the subject and compat32 folds it."""
    if isinstance(subject, str) and policy.max_line_length == _FOLD_WIDTH:
        folded = fold_plain_subject(subject, policy.linesep)
        if folded is not None:
            return folded

    value = _header_value("Subject", subject, encoding)
    if _needs_folding("Subject", value, policy.max_line_length):
        return policy.fold_binary("Subject", value)
    return f"Subject: {value}{policy.linesep}".encode("ascii")


def fold_plain_subject(subject: str, linesep: str = "\r\n") -> bytes | None:
    """Fold a plain ASCII subject as Django and compat32 do together, or return None.

    Django stores an ASCII subject as `Header(subject).encode()`, folded at
    78 characters. The generator then passes those lines through
    `Header(value, header_name="Subject").encode()` again, which can break
    the first line once more, because "Subject: " now counts. Both passes
    are `_fold_words`, which follows `email.header._ValueFormatter` for
    words of printable ASCII separated by single spaces. Any other subject
    (non-ASCII, tabs, repeated or outer blanks, a word too long for a line)
    returns None, and the caller takes the standard path.
    """
    if not subject or not subject.isascii() or not subject.isprintable():
        return None
    if "  " in subject or subject[0] == " " or subject[-1] == " ":
        return None
    if len(subject) + len("Subject: ") <= _FOLD_WIDTH:
        return f"Subject: {subject}{linesep}".encode("ascii")

    split_after = tuple(character for character in _SPLIT_AFTER if character in subject)
    stored = _fold_words([subject.split(" ")], 0, split_after)
    if stored is None:
        return None
    continued = [line.lstrip(" ").split(" ") for line in stored]
    folded = _fold_words(continued, len("Subject: "), split_after)
    if folded is None:
        return None
    return ("Subject: " + linesep.join(folded) + linesep).encode("ascii")


# The split characters `Header.encode()` prefers, in its order, before a space.
_SPLIT_AFTER = (";", ",")


def _fold_words(
    lines: list[list[str]], header_length: int, split_after: tuple[str, ...]
) -> list[str] | None:
    """Fold lines of words at 78 characters as `Header.encode()` folds us-ascii text.

    `lines` are the input lines, each a list of non-empty words that were
    separated by single spaces. Every line after the first starts on a new
    output line, as `Header.encode()` keeps existing line breaks. When a
    word makes the current line too long, the line breaks after the last
    word ending in ";", else after the last word ending in ",", else before
    the new word. `split_after` lists which of ";" and "," occur in the
    text, so the search skips the others. Returns the output lines,
    continuation lines with their leading space, or None when a single
    word overflows a line, which `Header.encode()` treats in a way this
    function does not copy.
    """
    output: list[str] = []
    for line_index, words in enumerate(lines):
        parts: list[str] = []
        length = header_length if line_index == 0 else 0
        for word_index, word in enumerate(words):
            chunk = word if line_index == 0 and word_index == 0 else " " + word
            parts.append(chunk)
            length += len(chunk)
            if length <= _FOLD_WIDTH:
                continue
            if len(parts) < 2:
                return None
            split = _split_point(parts, split_after)
            output.append("".join(parts[:split]))
            parts = parts[split:]
            length = sum(map(len, parts))
        output.append("".join(parts))
    return output


def _split_point(parts: list[str], split_after: tuple[str, ...]) -> int:
    """Return the index of the part that starts the next line, as `_ValueFormatter` chooses it."""
    for character in split_after:
        for index in range(len(parts) - 1, 0, -1):
            if parts[index - 1].endswith(character):
                return index
    return len(parts) - 1


# Extra headers that EmailMessage.message() does not copy, because it sets them itself.
_ADDRESS_EXTRAS = {"from", "to", "cc", "reply-to"}


_SHORT_LINE = RFC5322_EMAIL_LINE_LENGTH_LIMIT // 4


def _text_part_bytes(content: str, subtype: str, linesep: str) -> bytes | None:
    """Return a UTF-8 text part as SafeMIMEText serialises it, or None when it would use quoted-printable."""
    # str.split() is several times faster than the regular expression, and
    # splits the same lines when the text has no "\r".
    lines = _NEWLINE.split(content) if "\r" in content else content.split("\n")
    # Django switches to quoted-printable when a line exceeds RFC 5322's 998
    # bytes. A line of at most a quarter as many characters cannot, because
    # UTF-8 takes at most 4 bytes per character, so only longer ones are encoded.
    if max(map(len, lines)) > _SHORT_LINE and any(
        len(line.encode("utf-8")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT for line in lines
    ):
        return None

    transfer_encoding = "7bit" if content.isascii() else "8bit"
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"{linesep}'
        f"MIME-Version: 1.0{linesep}"
        f"Content-Transfer-Encoding: {transfer_encoding}{linesep}{linesep}"
    )
    # The standard generator writes every line ending as `linesep` and adds none at the end.
    return head.encode("ascii") + linesep.join(lines).encode("utf-8")
