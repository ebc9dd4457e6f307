"""Health, readiness and metrics: open to probes and scrapers, no key needed."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from .dependencies import DatabaseDep, QueueDep
from .errors import ErrorResponse, error_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers: on the event loop itself, needing no thread, no connection and
    no admission slot (see service.admission), so it answers however busy the API is."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=None,
    responses={503: {"model": ErrorResponse, "description": "the database or broker is down"}},
)
def readyz(database: DatabaseDep, queue: QueueDep) -> dict[str, object] | JSONResponse:
    """The database and the task broker are reachable."""
    checks = {"database": _database_answers(database), "broker": queue.is_reachable()}
    if not all(checks.values()):
        down = ", ".join(name for name, ok in checks.items() if not ok)
        return error_response(503, "not_ready", f"unreachable: {down}", checks)
    return {"status": "ready", "checks": checks}


@router.get(
    "/metrics",
    response_class=Response,
    responses={503: {"model": ErrorResponse, "description": "the database is unreachable"}},
)
def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _database_answers(database: DatabaseDep) -> bool:
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True
