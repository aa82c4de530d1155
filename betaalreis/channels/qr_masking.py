"""Data mask selection for QR symbols, with the result segno chooses, in a fraction of its time.

segno (1.6) picks the data mask of a QR symbol by applying each of the
eight masks and scoring it with the penalty rules of ISO/IEC 18004:2015,
7.8.3, one module at a time in Python. That took about 6 ms of the 8 ms a
letter's EPC QR code cost. Here each matrix row is an integer with one byte
per module, so a mask is one XOR per row, and the rules run as bytes
searches and bit counts. The scores follow segno's reading of the rules
module for module, so the chosen mask and the symbol are the ones
`segno.make_qr` returns. A test compares the two over many payloads and
versions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import lru_cache

from segno import encoder

MaskRows = tuple[int, ...]

# The mask conditions of ISO/IEC 18004:2015, table 10, for row i and column j.
_MASK_CONDITIONS: tuple[Callable[[int, int], bool], ...] = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
MASK_COUNT = len(_MASK_CONDITIONS)

# Runs of five or more modules of one colour (penalty N1).
_LONG_RUN = re.compile(rb"\x00{5,}|\x01{5,}")
# Dark, light, dark, dark, dark, light, dark (penalty N3).
_FINDER_LIKE = b"\x01\x00\x01\x01\x01\x00\x01"
_DARK = b"\x01"


class SymbolLayout:
    """The modules of one QR version that carry data, and each mask's pattern over them.

    `fixed` contains the function patterns as segno has them while it scores
    the masks: finder, separator, timing and alignment patterns, with the
    format and version areas still light.
    """

    def __init__(self, size: int) -> None:
        template = encoder.make_matrix(size, size)
        encoder.add_finder_patterns(template, size, size)
        encoder.add_alignment_patterns(template, size, size)
        # make_matrix() marks every module that no pattern or reserved area takes with 2.
        self.size = size
        self.data = tuple(_row_int(bytes(value == 2 for value in row)) for row in template)
        self.fixed = tuple(_row_int(bytes(value & 1 if value != 2 else 0 for value in row)) for row in template)
        self.patterns = tuple(
            tuple(
                _row_int(bytes(condition(i, j) for j in range(size))) & self.data[i]
                for i in range(size)
            )
            for condition in _MASK_CONDITIONS
        )


@lru_cache(maxsize=64)
def symbol_layout(size: int) -> SymbolLayout:
    return SymbolLayout(size)


def _row_int(row: bytes) -> int:
    return int.from_bytes(row, "big")


def unmasked_rows(matrix: Sequence[bytes | bytearray], mask: int, layout: SymbolLayout) -> MaskRows:
    """Return the rows of a finished symbol with `mask` taken off and format and version areas light.

    That is the matrix segno scores the masks on.
    """
    pattern = layout.patterns[mask]
    return tuple(
        (_row_int(bytes(row)) & data) ^ bits | fixed
        for row, data, bits, fixed in zip(matrix, layout.data, pattern, layout.fixed, strict=True)
    )


def best_mask(unmasked: MaskRows, layout: SymbolLayout) -> int:
    """Return the mask with the lowest penalty score, the lowest number among equal scores."""
    best_number = 0
    best_score = -1
    for number, pattern in enumerate(layout.patterns):
        score = penalty_score([row ^ bits for row, bits in zip(unmasked, pattern, strict=True)], layout.size)
        if best_score < 0 or score < best_score:
            best_number, best_score = number, score
    return best_number


def penalty_score(rows: Sequence[int], size: int) -> int:
    """Return the penalty score N1 + N2 + N3 + N4 of a masked QR matrix, given as row integers."""
    lines = [row.to_bytes(size, "big") for row in rows]
    columns = [bytes(column) for column in zip(*lines)]

    # N1: a run of 5 + i modules of one colour scores 3 + i. The byte 2
    # between lines keeps a run from going on into the next line.
    score = sum(len(run) - 2 for run in _LONG_RUN.findall(b"\x02".join((*lines, *columns))))
    for line in (*lines, *columns):
        score += _finder_like_score(line, size)

    # N2: each 2 x 2 block of one colour scores 3, overlapping blocks included.
    ones = _row_int(_DARK * size)
    # Bytes 1 to size - 1 of a row, each compared with the byte on its left.
    not_first = ones >> 8
    same_as_left = [(row ^ (row >> 8) ^ ones) & not_first for row in rows]
    for index in range(1, size):
        same_as_above = rows[index] ^ rows[index - 1] ^ ones
        score += 3 * (same_as_above & same_as_left[index] & same_as_left[index - 1]).bit_count()

    # N4: 10 points per full 5 % that the share of dark modules is away from 50 %.
    dark = sum(row.bit_count() for row in rows)
    percent = float(dark) / (size * size)
    score += 10 * int(abs(percent * 100 - 50) / 5)
    return score


def _finder_like_score(line: bytes, size: int) -> int:
    """Score 40 for each 1:1:3:1:1 pattern that has four light modules, or the symbol's edge, on one side.

    Like segno, this counts a pattern whose light side is cut short by the
    edge, and after a pattern without a light side searches again from its
    middle dark module.
    """
    score = 0
    index = line.find(_FINDER_LIKE)
    while index != -1:
        after = index + 7
        if (
            index == 0
            or index == size - 7
            or _DARK not in line[max(index - 4, 0):index]
            or _DARK not in line[after:after + 4]
        ):
            score += 40
            start = after
        else:
            start = index + 4
        index = line.find(_FINDER_LIKE, start)
    return score


def remasked_rows(unmasked: MaskRows, mask: int, layout: SymbolLayout) -> MaskRows:
    """Return the data modules of `unmasked` with `mask` applied, and all other modules light."""
    return tuple(
        (row & data) ^ bits for row, data, bits in zip(unmasked, layout.data, layout.patterns[mask], strict=True)
    )


def function_rows(matrix: Sequence[bytes | bytearray], layout: SymbolLayout) -> MaskRows:
    """Return the modules of a finished symbol that carry no data: patterns, format and version."""
    return tuple(_row_int(bytes(row)) & ~data for row, data in zip(matrix, layout.data, strict=True))


def rows_to_matrix(rows: Sequence[int], size: int) -> tuple[bytes, ...]:
    return tuple(row.to_bytes(size, "big") for row in rows)
