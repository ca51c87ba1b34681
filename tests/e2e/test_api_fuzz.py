"""API fuzzing: schemathesis against the app's own OpenAPI document, every operation, on a real server.

Each operation gets a bounded number of generated requests (ZIZHU_FUZZ_EXAMPLES, 8 by default), sent with an
admin's token to a server with the demo data. Checked on every answer: no 5xx, the status is documented, the
content type is documented, the body matches the documented schema, and an operation that needs a sign-in
refuses a request without one. Not checked: that schema-valid data is accepted (business rules rightly refuse
most random data with a 422, which the schema cannot express).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import free_port, installation_env, remove_installation, start_server, stop_server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth,
]
EXAMPLES = int(os.environ.get("ZIZHU_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = installation_env(tmp_path_factory.mktemp("fuzz") / "var")
    env["ZIZHU_LOGIN_MAX_FAILURES"] = "1000000"  # the fuzzer tries many wrong passwords; locking is tested elsewhere
    env["ZIZHU_LOGIN_ADDRESS_MAX_FAILURES"] = "1000000"
    port = free_port()
    proc = start_server(env, port, "--demo", wait=120)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_server(proc)
        remove_installation(env)


def _admin_headers(server: str) -> dict[str, str]:
    token = httpx.post(f"{server}/api/v1/auth/login", json={"username": "admin", "password": "zizhu-demo"}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def test_every_operation_survives_generated_requests(server: str) -> None:
    headers = _admin_headers(server)
    schema = schemathesis.openapi.from_url(f"{server}/schema/openapi.json")
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            # signing out revokes every token of the admin: a fresh one for each such case, and a new shared one after
            signs_out = case.operation.path.endswith("/auth/logout")
            sent = _admin_headers(server) if signs_out else headers
            case.call_and_validate(headers=sent, checks=CHECKS, timeout=30)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[operation.label] = str(exc)[:1500]
        if operation.path.endswith("/auth/logout"):
            headers.update(_admin_headers(server))
    assert operations >= 40, f"only {operations} operations in the document"
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
