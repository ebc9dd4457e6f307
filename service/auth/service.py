"""Creating, checking and revoking API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from ..db import utcnow
from ..errors import Conflict, NotFound, Unauthorized
from . import repository
from .models import ApiKey
from .schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, Principal, Role

KEY_PREFIX = "la_"
# Recording every use would turn each read into a write; a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, request: ApiKeyCreate) -> ApiKeyCreated:
    if repository.find_key_by_name(session, request.name) is not None:
        raise Conflict(f"a key named {request.name!r} exists", code="key_exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = _store_key(session, request.name, request.role, key)
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=key)


def ensure_key(session: Session, name: str, role: Role, key: str) -> None:
    """Make ``key`` valid under ``name`` (e.g. LABELAUDIT_ADMIN_KEY at start-up), replacing
    the key stored under that name if it differs."""
    row = repository.find_key_by_name(session, name)
    if row is None:
        _store_key(session, name, role, key)
    elif row.key_hash != hash_key(key) or row.role != role:
        row.key_hash, row.role, row.prefix = hash_key(key), role, key[:8]
    session.flush()


def authenticate(session: Session, key: str) -> Principal:
    return authenticate_digest(session, hash_key(key))


def authenticate_digest(session: Session, digest: str) -> Principal:
    """The principal of the key whose stored digest is ``digest`` (a Bearer key hashed, or
    the one a session token names); 401 when no key has it."""
    row = repository.find_key_by_hash(session, digest)
    # The lookup is by hash, so timing says nothing about the key; compare anyway.
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise Unauthorized("the API key is not valid", code="invalid_key")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        repository.record_use(session, row.id, now, now - LAST_USED_RESOLUTION)
    return Principal(name=row.name, role=row.role)  # type: ignore[arg-type]


def has_keys(session: Session) -> bool:
    return repository.count_keys(session) > 0


def list_keys(session: Session) -> list[ApiKey]:
    return repository.list_keys(session)


def revoke_key(session: Session, name: str) -> None:
    if not repository.delete_key(session, name):
        raise NotFound(f"no key named {name!r}", code="key_not_found")


def _store_key(session: Session, name: str, role: str, key: str) -> ApiKey:
    row = ApiKey(name=name, role=role, key_hash=hash_key(key), prefix=key[:8])
    session.add(row)
    session.flush()
    return row
