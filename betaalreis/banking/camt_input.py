"""Give lxml a camt file without the default namespace of its root element.

lxml builds the tag of every element it hands to Python, "{namespace}Ntry",
as a new string, and the readers in camt.py and camt_fast.py read every tag
of every entry. With the camt namespace on all elements, that string is
about 60 characters. Both readers match elements by local name, so they
read the same statements from a file without the namespace. On the
bench/bank_parse.py file of 100,000 entries, `read_camt` took about 25.5 µs
of CPU per entry with the namespace and about 22.5 µs without it.

`without_default_namespace` finds the `xmlns="urn:iso:std:iso:20022:..."`
attribute of the root element in the head of the file and returns a file
object that reads spaces in its place. Line breaks stay where they are, so
lines and columns in errors and positions do not change. A file that
declares the namespace in any other way (with a prefix, only on inner
elements, or after the first 64 KiB) is read as it is.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Protocol

# The root start tag, after an optional byte order mark, XML declaration,
# processing instructions, comments and whitespace, up to and including a
# default namespace attribute of camt.053 or camt.054. Group 1 is that attribute.
_ROOT_DEFAULT_NAMESPACE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?.*?\?>|<!--.*?-->)*"
    rb"<[A-Za-z_][\w.:-]*(?:\s+[\w.:-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*?"
    rb"\s+(xmlns\s*=\s*([\"'])urn:iso:std:iso:20022:tech:xsd:camt\.05[34]\.001\.\d\d\2)",
    re.DOTALL,
)


class ReadableFile(Protocol):
    """A binary file as lxml reads it."""

    def read(self, size: int = -1) -> bytes: ...


class _BlankedFile:
    """A binary file that reads as spaces between `start` and `end`, except for line breaks."""

    def __init__(self, handle: BinaryIO, start: int, end: int) -> None:
        self.handle = handle
        self.start = start
        self.end = end
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        begin = self.position
        data = self.handle.read(size)
        self.position += len(data)
        if begin >= self.end or self.position <= self.start:
            return data

        first = max(self.start - begin, 0)
        last = min(self.end - begin, len(data))
        blanked = bytes(byte if byte in b"\r\n" else 0x20 for byte in data[first:last])
        return data[:first] + blanked + data[last:]


def without_default_namespace(handle: BinaryIO, head: bytes) -> ReadableFile:
    """Return `handle`, at its start, as a file without the camt default namespace that `head` declares.

    `head` is the start of the file. Without such a declaration in it,
    `handle` itself is returned.
    """
    handle.seek(0)
    found = _ROOT_DEFAULT_NAMESPACE.match(head)
    if found is None:
        return handle
    return _BlankedFile(handle, found.start(1), found.end(1))
