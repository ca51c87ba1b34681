"""service.qr, the cached QR encoder for receipts: the same matrix as segno for the same version, level and mask
(the reference encoder), and every code it makes decodes back to its text (zxing-cpp as the reader)."""

from __future__ import annotations

import base64
import random

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from donations.views import receipt_qr_url
from service import qr

zxingcpp = pytest.importorskip("zxingcpp")
Image = pytest.importorskip("PIL.Image")


def codes(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        raw = base64.b32encode(rng.randbytes(10)).decode()
        out.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:12]}")
    return out


def decoded(m: qr.QrMatrix, scale: int = 3, quiet: int = 4) -> str | None:
    side = (m.size + 2 * quiet) * scale
    image = Image.new("L", (side, side), 255)
    for r, row in enumerate(m.rows):
        for c, bit in enumerate(row):
            if bit == "1":
                x, y = (c + quiet) * scale, (r + quiet) * scale
                image.paste(0, (x, y, x + scale, y + scale))
    found = zxingcpp.read_barcode(image)
    return found.text if found is not None else None


@pytest.mark.parametrize("public_url", ["http://127.0.0.1:8000", "https://zizhu.example.gov.cn"])
@pytest.mark.parametrize("error", ["l", "m"])
def test_same_matrix_as_segno_for_receipt_urls(public_url: str, error: str):
    """Alphanumeric mode, as receipts use it. (In byte mode segno places other, equally valid bits: there the
    decoding test below is the check.)"""
    for i, code in enumerate(codes(40)):
        text, mask = receipt_qr_url(public_url, code), i % 8
        ours = qr.encode(text, error, mask)
        assert ours is not None
        ref = segno.make(text, error=error, mask=mask, micro=False, boost_error=False, version=ours.version,
                         mode="alphanumeric")
        assert ours.rows == tuple("".join("1" if bit else "0" for bit in row) for row in ref.matrix), text


def test_short_url_is_alphanumeric_and_small():
    text = receipt_qr_url("http://127.0.0.1:8000", "ABCD-EFGH-IJKL")
    assert text == "HTTP://127.0.0.1:8000/V/ABCD-EFGH-IJKL"
    m = qr.encode(text, "m", 0)
    assert m is not None and m.version == 2 and m.size == 25
    with_path = receipt_qr_url("https://example.cn/zizhu", "ABCD-EFGH-IJKL")
    assert with_path == "https://example.cn/zizhu/V/ABCD-EFGH-IJKL"  # a path keeps its case: byte mode
    m = qr.encode(with_path, "m", 0)
    assert m is not None and decoded(m) == with_path


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=qr.ALPHANUMERIC + "abcxyz?=&_", min_size=1, max_size=100),
       error=st.sampled_from("lm"), mask=st.integers(0, 7))
def test_every_code_decodes_to_its_text(text: str, error: str, mask: int):
    m = qr.encode(text, error, mask)
    if m is None:  # too long for version 6 at this level
        assert len(text) > 60
        return
    assert decoded(m) == text


def test_left_to_segno():
    assert qr.encode("收据", "m", 0) is None
    assert qr.encode("A" * 200, "m", 0) is None
