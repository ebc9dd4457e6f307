"""Key management over HTTP (admin only); `labelaudit keys create` does the same offline."""

from __future__ import annotations

from fastapi import APIRouter, status

from ..dependencies import SessionDep
from ..errors import BODY_ERROR_RESPONSES, ERROR_RESPONSES
from ..text import StoredText
from . import service
from .dependencies import Admin
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut

router = APIRouter(prefix="/keys", tags=["keys"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[ApiKeyOut])
def list_keys(session: SessionDep, _admin: Admin) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(row) for row in service.list_keys(session)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=BODY_ERROR_RESPONSES,
)
def create_key(request: ApiKeyCreate, session: SessionDep, _admin: Admin) -> ApiKeyCreated:
    return service.create_key(session, request)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(name: StoredText, session: SessionDep, _admin: Admin) -> None:
    service.revoke_key(session, name)
