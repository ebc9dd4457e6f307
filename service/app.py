"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from .admission import AdmissionMiddleware, capacity
from .audits.router import router as audits_router
from .auth import service as auth_service
from .auth.router import router as keys_router
from .bodies import BodyGuardMiddleware
from .config import Settings, get_settings
from .dashboard.router import install_dashboard
from .db import Database
from .errors import install_error_handlers
from .exports.router import router as exports_router
from .headers import SecurityHeadersMiddleware
from .health import router as health_router
from .metrics import install_metrics
from .queue import AuditQueue
from .reviews.router import router as reviews_router
from .storage import Storage
from .thumbnails.router import router as thumbnails_router

DESCRIPTION = """Upload a labeled dataset, let workers find the labels that are probably
wrong, review them and export the corrected labels. Every endpoint but `/healthz`,
`/readyz` and `/metrics` (these docs included) needs `Authorization: Bearer <key>`
(`labelaudit keys create`); the review dashboard at `/` signs in with the same keys."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Room for every request admitted at once (see service.admission), and no more waiting
    # for a connection than LABELAUDIT_BUSY_TIMEOUT.
    database = Database(
        settings.resolved_database_url,
        connections=capacity(settings),
        wait_s=settings.busy_timeout_s,
    )
    storage = Storage(settings.data_dir)
    storage.prepare()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, capacity(settings))
        storage.remove_abandoned_uploads()
        if settings.admin_key is not None:
            with database.session_scope() as session:
                auth_service.ensure_key(
                    session, settings.admin_key_name, "admin", settings.admin_key.get_secret_value()
                )
        yield
        database.dispose()

    # /docs loads Swagger UI from files a package ships, not from a CDN: factory networks are
    # often cut off from the internet. No ReDoc: its page links out to its maker's site.
    app = FastAPIOffline(
        title="labelaudit",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
        static_url="/docs/assets",
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.settings = settings
    app.state.database = database
    app.state.storage = storage
    app.state.queue = AuditQueue.from_settings(settings)
    # Outermost last: the headers on every answer, the metrics count the 503s of admission,
    # and a request is admitted before its key is checked (which takes a connection).
    app.add_middleware(BodyGuardMiddleware, settings=settings, database=database)
    app.add_middleware(AdmissionMiddleware, settings=settings)
    app.state.metrics = install_metrics(app, database)
    app.add_middleware(SecurityHeadersMiddleware)
    install_error_handlers(app)
    install_dashboard(app)
    routers = (
        health_router,
        thumbnails_router,
        audits_router,
        reviews_router,
        exports_router,
        keys_router,
    )
    for router in routers:
        app.include_router(router)
    return app
