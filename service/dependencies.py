"""FastAPI dependencies shared by the domains' routers.

The accessors are ``async``: a plain ``def`` dependency costs a hop through the thread pool,
which a request should spend on work that blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from .config import Settings
from .db import Database
from .queue import AuditQueue
from .storage import Storage


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def get_queue(request: Request) -> AuditQueue:
    queue: AuditQueue = request.app.state.queue
    return queue


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    with database.session_scope() as session:
        yield session


# "function" scope commits before the response is sent, so a failed commit is an error
# answer rather than a success that did not happen.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
QueueDep = Annotated[AuditQueue, Depends(get_queue)]
DatabaseDep = Annotated[Database, Depends(get_database)]
