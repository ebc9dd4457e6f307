"""Admission control: the API serves a bounded number of requests at once, and says 503
with ``Retry-After`` when more arrive than it can serve soon, instead of hanging them all.

The routes are plain functions run in anyio's thread pool, each taking a database
connection. With more requests in flight than connections, every thread could be waiting
for a connection whose holder waits for a thread: nothing moves until the pool's timeout
(issue 25, at 60-80 clients). Here at most ``LABELAUDIT_MAX_ACTIVE_REQUESTS`` requests run,
and the pool and the thread pool have room for all of them (:func:`capacity`), so an
admitted request never waits for a connection or a thread that another one holds. Up to
``LABELAUDIT_MAX_WAITING_REQUESTS`` more wait their turn in the event loop, holding neither,
for ``LABELAUDIT_BUSY_TIMEOUT`` at most; the rest are answered 503 at once.

``/healthz`` bypasses all this (the process answers however busy it is); ``/readyz`` and
``/metrics`` have a small lane of their own, so probes and scrapes still answer under load.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Settings
from .errors import error_response

log = logging.getLogger(__name__)
UNLIMITED_PATHS = frozenset({"/healthz"})
PROBE_PATHS = frozenset({"/readyz", "/metrics"})
PROBE_SLOTS = 2


def capacity(settings: Settings) -> int:
    """Requests that may hold a connection and a thread at once: the pool and the thread
    pool are made at least this large."""
    return settings.max_active_requests + PROBE_SLOTS


class Turnstile:
    """``slots`` holders at a time; up to ``max_waiting`` more wait (first come, first
    served) for ``wait_s`` at most. Event-loop only: no lock needed, none bound to a loop."""

    def __init__(self, slots: int, max_waiting: int, wait_s: float) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self.wait_s = wait_s
        self.active = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def enter(self) -> bool:
        """Take a slot (True), or give up when too many wait or the wait is too long."""
        if self.active < self.slots and not self.waiting:
            self.active += 1
            return True
        if len(self.waiting) >= self.max_waiting:
            return False
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await asyncio.wait({turn}, timeout=self.wait_s)
        except BaseException:  # cancelled: the client went away while it waited
            self._give_up(turn)
            raise
        if turn.done():
            return True  # handed over by leave(): the slot is counted already
        self._give_up(turn)
        return False

    def leave(self) -> None:
        """Hand the slot to the longest waiter, or free it."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.active -= 1

    def _give_up(self, turn: asyncio.Future[None]) -> None:
        if turn.done():
            self.leave()  # the slot arrived as the wait ended: pass it on
        else:
            turn.cancel()
            self.waiting.remove(turn)


class AdmissionMiddleware:
    """Pure ASGI, so a streamed answer (an export) holds its slot until its last byte."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        wait_s = settings.busy_timeout_s
        self.requests = Turnstile(
            settings.max_active_requests, settings.max_waiting_requests, wait_s
        )
        self.probes = Turnstile(PROBE_SLOTS, PROBE_SLOTS, wait_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        turnstile = self.probes if scope["path"] in PROBE_PATHS else self.requests
        if not await turnstile.enter():
            log.warning(
                "busy: %s %s answered 503 (%d requests active, %d waiting)",
                scope["method"],
                scope["path"],
                turnstile.active,
                len(turnstile.waiting),
            )
            busy = error_response(503, "server_busy", "the server is busy; try again shortly")
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            turnstile.leave()
