"""How many bytes a ``GIT binary patch`` makes git allocate, read without inflating the payload. Pure.

A binary patch is blocks of base85 lines, each block ``literal N`` (its deflate data inflates to ``N``
bytes: the new file) or ``delta N`` (the delta inflates to ``N`` bytes, and applying it builds a result whose
size the delta's own header states). git allocates those sizes as it applies, so a few hundred KB of deflate
can cost gigabytes. ``inflated_size`` adds up the declared sizes, and for a delta inflates only the first
bytes of its data, enough to read the result size. The sequence gate caps the sum per patch and per series.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Sequence

_BLOCK = re.compile(r"^(?P<kind>literal|delta) (?P<size>\d+)$")
_DELTA_HEADER = 20  # two base-128 varints (source size, result size) fit in 20 bytes


def _line_bytes(line: str) -> bytes:
    """One base85 line: a length character (``A``-``Z`` 1-26, ``a``-``z`` 27-52 bytes), then the data."""
    first = line[0]
    length = ord(first) - ord("A") + 1 if "A" <= first <= "Z" else ord(first) - ord("a") + 27
    return base64.b85decode(line[1:].rstrip("\n"))[:length]


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """git's delta header size: little-endian base-128, the high bit of each byte saying "more follows"."""
    value, shift = 0, 0
    while pos < len(data):
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return value, pos


def _delta_result(lines: Sequence[str]) -> int:
    """The result size a delta's header states; 0 when its data cannot be read (git refuses it then)."""
    inflater = zlib.decompressobj()
    head = b""
    try:
        for line in lines:
            if not line.strip():
                break
            head += inflater.decompress(inflater.unconsumed_tail + _line_bytes(line), _DELTA_HEADER - len(head))
            if len(head) >= _DELTA_HEADER:
                break
    except (ValueError, binascii.Error, zlib.error):
        return 0
    _, pos = _varint(head, 0)
    result, _ = _varint(head, pos)
    return result


def inflated_size(lines: Sequence[str]) -> int:
    """Bytes git allocates for the blocks starting at ``lines[0]`` (a ``literal``/``delta`` line)."""
    total, i = 0, 0
    while i < len(lines):
        block = _BLOCK.match(lines[i].rstrip("\n"))
        if block is None:
            break
        total += int(block.group("size"))
        i += 1
        if block.group("kind") == "delta":
            total += _delta_result(lines[i:])
        while i < len(lines) and lines[i].strip():
            i += 1
        i += 1
    return total
