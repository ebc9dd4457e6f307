"""Who may call what: an API key for every endpoint but health, admin for some.

The key comes as ``Authorization: Bearer <key>`` (scripts, curl) or, for the dashboard, in
the sign-in cookie; cookie requests that change data also need the CSRF token (see
:mod:`.session`).

A key is checked in a unit of work of its own, committed before the route runs: the
connection goes back to the pool at once, and on SQLite the once-a-minute ``last_used_at``
write holds the write lock for that statement only, never while the route waits its turn
for a thread. Requests that carry a body are authenticated earlier still, from their
headers, before the body is read (:mod:`service.bodies`); the route then reuses that
principal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool

from ..db import Database
from ..dependencies import DatabaseDep
from ..errors import Forbidden, Unauthorized
from . import service
from .schemas import Principal
from .session import CSRF_HEADER, SAFE_METHODS, check_csrf, cookie_key_digest

# Declared for the OpenAPI schema (Swagger UI's "Authorize"); the header is read below.
bearer = HTTPBearer(auto_error=False, description="An API key: `labelaudit keys create`.")
PRINCIPAL_STATE = "principal"


async def require_key(
    request: Request,
    database: DatabaseDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if isinstance(principal, Principal):
        return principal
    return await run_in_threadpool(authenticate_request, request, database)


async def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden(
            f"key {principal.name!r} has role {principal.role!r}; this needs an admin key",
            code="admin_required",
        )
    return principal


def authenticate_request(request: Request, database: Database) -> Principal:
    """The principal of the key ``request`` presents in its headers (its body unread), checked
    in a unit of work of its own; 401 without a valid key, 403 for a cookie request that
    changes data without the CSRF token."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    from_cookie = scheme.lower() != "bearer" or not credentials
    digest = cookie_key_digest(request) if from_cookie else service.hash_key(credentials)
    if digest is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", code="missing_key")
    with database.session_scope() as session:
        principal = service.authenticate_digest(session, digest)
    if from_cookie and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


Reviewer = Annotated[Principal, Depends(require_key)]
Admin = Annotated[Principal, Depends(require_admin)]
