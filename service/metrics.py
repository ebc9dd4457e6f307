"""Prometheus metrics: HTTP latency measured here, audit figures read from the database at
scrape time (audits run in worker processes, so only the database sees them all)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .audits import metrics_repository
from .audits.models import STATUSES
from .db import Database

DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)
# Any other method a client makes up is counted as "other": every label value is a time
# series kept for the life of the process.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AuditCollector(Collector):
    def __init__(self, database: Database) -> None:
        self.database = database

    def collect(self) -> Iterator[Metric]:
        with self.database.session_scope() as session:
            by_status = metrics_repository.count_by_status(session)
            durations = metrics_repository.finished_durations(session)
            samples = metrics_repository.samples_audited(session)
        audits = GaugeMetricFamily("labelaudit_audits", "Audits by status", labels=["status"])
        for status in STATUSES:
            audits.add_metric([status], by_status.get(status, 0))
        yield audits
        buckets = [
            (str(bound), sum(1 for seconds in durations if seconds <= bound))
            for bound in DURATION_BUCKETS
        ] + [("+Inf", len(durations))]
        yield HistogramMetricFamily(
            "labelaudit_audit_duration_seconds",
            "Wall time of succeeded audits, start to finish",
            buckets=buckets,
            sum_value=sum(durations),
        )
        yield CounterMetricFamily(
            "labelaudit_samples_audited", "Samples in succeeded audits", value=samples
        )


def install_metrics(app: FastAPI, database: Database) -> CollectorRegistry:
    """A registry of the app's own (so that several apps in one process do not clash) with
    the audit figures and a request-latency histogram fed by a middleware."""
    registry = CollectorRegistry()
    registry.register(AuditCollector(database))
    latency = Histogram(
        "labelaudit_http_request_duration_seconds",
        "HTTP request latency",
        ["method", "route", "status"],
        registry=registry,
    )

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        # The route's template, not the path, so ids do not explode the label set.
        template = getattr(route, "path", "unmatched")
        method = request.method if request.method in HTTP_METHODS else "other"
        latency.labels(method, template, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response

    return registry
