"""Request bodies: the caller is authenticated from its headers before a byte of the body is
read, and a body other than an upload is refused (413) past ``LABELAUDIT_MAX_BODY_BYTES``:
at once when its ``Content-Length`` says so, else as soon as it streams past the limit.

FastAPI reads and parses a route's body before it resolves the route's dependencies, the
key check among them, so without this anyone could make the API read and parse any body
(issue 25: 114 MB of JSON cost 9.3 s and 1.1 GB before the 401). The principal found here
is handed to the route's key check (:func:`service.auth.dependencies.require_key`).

The API docs (``/docs``, ``/openapi.json``) need a key too: only health, readiness and
metrics are open.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth.dependencies import PRINCIPAL_STATE, authenticate_request
from .auth.session import SAFE_METHODS
from .config import Settings
from .db import Database
from .errors import BodyTooLarge, error_response, handled_error

# Streamed to disk by its route, under LABELAUDIT_MAX_UPLOAD_BYTES.
UPLOADS = frozenset({("POST", "/audits")})
# The dashboard's forms: signing in is how a browser gets its key; signing out needs none.
KEYLESS_FORMS = frozenset({"/sign-in", "/sign-out"})
DOCS_PATHS = ("/docs", "/openapi.json")


def needs_key_upfront(scope: Scope) -> bool:
    path: str = scope["path"]
    if path.startswith(DOCS_PATHS):
        return True
    return scope["method"] not in SAFE_METHODS and path not in KEYLESS_FORMS


class BodyGuardMiddleware:
    """Pure ASGI: it sees the body message by message, before anything buffers it."""

    def __init__(self, app: ASGIApp, settings: Settings, database: Database) -> None:
        self.app = app
        self.max_bytes = settings.max_body_bytes
        self.database = database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if needs_key_upfront(scope):
            request = Request(scope)
            try:
                principal = await run_in_threadpool(authenticate_request, request, self.database)
            except Exception as exc:
                answer = await handled_error(request, exc)
                await answer(scope, receive, send)
                return
            scope["state"] = {**scope.get("state", {}), PRINCIPAL_STATE: principal}
        if (scope["method"], scope["path"]) in UPLOADS:
            await self.app(scope, receive, send)
            return
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            too_large = BodyTooLarge(self.max_bytes)
            answer = error_response(413, too_large.code, too_large.detail)
            await answer(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that raises :class:`BodyTooLarge` once the body passes the limit."""
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        return limited
