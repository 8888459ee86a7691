"""One mapping from hepatrial's domain errors to HTTP responses (RFC 9457 problem details).

Every error response is ``application/problem+json``: ``type`` (a URI reference naming the kind
of problem), ``title``, ``status``, ``detail``, and for refused records ``problems``, the edit
checks' field-level problems (field, value, unit, rule, severity, message, fix).
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hepatrial.exceptions import (
    AllocationError,
    ConfirmationNeededError,
    ConflictError,
    EligibilityError,
    HepatrialError,
    InvalidRecordError,
    NotAllowedError,
    NotFoundError,
    Problem,
    UnitError,
)
from hepatrial.server.schemas import ProblemPublic

PROBLEM_JSON: Final = "application/problem+json"

_DESCRIPTIONS: Final = {
    400: "Refused by the service.",
    401: "No usable bearer token.",
    403: "The policy does not allow the caller's role this action.",
    404: "No such record among the caller's sites.",
    409: "Conflicts with stored data (already randomized, an idempotency key reused, ...).",
    422: "The request or the record failed its checks; ``problems`` lists each.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` declarations of problem-details answers with ``statuses``."""
    schema = {"$ref": "#/components/schemas/ProblemPublic"}
    return {
        status: {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


def problem_schemas() -> dict[str, Any]:
    """The OpenAPI components of :class:`~hepatrial.server.schemas.ProblemPublic`."""
    schema = ProblemPublic.model_json_schema(ref_template="#/components/schemas/{model}")
    return {"ProblemPublic": schema, **schema.pop("$defs", {})}


_KINDS: Final[tuple[tuple[type[HepatrialError], int, str, str], ...]] = (
    (ConfirmationNeededError, 422, "confirmation-needed", "Confirmation needed"),
    (InvalidRecordError, 422, "invalid-record", "Invalid record"),
    (UnitError, 422, "invalid-record", "Invalid record"),
    (EligibilityError, 422, "not-eligible", "Not eligible"),
    (ConflictError, 409, "conflict", "Conflicts with stored data"),
    (AllocationError, 409, "allocation-refused", "Allocation refused"),
    (NotFoundError, 404, "not-found", "Not found"),
    (NotAllowedError, 403, "forbidden", "Not allowed"),
)


def problem_response(
    status: int, slug: str, title: str, detail: str, problems: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": f"/api/v1/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if problems:
        body["problems"] = problems
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _problem(p: Problem) -> dict[str, Any]:
    value = (
        p.value
        if isinstance(p.value, str | int | float | bool) or p.value is None
        else str(p.value)
    )
    return {
        "field": p.field,
        "value": value,
        "unit": p.unit,
        "rule": p.rule,
        "severity": p.severity,
        "message": p.message,
        "fix": p.fix,
    }


async def _domain(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HepatrialError)  # noqa: S101 - registered for HepatrialError only
    status, slug, title = 400, "refused", "Refused"
    for cls, code, name, heading in _KINDS:
        if isinstance(error, cls):
            status, slug, title = code, name, heading
            break
    problems = [_problem(p) for p in getattr(error, "problems", ())]
    return problem_response(status, slug, title, str(error), problems)


async def _http(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)  # noqa: S101 - registered for HTTPException only
    slug = {401: "unauthenticated", 403: "forbidden", 404: "not-found"}.get(
        error.status_code, "http-error"
    )
    return problem_response(
        error.status_code, slug, slug.replace("-", " ").capitalize(), str(error.detail)
    )


async def _validation(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)  # noqa: S101 - registered for it only
    problems = [
        {
            "field": ".".join(str(part) for part in item["loc"][1:]) or str(item["loc"][0]),
            "value": None,
            "unit": None,
            "rule": f"request.{item['type']}",
            "severity": "hard",
            "message": item["msg"],
            "fix": "correct the request",
        }
        for item in error.errors()
    ]
    return problem_response(
        422, "invalid-request", "Invalid request", "the request is malformed", problems
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to problem details, once for the whole application."""
    app.add_exception_handler(HepatrialError, _domain)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
