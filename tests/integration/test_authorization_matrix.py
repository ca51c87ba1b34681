"""Who may call what: every API operation × every role (and no token), and users reaching for another's records.

The operations come from the app's own routes, so a new endpoint cannot slip past: an operation that no rule below
covers fails the test until someone writes down who may call it. The rules are API.md's "Who may call what",
written independently of the guards in the code (a guard that drifts from them fails here):

- `admin` everything; `officer` every change except approving, reviewing, user administration and policy;
- `reviewer` approves, rejects and reviews, and reads; `auditor` reads everything, exports cross-check lists,
  changes nothing; staff (officer, reviewer, auditor) read every GET unless an exception says otherwise;
- `school` the 回执 and graduation reviews of its own university's students (and reads what it needs for them);
- `donor` its own donor record, donations, receipts and allocation report; `graduate` the `me/…` paths (and its
  own award's acknowledgement); public paths need nothing.

An allowed role never gets 401/403 (any other status will do: the bodies here are empty or the records missing);
a role not allowed gets 403, and a request without a token 401.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from litestar.routes import HTTPRoute

from service.auth import ROLES
from service.identity import make_id_number
from tests.integration.donation_fixtures import credit_code, on_day
from tests.integration.loan_fixtures import loan_world

STAFF = frozenset({"officer", "reviewer", "auditor"})
PUBLIC = "public"
ADMIN = frozenset({"admin"})
ANY = r"[^/]+"

# (methods, path under /api/v1 as a regex with {…} for a parameter, roles besides admin). First match wins, so the
# exceptions come before the general rules at the end.
RULES: list[tuple[str, str, Any]] = [
    # public: sign-in, the verification links printed on paper, the public notice and objections to it, and the
    # SMS gateway's delivery reports (which carry the gateway's own token, checked in the handler)
    ("POST", "/auth/login", PUBLIC),
    # every signed-in user signs itself out and changes its own password
    ("POST", "/auth/(logout|password)", frozenset(ROLES)),
    ("GET", "/loan-contracts/verify/{}", PUBLIC),
    ("GET", "/receipts/verify/{}", PUBLIC),
    ("GET", "/notices/{}", PUBLIC),
    ("POST", "/notices/{}/objections", PUBLIC),
    ("POST", "/notifications/sms-receipts", PUBLIC),
    # user administration and policy are the admin's
    ("GET POST", "/users(/.*)?", ADMIN),
    ("POST", "/loan-policy", ADMIN),
    ("PATCH", "/notification-rules/{}", ADMIN),
    # approving and reviewing: the reviewer (maker-checker: never the officer who prepared it)
    ("POST", "/loan-applications/{}/(approve|reject)", ADMIN | {"reviewer"}),
    ("POST", "/loan-reliefs/{}/(approve|reject)", ADMIN | {"reviewer"}),
    ("POST", "/applications/{}/review", ADMIN | {"reviewer"}),
    ("POST", "/objections/{}/decide", ADMIN | {"reviewer"}),
    ("POST", "/awards/{}/(review|revoke)", ADMIN | {"reviewer"}),
    ("POST", "/card-changes/{}/decision", ADMIN | {"reviewer"}),  # a second person approves a bank card change
    ("POST", "/loan-imports/batches/{}/(accept|reject)", ADMIN | {"reviewer"}),  # imported money counts once accepted
    # the school: 回执 and graduation reviews of its own students, and what it reads to do them
    ("POST", "/graduation-confirmations/{}/review", ADMIN | {"reviewer", "school"}),
    ("GET", "/graduation-confirmations", ADMIN | STAFF | {"school"}),
    ("POST", "/loan-contracts/{}/receipt", ADMIN | {"officer", "school"}),
    ("GET", "/loan-contracts(/{}(/schedule|/certificate)?)?", ADMIN | STAFF | {"school"}),
    ("GET", "/(students|universities)(/{})?", ADMIN | STAFF | {"school"}),
    # the donor: its own donor record, donations, receipts and allocation report
    ("GET", "/donors/{}(/allocation-report)?", ADMIN | STAFF | {"donor"}),
    ("GET", "/donations(/{})?", ADMIN | STAFF | {"donor"}),
    ("GET", "/receipts/{}", ADMIN | STAFF | {"donor"}),
    # the graduate: me/… and the acknowledgement of its own award
    ("GET PUT POST", "/me/.*", {"graduate"}),  # an admin passes the guard but has no "me": not checked
    ("POST", "/awards/{}/acknowledge", ADMIN | {"officer", "graduate"}),
    ("GET", "/awards/{}/acknowledgement", ADMIN | STAFF | {"graduate"}),
    # the cross-check list carries full ID numbers: only the auditor exports it, not even an admin
    # (donations/crosscheck.py: the one place full ID numbers leave the service)
    ("GET", "/cross-check/export", {"auditor"}),
    # the general rules: staff read, the officer changes
    ("GET", "/.*", ADMIN | STAFF),
    ("POST PUT PATCH DELETE", "/.*", ADMIN | {"officer"}),
]
_COMPILED = [
    (set(methods.split()), re.compile("/api/v1" + path.replace("{}", ANY) + "$"), roles)
    for methods, path, roles in RULES
]


def expected_roles(method: str, path: str) -> Any:
    for methods, pattern, roles in _COMPILED:
        if method in methods and pattern.match(path):
            return roles
    return None


def operations(app: Any) -> list[tuple[str, str]]:
    """(method, path template with parameter types) of every documented operation under /api/v1."""
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path_format.startswith("/api/v1/"):
            continue
        for handler in route.route_handlers:
            if handler.include_in_schema is False:
                continue
            found.update((m, route.path) for m in handler.http_methods if m not in ("OPTIONS", "HEAD"))
    return sorted(found, key=lambda op: (op[1], op[0]))


def concrete(path: str) -> str:
    """A path with every parameter filled by something that exists nowhere (so an allowed call changes nothing)."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: "999999" if m.group(2) == ":int" else "NOPE-0", path)


def test_every_operation_has_a_rule(app):
    missing = [f"{m} {p}" for m, p in operations(app) if expected_roles(m, concrete(p)) is None]
    assert not missing, f"operations with no authorization rule in this test: {missing}"
    assert len(operations(app)) >= 80


async def test_every_operation_by_every_role(client, app, make_user):
    officer = await make_user("officer")
    await client.post(
        "/api/v1/universities", json={"code": "10126", "name": "内蒙古大学", "province": "内蒙古"}, headers=officer
    )
    users: dict[str | None, dict[str, str]] = {None: {}}
    student = await client.post(
        "/api/v1/students",
        headers=officer,
        json={
            "name": "毕业生",
            "id_number": make_id_number("150430", date(2003, 3, 3), 31),
            "phone": "13812340031",
            "household_county": "示范县",
            "household_province": "内蒙古",
            "categories": [],
            "university_code": "10126",
            "level": "undergraduate",
            "study_years": 4,
            "enrolled_on": "2021-09-01",
            "expected_graduation": "2025-06-30",
        },
    )
    assert student.status_code == 201, student.text
    scope = {
        "school": {"university_code": "10126"},
        "donor": {"donor_id": 999999},
        "graduate": {"student_id": student.json()["id"]},
    }
    for role in ROLES:
        users[role] = await make_user(role, **scope.get(role, {}))
    wrong: list[str] = []
    # Signing out revokes the role's token: last, so that every other operation still sees a signed-in user.
    for method, template in sorted(operations(app), key=lambda op: op[1].endswith("/auth/logout")):
        path = concrete(template)
        allowed = expected_roles(method, path)
        for role, headers in users.items():
            if role == "admin" and path.startswith("/api/v1/me/"):
                continue  # a 403 (no student of its own) or a 400 (the body is read first): either is right
            kwargs: dict[str, Any] = {"headers": headers}
            if method in ("POST", "PUT", "PATCH"):
                kwargs["json"] = {}
            status = (await client.request(method, path, **kwargs)).status_code
            if allowed == PUBLIC or role in allowed:
                ok = status not in (401, 403)
            else:
                ok = status == (401 if role is None else 403)
            if not ok:
                wrong.append(f"{method} {template} as {role or 'no token'}: {status}")
    assert not wrong, "\n".join(wrong)


# ---- scope: a user of the right role reaching for another's records ----


@pytest.fixture
async def two_of_everything(client, make_user):
    w = await loan_world(client, make_user)  # ug and jc at 10126, pg at 10027
    contract = await w.contract("ug")
    no = contract["contract_no"]
    donors = []
    for serial in (1, 2):
        r = await client.post(
            "/api/v1/donors",
            json={"name": f"捐赠方{serial}", "kind": "organization", "credit_code": credit_code(serial)},
            headers=w.officer,
        )
        assert r.status_code == 201, r.text
        donors.append(r.json()["id"])
    program = (
        await client.post(
            "/api/v1/programs",
            json={"name": "助学金", "funding": "social", "rule": {"type": "fixed", "amount": "1000.00"}},
            headers=w.officer,
        )
    ).json()
    gift = await client.post(
        "/api/v1/donations",
        headers={**w.officer, "Idempotency-Key": "scope-1"},
        json={
            "donor_id": donors[0],
            "program_id": program["id"],
            "amount": "5000.00",
            "received_on": "2025-08-01",
            "method": "bank_transfer",
            "reference": "SCOPE-1",
        },
    )
    assert gift.status_code == 201, gift.text
    return {
        "w": w,
        "contract_no": no,
        "donors": donors,
        "donation": gift.json(),
        "program": program["id"],
        "school_other": await make_user("school", university_code="10027"),
        "school_own": await make_user("school", university_code="10126"),
        "donor_other": await make_user("donor", donor_id=donors[1]),
        "donor_own": await make_user("donor", donor_id=donors[0]),
        "graduate_other": await make_user("graduate", student_id=w.students["pg"]),
        "graduate_own": await make_user("graduate", student_id=w.students["ug"]),
    }


async def test_a_school_reaches_only_its_own_universitys_students(client, two_of_everything):
    t = two_of_everything
    no, ug = t["contract_no"], t["w"].students["ug"]
    for method, path, body in (
        ("GET", f"/api/v1/loan-contracts/{no}", None),
        ("GET", f"/api/v1/loan-contracts/{no}/schedule", None),
        ("GET", f"/api/v1/loan-contracts/{no}/certificate", None),
        ("POST", f"/api/v1/loan-contracts/{no}/receipt", {"amount": "6500.00"}),
        ("GET", f"/api/v1/students/{ug}", None),
    ):
        other = await client.request(method, path, headers=t["school_other"], json=body)
        assert other.status_code == 403, (method, path, other.text)
        own = await client.request(method, path, headers=t["school_own"], json=body)
        assert own.status_code < 300, (method, path, own.text)
    listed = (await client.get("/api/v1/loan-contracts", headers=t["school_other"])).json()
    assert no not in str(listed)
    students = (await client.get("/api/v1/students", headers=t["school_other"])).json()
    assert ug not in [s["id"] for s in students["items"]]


async def test_a_school_reviews_only_its_own_students_graduation(client, two_of_everything):
    t = two_of_everything
    r = await client.post(
        "/api/v1/me/graduation-confirmation",
        headers=t["graduate_own"],
        json={"employer": "某公司", "phone": "13812340000", "address": "呼和浩特"},
    )
    assert r.status_code == 201, r.text
    item = r.json()["id"]
    listed = (await client.get("/api/v1/graduation-confirmations", headers=t["school_other"])).json()
    assert item not in [i["id"] for i in listed]
    other = await client.post(
        f"/api/v1/graduation-confirmations/{item}/review", headers=t["school_other"], json={"approved": True}
    )
    assert other.status_code == 403, other.text
    own = await client.post(
        f"/api/v1/graduation-confirmations/{item}/review", headers=t["school_own"], json={"approved": True}
    )
    assert own.status_code == 200, own.text


async def test_a_donor_reaches_only_its_own_records(client, two_of_everything):
    t = two_of_everything
    donor, gift = t["donors"][0], t["donation"]
    paths = [
        f"/api/v1/donors/{donor}",
        f"/api/v1/donors/{donor}/allocation-report",
        f"/api/v1/donations/{gift['id']}",
        f"/api/v1/receipts/{gift['receipt_no']}",
        f"/api/v1/receipts/{gift['receipt_no']}?format=pdf",
    ]
    for path in paths:
        assert (await client.get(path, headers=t["donor_other"])).status_code == 403, path
        assert (await client.get(path, headers=t["donor_own"])).status_code == 200, path
    theirs = (await client.get("/api/v1/donations", headers=t["donor_other"])).json()
    assert gift["receipt_no"] not in str(theirs)
    assert gift["receipt_no"] in str((await client.get("/api/v1/donations", headers=t["donor_own"])).json())


async def test_a_graduate_sees_only_its_own_contracts(client, two_of_everything):
    t = two_of_everything
    no = t["contract_no"]
    assert no not in (await client.get("/api/v1/me/contracts", headers=t["graduate_other"])).text
    assert no in (await client.get("/api/v1/me/contracts", headers=t["graduate_own"])).text
    for path in (f"/api/v1/loan-contracts/{no}", f"/api/v1/students/{t['w'].students['ug']}"):
        assert (await client.get(path, headers=t["graduate_own"])).status_code == 403, path


async def test_a_graduate_reaches_only_its_own_award(client, two_of_everything):
    t = two_of_everything
    w, program = t["w"], t["program"]
    grant = await client.post(
        f"/api/v1/programs/{program}/applications",
        headers=w.officer,
        json={"student_id": w.students["ug"], "academic_year": 2025, "bank_card": "6222021234567890128"},
    )  # the card is verified by the review: a grant is paid only to a verified card
    assert grant.status_code == 201, grant.text
    r = await client.post(
        f"/api/v1/applications/{grant.json()['id']}/review", headers=w.reviewer, json={"approved": True}
    )
    assert r.status_code == 200, r.text
    with on_day("2025-09-01"):
        assert (
            await client.post(
                f"/api/v1/programs/{program}/notices", headers=w.officer, json={"starts_on": "2025-09-01"}
            )
        ).status_code == 201
    with on_day("2025-09-08"):
        awards = (
            await client.post(
                f"/api/v1/programs/{program}/awards/finalize", headers=w.officer, json={"as_of": "2025-09-08"}
            )
        ).json()["awards"]
    award = awards[0]["id"]
    r = await client.post(
        f"/api/v1/awards/{award}/pay", headers=w.officer, json={"paid_on": "2025-10-10", "reference": "SCOPE-PAY-1"}
    )
    assert r.status_code == 201, r.text
    path = f"/api/v1/awards/{award}/acknowledgement"
    assert (await client.get(path, headers=t["graduate_other"])).status_code == 403
    assert (await client.get(path, headers=t["graduate_own"])).status_code == 200
    ack = f"/api/v1/awards/{award}/acknowledge"
    body = {"acknowledged_on": "2025-10-12"}
    assert (await client.post(ack, headers=t["graduate_other"], json=body)).status_code == 403
    assert (await client.post(ack, headers=t["graduate_own"], json=body)).status_code == 200
