"""The check code printed on a contract's 受理证明: a short HMAC of the contract's key facts, for verification.

A module of its own, with nothing but hashlib behind it (the contract import signs every row it writes).
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_PAIRS = tuple(a + b for a in _BASE32 for b in _BASE32)  # the Base32 of every 10 bits
_BLOCK = 64  # SHA-256's block size, the size HMAC pads its key to (RFC 2104)


@functools.lru_cache(maxsize=8)
def _keyed(secret: str) -> tuple[hashlib._Hash, hashlib._Hash]:
    """HMAC-SHA256's inner and outer hashes with the padded key already fed in.

    An import signs 100,000 contracts with one key: `hmac.digest` pads and hashes the key again for each of
    them, a third of the work. Copying these two states is HMAC itself (RFC 2104), computed once per key.
    """
    key = secret.encode()
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    return hashlib.sha256(bytes(b ^ 0x36 for b in key)), hashlib.sha256(bytes(b ^ 0x5C for b in key))


def check_code(secret: str, contract_no: str, id_number: str, principal: int, signed_on: date) -> str:
    """A short code printed on the 受理证明 that only this service can produce (HMAC), for verification."""
    inner, outer = _keyed(secret)
    inner, outer = inner.copy(), outer.copy()
    inner.update(f"{contract_no}|{id_number}|{principal}|{signed_on}".encode())
    outer.update(inner.digest())
    # The first 10 characters of the digest's Base32 (RFC 4648) are its first 50 bits, 5 bits a character: taken
    # straight from the integer, not through base64's pure-Python encoder.
    # tests/unit/test_check_code.py holds it to hmac and base64.b32encode.
    bits = int.from_bytes(outer.digest()[:7], "big") >> 6
    one, two = _BASE32, _PAIRS  # two characters (10 bits) a lookup where the dash allows
    return (
        f"{two[bits >> 40]}{two[(bits >> 30) & 1023]}{one[(bits >> 25) & 31]}-"
        f"{one[(bits >> 20) & 31]}{two[(bits >> 10) & 1023]}{two[bits & 1023]}"
    )
