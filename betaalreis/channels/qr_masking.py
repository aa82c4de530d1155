"""Data mask selection for QR symbols, with the result segno chooses, in a fraction of its time.

segno (1.6) picks the data mask of a QR symbol by applying each of the
eight masks and scoring it with the QR penalty rules N1 to N4, one module
at a time in Python. That took about 6 ms of the 8 ms CPU time a letter's
EPC QR code cost (measured with the letter benchmark on a shared 2-core
host). Here each matrix row is an integer with one byte per module, so a
mask is one XOR per row, and the rules run as bytes searches and bit
counts. The scores follow segno's reading of the rules
module for module, so the chosen mask and the symbol are the ones
`segno.make_qr` returns. A test compares the two over many payloads and
versions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache

from segno import encoder

MaskRows = tuple[int, ...]

# The data mask conditions for row i and column j, numbered as segno.encoder.get_data_mask_functions() numbers them.
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
        # The same patterns by column, for scoring the columns without transposing each masked matrix.
        self.column_patterns = tuple(transpose(pattern, size) for pattern in self.patterns)


@lru_cache(maxsize=64)
def symbol_layout(size: int) -> SymbolLayout:
    return SymbolLayout(size)


def _row_int(row: bytes) -> int:
    return int.from_bytes(row, "big")


def transpose(rows: Sequence[int], size: int) -> MaskRows:
    """Return the columns of a matrix given as row integers, as integers of the same form."""
    lines = [row.to_bytes(size, "big") for row in rows]
    return tuple(_row_int(bytes(column)) for column in zip(*lines))


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
    size = layout.size
    unmasked_columns = transpose(unmasked, size)
    best_number = 0
    best_score = -1
    for number, (pattern, column_pattern) in enumerate(zip(layout.patterns, layout.column_patterns, strict=True)):
        rows = [row ^ bits for row, bits in zip(unmasked, pattern, strict=True)]
        columns = [column ^ bits for column, bits in zip(unmasked_columns, column_pattern, strict=True)]
        score = penalty_score(rows, columns, size)
        if best_score < 0 or score < best_score:
            best_number, best_score = number, score
    return best_number


def penalty_score(rows: Sequence[int], columns: Sequence[int], size: int) -> int:
    """Return the penalty score N1 + N2 + N3 + N4 of a masked QR matrix, given as row and column integers."""
    # Every line followed by the byte 2, which no run or pattern contains,
    # so a match never goes on into the next line.
    text = b"\x02".join(line.to_bytes(size, "big") for line in (*rows, *columns)) + b"\x02"

    score = _long_run_score(text) + _finder_like_score(text, size)

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


def _long_run_score(text: bytes) -> int:
    """Score 3 + i for each run of 5 + i modules of one colour (N1) in the separated lines of `text`.

    The text becomes one integer with a byte per module, so the run search
    is a few shifts and bit counts. A run of length L has L - 4 ends of five
    equal modules, and adding 2 per run gives its score L - 2.
    """
    # The leading separator keeps the first module from matching a zero byte before the text.
    modules = b"\x02" + text
    value = int.from_bytes(modules, "big")
    ones = int.from_bytes(b"\x01" * len(modules), "big")
    # Byte k of `difference` is module k XOR module k - 1, from 0 to 3, and 0 when they are equal.
    difference = value ^ (value >> 8)
    equal = ~(difference | (difference >> 1)) & ones
    # Byte k is 1 where modules k - 4 to k are equal.
    five_equal = equal & (equal >> 8) & (equal >> 16) & (equal >> 24)
    # The first such byte of each run.
    first_of_run = five_equal & ~(five_equal >> 8)
    return five_equal.bit_count() + 2 * first_of_run.bit_count()


def _finder_like_score(text: bytes, size: int) -> int:
    """Score 40 for each 1:1:3:1:1 pattern that has four light modules, or the symbol's edge, on one side.

    `text` is the lines of the matrix, each `size` bytes and a separator.
    Like segno, this counts a pattern whose light side is cut short by the
    edge, and after a pattern without a light side searches again from its
    middle dark module.
    """
    stride = size + 1
    score = 0
    position = text.find(_FINDER_LIKE)
    while position != -1:
        line_start = position - position % stride
        index = position - line_start
        after = position + 7
        if (
            index == 0
            or index == size - 7
            or _DARK not in text[max(position - 4, line_start):position]
            or _DARK not in text[after:min(after + 4, line_start + size)]
        ):
            score += 40
            start = after
        else:
            start = position + 4
        position = text.find(_FINDER_LIKE, start)
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
