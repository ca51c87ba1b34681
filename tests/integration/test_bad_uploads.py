"""Uploads that are not what they claim: a zip bomb dressed as a workbook, the wrong content type, a body that is
not multipart at all. Each is refused with a clear problem and nothing is written."""

from __future__ import annotations

import io
import zipfile

from loans.models import Loan
from tests.integration.test_loan_import import URL, count, row, setup, upload, workbook


def _bomb() -> bytes:
    """A real workbook whose sheet part is padded with a gigabyte of zeros that deflate to about a megabyte."""
    good = zipfile.ZipFile(io.BytesIO(workbook([row(1)])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in good.infolist():
            z.writestr(item, good.read(item))
        with z.open("xl/worksheets/padding.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (8 * 1024 * 1024)
            for _ in range(128):
                part.write(chunk)
    return out.getvalue()


async def test_a_zip_bomb_is_refused_before_it_is_unpacked(client, make_user, sessions):
    officer = await setup(client, make_user)
    bomb = _bomb()
    assert len(bomb) < 5 * 1024 * 1024
    r = await upload(client, officer, bomb)
    assert r.status_code == 422 and r.json()["type"] == "/problems/loan-import-file", r.text
    assert "解压后过大" in r.json()["detail_zh"] and r.json()["field"] == "file"
    assert await count(sessions, Loan) == 0


async def test_json_or_text_where_a_file_belongs_is_a_400(client, make_user, sessions):
    officer = await setup(client, make_user)
    for kwargs in (
        {"json": {"file": "contracts.xlsx"}},
        {"content": b"just text", "headers": {"content-type": "text/plain"}},
    ):
        headers = {**officer, **kwargs.pop("headers", {})}
        r = await client.post(URL, headers=headers, **kwargs)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert await count(sessions, Loan) == 0
