"""Who may call what: an API key for every endpoint but health, admin for some.

The key comes as ``Authorization: Bearer <key>`` (scripts, curl) or, for the dashboard, in
the sign-in cookie; cookie requests that change data also need the CSRF token (see
:mod:`.session`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..dependencies import DatabaseDep, SessionDep
from ..errors import Forbidden, Unauthorized
from . import service
from .schemas import Principal
from .session import CSRF_HEADER, SAFE_METHODS, check_csrf, cookie_key

bearer = HTTPBearer(auto_error=False, description="An API key: `labelaudit keys create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def require_key(request: Request, session: SessionDep, credentials: Credentials) -> Principal:
    return _authenticate(request, session, credentials)


def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden(
            f"key {principal.name!r} has role {principal.role!r}; this needs an admin key",
            code="admin_required",
        )
    return principal


def require_admin_upfront(
    request: Request, database: DatabaseDep, credentials: Credentials
) -> Principal:
    """The admin check of an upload, in a unit of work of its own: no transaction stays open
    (on SQLite: no write lock is held) while the body streams in for minutes."""
    with database.session_scope() as session:
        principal = _authenticate(request, session, credentials)
    return require_admin(principal)


def _authenticate(
    request: Request, session: Session, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return service.authenticate(session, credentials.credentials)
    key = cookie_key(request)
    if key is None:
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", code="missing_key")
    principal = service.authenticate(session, key)
    if request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return principal


Reviewer = Annotated[Principal, Depends(require_key)]
Admin = Annotated[Principal, Depends(require_admin)]
UploadingAdmin = Annotated[Principal, Depends(require_admin_upfront)]
