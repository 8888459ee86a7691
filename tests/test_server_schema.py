"""Property tests of the whole API from its OpenAPI document (schemathesis).

Every operation, with requests generated from the document (valid and invalid): no answer is a
server error, every answer's status, content type, headers and body are the ones the document
declares, and every operation but the health check and signing in refuses a call without a
token with 401
problem details. The store is a SQLite MATCH trial holding randomized participants; calls run
with an investigator's token (an admin's for the admin-only operations) so that both successes
and refusals are exercised. The number of examples is small and, under ``CI=true``, the
examples are derandomized (the ``ci`` Hypothesis profile of ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from _store_support import ADMIN, INVESTIGATOR, build_trial, enrol
from hypothesis import HealthCheck, settings
from schemathesis import checks

from hepatrial.server.app import create_app
from hepatrial.server.settings import Settings
from hepatrial.service.auth import create_token
from hepatrial.store import dispose_engine, open_session

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
ADMIN_ONLY = ("/api/v1/audit/", "/api/v1/exports/", "/api/v1/report")


# The document does not depend on the store: the application is built once for it, and the
# store it serves is set by the fixture below (schemathesis's lazy fixture loader does not
# support this pytest).
APP = create_app(Settings(db="sqlite:///:memory:"))
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """APP serving a SQLite MATCH store with P001-P004 randomized; bearer tokens by user."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('schema')) / 'store.db'}"
    build_trial(url)
    with open_session(url) as session:
        for n in range(1, 5):
            enrol(session, f"P{n:03d}")
        tokens = {
            u: create_token(session, user_id=u, user=ADMIN).token for u in (ADMIN, INVESTIGATOR)
        }
    APP.state.settings = Settings(db=url)
    yield tokens
    dispose_engine(url)


def _token(path: str, tokens: dict[str, str]) -> str:
    return tokens[ADMIN if path.startswith(ADMIN_ONLY) else INVESTIGATOR]


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_declared_and_none_is_a_server_error(
    case: schemathesis.Case, store: dict[str, str]
) -> None:
    headers = {"Authorization": f"Bearer {_token(case.path, store)}"}
    case.call_and_validate(headers=headers, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_but_health_needs_a_token(
    case: schemathesis.Case, store: dict[str, str]
) -> None:
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}  # no session cookie either: an anonymous call
    response = case.call_and_validate(checks=CHECKS)
    if case.method.upper() != case.operation.method.upper():
        assert response.status_code == 405  # an undeclared method: no such operation
    elif case.path == "/api/v1/health":
        assert response.status_code == 200
    elif case.path == "/api/v1/auth/login":
        assert response.status_code in (401, 422)  # signing in is how one gets authenticated
    else:
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == ["application/problem+json"]
        assert response.headers["www-authenticate"] == ["Bearer"]
