"""Headers every answer carries: ``X-Content-Type-Options: nosniff`` (a browser never runs
a JSON answer or an image as another type), and ``Cache-Control: private`` on the answers
to requests that carried a key, so that no shared cache keeps what only a key may read."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth.session import KEY_COOKIE

# Kept as they are: public assets, and answers that are already kept from shared caches.
CACHE_KEEPS = ("public", "private", "no-store")


def carries_key(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and KEY_COOKIE.encode() in value):
            return True
    return False


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        keyed = carries_key(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                cache = headers.get("Cache-Control")
                if keyed and cache is None:
                    headers["Cache-Control"] = "no-store"
                elif keyed and not any(word in str(cache).lower() for word in CACHE_KEEPS):
                    headers["Cache-Control"] = f"private, {cache}"
            await send(message)

        await self.app(scope, receive, send_with_headers)
