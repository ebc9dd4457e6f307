"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from .audits.router import router as audits_router
from .auth import service as auth_service
from .auth.router import router as keys_router
from .config import Settings, get_settings
from .dashboard.router import install_dashboard
from .db import Database
from .errors import install_error_handlers
from .exports.router import router as exports_router
from .health import router as health_router
from .metrics import install_metrics
from .queue import AuditQueue
from .reviews.router import router as reviews_router
from .storage import Storage
from .thumbnails.router import router as thumbnails_router

DESCRIPTION = """Upload a labeled dataset, let workers find the labels that are probably
wrong, review them and export the corrected labels. Every endpoint but `/healthz`,
`/readyz` and `/metrics` needs `Authorization: Bearer <key>` (`labelaudit keys create`);
the review dashboard at `/` signs in with the same keys."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = Database(settings.resolved_database_url)
    storage = Storage(settings.data_dir)
    storage.prepare()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
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
    app.state.metrics = install_metrics(app, database)
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
