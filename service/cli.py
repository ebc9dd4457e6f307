"""`labelaudit serve`, `labelaudit db upgrade` and `labelaudit keys create`."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Settings

ROLES = ("admin", "reviewer")
FIRST_KEY_NAME = "admin"
# Requests still running when SIGTERM arrives get this long, and the local worker
# STOP_GRACE_S more at most (see local_worker), so `serve` is gone within 15 s.
SHUTDOWN_GRACE_S = 4


def add_commands(commands: Any) -> None:
    serve = commands.add_parser(
        "serve",
        help="run the HTTP service (embedded: SQLite and a local worker, no servers needed)",
        description="Without DATABASE_URL and CELERY_BROKER_URL: migrate a SQLite database "
        "under LABELAUDIT_DATA_DIR (default ./var), start a local worker and serve. With "
        "CELERY_BROKER_URL: serve the API only; run `labelaudit worker` on the GPU hosts.",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--demo",
        action="store_true",
        help="on a first embedded start, also queue an audit of a generated demo dataset",
    )
    serve.set_defaults(run=run_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True, metavar="COMMAND"
    )
    db.add_parser("upgrade", help="apply the migrations (DATABASE_URL)").set_defaults(
        run=run_db_upgrade
    )

    keys = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True, metavar="COMMAND"
    )
    create = keys.add_parser("create", help="create an API key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.set_defaults(run=run_keys_create)


def run_db_upgrade(_args: argparse.Namespace) -> int:
    from .config import get_settings
    from .migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.resolved_database_url)
    print("database schema is up to date", file=sys.stderr)
    return 0


def run_keys_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from .auth import service as auth_service
    from .auth.schemas import ApiKeyCreate
    from .config import get_settings
    from .db import Database
    from .errors import ServiceError

    settings = get_settings()
    _migrate_embedded(settings)
    try:
        request = ApiKeyCreate(name=args.name, role=args.role)
        database = Database(settings.resolved_database_url)
        with database.session_scope() as session:
            created = auth_service.create_key(session, request)
    except (ValidationError, ServiceError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else exc.errors()[0]["msg"]
        print(f"labelaudit: error: {message}", file=sys.stderr)
        return 2
    print(f"created {created.role} key {created.name!r}; it is shown only now:", file=sys.stderr)
    print(created.key)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .config import get_settings, proxy_networks
    from .local_worker import LocalWorker

    settings = get_settings()
    _migrate_embedded(settings)
    first_key = _first_embedded_key(settings)
    if first_key is not None and args.demo:
        _queue_demo_audit(settings)
    worker = LocalWorker(settings) if settings.embedded_broker else None
    if worker is not None:
        worker.start()
    url = f"http://{args.host}:{args.port}"
    print(f"labelaudit serving on {url} (API docs: {url}/docs)", flush=True)
    if first_key is not None:
        print(f"created the first admin key (shown only now): {first_key}", flush=True)
        print(f"  sign in at {url} with it, or", flush=True)
        print(f'  curl -H "Authorization: Bearer {first_key}" {url}/audits', flush=True)
    # uvicorn re-raises the SIGTERM it handled once it has shut down; exiting through
    # SystemExit instead lets the local worker be stopped below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    config = uvicorn.Config(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level="info",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
        # The client address and scheme come from X-Forwarded-* only when a trusted proxy
        # sends them (uvicorn's own default would trust 127.0.0.1 whatever the setting says).
        forwarded_allow_ips=[str(network) for network in proxy_networks(settings.trusted_proxies)],
    )

    class Server(uvicorn.Server):
        # The local worker is told to stop the moment the signal arrives, so that the
        # two shut down side by side.
        def handle_exit(self, sig: int, frame: Any) -> None:
            if worker is not None:
                worker.terminate()
            super().handle_exit(sig, frame)

    try:
        Server(config).run()
    finally:
        if worker is not None:
            worker.stop()
    return 0


def _migrate_embedded(settings: Settings) -> None:
    """The embedded SQLite database migrates itself; a server database is migrated by the
    deployment (`labelaudit db upgrade`, the compose `migrate` service)."""
    from .migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.embedded_database:
        upgrade(settings.resolved_database_url)


def _first_embedded_key(settings: Settings) -> str | None:
    """On an embedded service's first start (no keys, none configured): an admin key."""
    from .auth import service as auth_service
    from .auth.schemas import ApiKeyCreate
    from .db import Database

    if not settings.embedded_database or settings.admin_key is not None:
        return None
    database = Database(settings.resolved_database_url)
    try:
        with database.session_scope() as session:
            if auth_service.has_keys(session):
                return None
            request = ApiKeyCreate(name=FIRST_KEY_NAME, role="admin")
            return auth_service.create_key(session, request).key
    finally:
        database.dispose()


def _queue_demo_audit(settings: Settings) -> None:
    from .auth.schemas import Principal
    from .db import Database
    from .demo import queue_demo_audit
    from .queue import AuditQueue
    from .storage import Storage

    storage = Storage(settings.data_dir)
    storage.prepare()
    database = Database(settings.resolved_database_url)
    try:
        with database.session_scope() as session:
            audit = queue_demo_audit(
                session,
                storage,
                AuditQueue.from_settings(settings),
                settings,
                Principal(name=FIRST_KEY_NAME, role="admin"),
            )
            print(f"queued a demo audit: {audit.name}", flush=True)
    finally:
        database.dispose()
