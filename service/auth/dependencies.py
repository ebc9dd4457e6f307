"""Who may call what: a bearer key for every endpoint but health, admin for some."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..dependencies import DatabaseDep, SessionDep
from ..errors import Forbidden, Unauthorized
from . import service
from .schemas import Principal

bearer = HTTPBearer(auto_error=False, description="An API key: `labelaudit keys create`.")


def require_key(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("send an API key as 'Authorization: Bearer <key>'", code="missing_key")
    return service.authenticate(session, credentials.credentials)


def require_admin(principal: Annotated[Principal, Depends(require_key)]) -> Principal:
    if not principal.is_admin:
        raise Forbidden(
            f"key {principal.name!r} has role {principal.role!r}; this needs an admin key",
            code="admin_required",
        )
    return principal


def require_admin_upfront(
    database: DatabaseDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The admin check of an upload, in a unit of work of its own: no transaction stays open
    (on SQLite: no write lock is held) while the body streams in for minutes."""
    with database.session_scope() as session:
        principal = require_key(session, credentials)
    return require_admin(principal)


Reviewer = Annotated[Principal, Depends(require_key)]
Admin = Annotated[Principal, Depends(require_admin)]
UploadingAdmin = Annotated[Principal, Depends(require_admin_upfront)]
