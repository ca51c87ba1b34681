"""QR codes for papers printed by the thousand (receipts): a small encoder that does once what never changes.

For a given version, error level and mask, everything but the data modules is the same on every code (finder,
timing and alignment patterns, format bits, the mask over the data area), and each data bit always lands on the
same module. So the first code of a kind builds a template and the module of every codeword bit; every later
code is the Reed-Solomon step plus an XOR of precomputed pieces over one big integer holding the matrix. That is
a tenth of segno's time per code. Versions 1-6 (up to 106 bytes / 154 alphanumeric characters at level L),
alphanumeric or ASCII byte mode, levels L and M: what a verify URL needs. Anything else is `None` and the
caller uses segno. Tests compare the matrices with segno's for the same version, level and mask, and decode them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALNUM_VALUE = {ch: i for i, ch in enumerate(ALPHANUMERIC)}
_ALNUM_ONLY = re.compile(r"[0-9A-Z $%*+\-./:]*")
MAX_VERSION = 6  # from 7 on a code carries version bits and more alignment patterns: left to segno

# (error-correction codewords per block, data codewords of each block) per version 1-6 and level (ISO 18004 table 9).
_BLOCKS: dict[str, tuple[tuple[int, tuple[int, ...]], ...]] = {
    "l": ((7, (19,)), (10, (34,)), (15, (55,)), (20, (80,)), (26, (108,)), (18, (68, 68))),
    "m": ((10, (16,)), (16, (28,)), (26, (44,)), (18, (32, 32)), (24, (43, 43)), (16, (27, 27, 27, 27))),
}
_FORMAT_LEVEL = {"l": 1, "m": 0}
_ALIGNMENT = (None, None, 18, 22, 26, 30, 34)  # the one alignment pattern's centre, versions 2-6
_MASKS = (
    lambda r, c: (r + c) % 2 == 0,
    lambda r, c: r % 2 == 0,
    lambda r, c: c % 3 == 0,
    lambda r, c: (r + c) % 3 == 0,
    lambda r, c: (r // 2 + c // 3) % 2 == 0,
    lambda r, c: (r * c) % 2 + (r * c) % 3 == 0,
    lambda r, c: ((r * c) % 2 + (r * c) % 3) % 2 == 0,
    lambda r, c: ((r + c) % 2 + (r * c) % 3) % 2 == 0,
)

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1.
_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


@lru_cache(maxsize=None)
def _generator_logs(degree: int) -> tuple[int, ...]:
    """The generator polynomial's coefficients (after the leading 1) as logarithms."""
    poly = [1]
    for i in range(degree):
        nxt = [0] * (len(poly) + 1)
        for j, coef in enumerate(poly):
            nxt[j] ^= coef
            if coef:
                nxt[j + 1] ^= _EXP[_LOG[coef] + i]
        poly = nxt
    return tuple(_LOG[c] for c in poly[1:])


def _ecc(data: bytes | list[int], degree: int) -> list[int]:
    gen, exp, log = _generator_logs(degree), _EXP, _LOG
    rem = [0] * degree
    for byte in data:
        factor = byte ^ rem[0]
        rem = rem[1:] + [0]
        if factor:
            lf = log[factor]
            for j, g in enumerate(gen):
                rem[j] ^= exp[g + lf]
    return rem


@dataclass(frozen=True)
class QrMatrix:
    size: int
    rows: tuple[str, ...]  # one string of "0"/"1" per row, "1" dark, column 0 first
    version: int


class _Kind:
    """What every code of one version, level and mask shares."""

    def __init__(self, version: int, level: str, mask: int) -> None:
        self.version, self.level = version, level
        size = self.size = 17 + 4 * version
        self.ecc_per_block, self.blocks = _BLOCKS[level][version - 1]
        self.data_codewords = sum(self.blocks)
        dark = [[False] * size for _ in range(size)]
        function = [[False] * size for _ in range(size)]

        def put(r: int, c: int, on: bool) -> None:
            dark[r][c], function[r][c] = on, True

        for fr, fc in ((0, 0), (0, size - 7), (size - 7, 0)):  # finders with their light separators
            for dr in range(-1, 8):
                for dc in range(-1, 8):
                    r, c = fr + dr, fc + dc
                    if 0 <= r < size and 0 <= c < size:
                        ring = max(abs(dr - 3), abs(dc - 3))
                        put(r, c, ring != 2 and ring != 4)
        for i in range(8, size - 8):  # timing patterns
            put(6, i, i % 2 == 0)
            put(i, 6, i % 2 == 0)
        if (centre := _ALIGNMENT[version]) is not None:
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    put(centre + dr, centre + dc, max(abs(dr), abs(dc)) != 1)
        fmt = (_FORMAT_LEVEL[level] << 3) | mask
        rem = fmt
        for _ in range(10):
            rem = (rem << 1) ^ ((rem >> 9) * 0x537)
        bits = ((fmt << 10) | rem) ^ 0x5412
        for i in range(15):  # (row, col) of format bit i, both copies
            on = bool((bits >> i) & 1)
            first = (i, 8) if i < 6 else (7, 8) if i == 6 else (8, 8) if i == 7 else (8, 7) if i == 8 else (8, 14 - i)
            second = (8, size - 1 - i) if i < 8 else (size - 15 + i, 8)
            put(*first, on)
            put(*second, on)
        put(size - 8, 8, True)  # the dark module
        # The data modules in placement order: two-column strips from the right, up and down in turn.
        order: list[tuple[int, int]] = []
        right = size - 1
        while right >= 1:
            if right == 6:
                right = 5
            upward = ((right + 1) & 2) == 0
            for vert in range(size):
                r = size - 1 - vert if upward else vert
                for c in (right, right - 1):
                    if not function[r][c]:
                        order.append((r, c))
            right -= 2
        masked = _MASKS[mask]
        template = 0
        for r in range(size):
            for c in range(size):  # a data module holding 0 shows the mask
                if dark[r][c] if function[r][c] else masked(r, c):
                    template |= 1 << (r * size + c)
        self.template = template
        # For each codeword and each of its two nibbles, the XOR the 16 values make: 8 bits per codeword,
        # the most significant first; the remainder bits after the last codeword stay light (0).
        self.nibbles: list[tuple[list[int], list[int]]] = []
        for k in range((len(order)) // 8):
            bit_of = [1 << (r * size + c) for r, c in order[8 * k:8 * k + 8]]
            high = [sum(bit_of[j] for j in range(4) if (v >> (3 - j)) & 1) for v in range(16)]
            low = [sum(bit_of[4 + j] for j in range(4) if (v >> (3 - j)) & 1) for v in range(16)]
            self.nibbles.append((high, low))

    def matrix(self, codewords: list[int]) -> int:
        m = self.template
        for (high, low), cw in zip(self.nibbles, codewords, strict=False):
            m ^= high[cw >> 4] ^ low[cw & 15]
        return m

    def final_codewords(self, data: bytes) -> list[int]:
        """Split into blocks, add each block's error correction, interleave (ISO 18004 7.6)."""
        blocks, eccs, at = [], [], 0
        for length in self.blocks:
            block = data[at:at + length]
            at += length
            blocks.append(block)
            eccs.append(_ecc(block, self.ecc_per_block))
        out = [b[i] for i in range(max(self.blocks)) for b in blocks if i < len(b)]
        out += [e[i] for i in range(self.ecc_per_block) for e in eccs]
        return out


@lru_cache(maxsize=64)
def _kind(version: int, level: str, mask: int) -> _Kind:
    return _Kind(version, level, mask)


def _bitstream(text: str, alphanumeric: bool) -> tuple[int, int]:
    """(bits, length) of mode indicator, character count and data: an integer, most significant bit first."""
    bits, n = (0b0010, 4) if alphanumeric else (0b0100, 4)
    count_bits = 9 if alphanumeric else 8  # versions 1-9
    bits, n = (bits << count_bits) | len(text), n + count_bits
    if alphanumeric:
        for i in range(0, len(text) - 1, 2):
            bits, n = (bits << 11) | (_ALNUM_VALUE[text[i]] * 45 + _ALNUM_VALUE[text[i + 1]]), n + 11
        if len(text) % 2:
            bits, n = (bits << 6) | _ALNUM_VALUE[text[-1]], n + 6
    else:
        for byte in text.encode("ascii"):
            bits, n = (bits << 8) | byte, n + 8
    return bits, n


def encode(text: str, error: str = "m", mask: int = 0) -> QrMatrix | None:
    """The smallest code (version 1-6) holding `text` in alphanumeric mode when every character allows it,
    else byte mode; `None` for what this encoder leaves to segno (non-ASCII, too long)."""
    if not text.isascii():
        return None
    bits, n = _bitstream(text, bool(_ALNUM_ONLY.fullmatch(text)))
    for version in range(1, MAX_VERSION + 1):
        kind = _kind(version, error, mask)
        capacity = 8 * kind.data_codewords
        if n <= capacity:
            break
    else:
        return None
    terminator = min(4, capacity - n)
    bits, n = bits << terminator, n + terminator
    bits, n = bits << (-n % 8), n + (-n % 8)
    data = bits.to_bytes(n // 8, "big") + bytes((0xEC, 0x11) * kind.data_codewords)[:kind.data_codewords - n // 8]
    m = kind.matrix(kind.final_codewords(data))
    size = kind.size
    flat = format(m, f"0{size * size}b")[::-1]  # bit r*size+c at string index r*size+c
    return QrMatrix(size, tuple(flat[r * size:(r + 1) * size] for r in range(size)), version)
