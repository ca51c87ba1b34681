"""The 受理证明's check code: encoding only the digest's first 10 bytes gives the codes printed before."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.origination.check_code import check_code


def check_code_as_it_was(secret: str, contract_no: str, id_number: str, principal: int, signed_on: date) -> str:
    mac = hmac.new(secret.encode(), f"{contract_no}|{id_number}|{principal}|{signed_on}".encode(), hashlib.sha256)
    code = base64.b32encode(mac.digest()).decode()[:10]
    return f"{code[:5]}-{code[5:]}"


def test_same_codes_for_many_contracts() -> None:
    rng = random.Random(11643)
    for n in range(5_000):
        secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(rng.choice((8, 43, 64))))
        args = (
            secret,
            f"150430-{2015 + n % 12}-{n:06d}",
            f"{rng.randrange(10**17):017d}{rng.choice('0123456789X')}",
            rng.randrange(100_000, 2_500_001),
            date(2015, 1, 1) + timedelta(days=rng.randrange(4000)),
        )
        assert check_code(*args) == check_code_as_it_was(*args)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=80), st.text(max_size=40), st.text(max_size=20), st.integers(0, 10**12), st.dates())
def test_same_codes_for_any_text(secret: str, contract_no: str, id_number: str, principal: int, signed: date) -> None:
    code = check_code(secret, contract_no, id_number, principal, signed)
    assert code == check_code_as_it_was(secret, contract_no, id_number, principal, signed)
    assert len(code) == 11 and code[5] == "-"
