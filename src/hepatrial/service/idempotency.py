"""``Idempotency-Key``: a retried request gets its first response instead of acting twice.

A network failure after a randomization was stored but before its response arrived leaves the
client not knowing; retrying with the same key returns the stored first response. The key is
bound to the user and to the request (method, path and body): the same key with another request
is a conflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.orm import Session

from hepatrial.exceptions import ConflictError
from hepatrial.service._common import write_operation
from hepatrial.store import IdempotencyKey

Response = TypeVar("Response", bound=BaseModel)


def replayed_or_run(
    session: Session,
    key: str | None,
    user_id: str,
    request: str,
    run: Callable[[], Response],
    model: type[Response],
) -> Response:
    """The stored response of ``key``, or ``run()`` whose response is then stored under it."""
    if key is None:
        return run()
    digest = hashlib.sha256(request.encode()).hexdigest()
    stored = session.get(IdempotencyKey, key)
    if stored is not None:
        if stored.user_id != user_id or stored.request_sha256 != digest:
            raise ConflictError(
                "this Idempotency-Key was used with another request; use a new key for a new "
                "request"
            )
        return model.model_validate_json(stored.response)
    response = run()
    with write_operation(session, user_id):
        session.add(
            IdempotencyKey(
                key=key, user_id=user_id, request_sha256=digest, response=response.model_dump_json()
            )
        )
    return response
