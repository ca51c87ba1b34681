"""Cross-check: the auditor's export with full ID numbers, and the flags that come back."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.integration.donation_fixtures import V1, grant_world


async def _export(client, who, **params):
    return await client.get(f"{V1}/cross-check/export", params=params, headers=who)


def _refill(content: bytes, findings: dict[int, tuple[str, str]], id_override: dict[int, str] | None = None) -> bytes:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    for row in ws.iter_rows(min_row=2):
        award_id = int(row[0].value)
        if award_id in findings:
            row[11].value, row[12].value = findings[award_id]
        if id_override and award_id in id_override:
            row[4].value = id_override[award_id]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_export_for_the_auditor_only_and_findings_reopen_awards(client, make_user):
    w = await grant_world(client, make_user)
    donor = await w.donor()
    p = (await w.program(funding="social"))["id"]
    await w.donate(donor, p, "10000.00")
    awards = {a["student_id"]: a["id"] for a in await w.award(p, "ug", "jc")}
    ug, jc = awards[w.students["ug"]], awards[w.students["jc"]]
    await w.pay(ug)
    admin = await make_user("admin", username="admin-x")
    for who in (w.officer, w.reviewer, admin):
        assert (await _export(client, who)).status_code == 403
    r = await _export(client, w.auditor, academic_year=2025)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:5] == ("资助编号", "项目", "学年", "姓名", "身份证号")
    by_id = {row[0]: row for row in rows[1:]}
    assert len(by_id[ug][4]) == 18 and "*" not in by_id[ug][4]  # the full ID number
    assert by_id[ug][9] == "已发放" and by_id[jc][9] == "已确定"

    # a row that names the wrong person: 422, nothing flagged
    bad = _refill(r.content, {ug: ("不符", "家庭有工商登记")}, {ug: "150430200001010000"})
    resp = await client.post(f"{V1}/cross-check/findings", files={"file": ("back.xlsx", bad)}, headers=w.officer)
    assert resp.status_code == 422 and resp.json()["errors"][0]["row"] == 2
    assert (await w.get(f"/awards/{ug}"))["award"]["status"] == "paid"
    assert (
        await client.post(
            f"{V1}/cross-check/findings", files={"file": ("x.xlsx", b"not a workbook")}, headers=w.officer
        )
    ).status_code == 422

    back = _refill(r.content, {ug: ("不符", "家庭有工商登记"), jc: ("通过", "")})
    resp = await client.post(f"{V1}/cross-check/findings", files={"file": ("back.xlsx", back)}, headers=w.officer)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"flagged": [ug]}
    award = (await w.get(f"/awards/{ug}"))["award"]
    assert award["status"] == "under_review" and award["flag"] == "不符：家庭有工商登记"
    # confirmed: back to paid; a new finding, not confirmed: revoked and the money back in the pool
    r = await w.post(f"/awards/{ug}/review", {"confirmed": True, "reason": "工商登记已注销"}, w.reviewer, expect=200)
    assert r.json()["status"] == "paid" and r.json()["flag"] is None
    resp = await client.post(f"{V1}/cross-check/findings", files={"file": ("back.xlsx", back)}, headers=w.officer)
    assert resp.json() == {"flagged": [ug]}
    r = await w.post(
        f"/awards/{ug}/review", {"confirmed": False, "reason": "确不符合", "on": "2025-12-01"}, w.reviewer, expect=200
    )
    assert (r.json()["status"], r.json()["funded"]) == ("revoked", "0.00")
    report = await w.get(f"/donors/{donor}/allocation-report")
    assert report["unallocated"] == "10000.00"
