"""Concurrent reviewers on one audit, as an asyncio httpx client.

The team splits the suspect queue: reviewer ``i`` pages through it (following cursors) from
rank ``i * flagged / reviewers`` on. Each also reloads the top of the queue, filters it (by
given label, suggested label, pending review) and posts decisions, with the versions it
read, on the page it has loaded. The top of the queue is shared, so reviewers overlap on
purpose: a 409 (reviewed meanwhile) is an expected outcome, counted apart from errors."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

from bench.seed import SeededAudit

PAGE_SIZE = 50
# What a reviewer does next, and how often.
REQUEST_MIX = {
    "suspects first page": 0.20,
    "suspects next page": 0.25,
    "filter given_label": 0.10,
    "filter suggested_label": 0.10,
    "filter review=pending": 0.10,
    "review": 0.25,
}
ACTIONS = ("accept", "relabel", "keep", "exclude")
TRANSPORT_ERROR = 0


@dataclass
class Timings:
    """Per request kind: latencies (seconds) and statuses, in request order."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    transport_errors: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, seconds: float, status: int) -> None:
        self.seconds.setdefault(kind, []).append(seconds)
        self.statuses.setdefault(kind, []).append(status)


@dataclass
class Reviewer:
    """One client's state: the page it has loaded, and where its share of the queue goes on
    (None: at the top)."""

    client: httpx.AsyncClient
    audit: SeededAudit
    timings: Timings
    rng: random.Random
    position: str | None
    page: list[dict[str, Any]] = field(default_factory=list)

    async def act(self, kind: str) -> None:
        if kind == "review" and not self.page:
            kind = "suspects first page"
        if kind == "review":
            await self._review()
            return
        query: dict[str, Any] = {"flagged": "true", "order": "score", "limit": PAGE_SIZE}
        if kind == "suspects next page" and self.position is not None:
            query["cursor"] = self.position
        elif kind == "filter given_label":
            query["given_label"] = self.rng.choice(self.audit.classes)
        elif kind == "filter suggested_label":
            query["suggested_label"] = self.rng.choice(self.audit.classes)
        elif kind == "filter review=pending":
            query["review"] = "pending"
        response = await self._send(kind, "GET", f"/audits/{self.audit.audit_id}/samples", query)
        if response is not None and response.status_code == 200:
            body = response.json()
            self.page = body["items"]
            if kind == "suspects next page":
                self.position = body["next_cursor"]

    async def _review(self) -> None:
        chosen = self.rng.sample(self.page, min(len(self.page), self.rng.randint(1, 5)))
        items = []
        for sample in chosen:
            action = self.rng.choice(ACTIONS)
            item = {"sample_id": sample["sample_id"], "action": action}
            item["version"] = sample["review"]["version"]
            if action == "relabel":
                others = [c for c in self.audit.classes if c != sample["given_label"]]
                item["label"] = self.rng.choice(others)
            items.append(item)
        path = f"/audits/{self.audit.audit_id}/reviews"
        response = await self._send("review", "POST", path, None, {"items": items})
        if response is not None and response.status_code == 200:
            updated = {s["sample_id"]: s for s in response.json()["items"]}
            self.page = [updated.get(s["sample_id"], s) for s in self.page]
        elif response is not None and response.status_code == 409:
            self.page = []  # stale: reload before deciding again, as the dashboard does

    async def _send(
        self, kind: str, method: str, path: str, query: Any, body: Any = None
    ) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, params=query, json=body)
        except httpx.HTTPError as exc:
            self.timings.add(kind, time.perf_counter() - started, TRANSPORT_ERROR)
            self.timings.transport_errors[f"{type(exc).__name__}: {exc}"[:200]] += 1
            return None
        self.timings.add(kind, time.perf_counter() - started, response.status_code)
        return response


async def run(
    url: str,
    key: str,
    audit: SeededAudit,
    starts: list[str | None],
    *,
    seconds: float,
    think_s: float,
    seed: int = 2026,
) -> dict[str, Any]:
    """A reviewer per start cursor for ``seconds``, each pausing ``think_s`` on average
    (uniform in 0.5-1.5 times it) after every request (0: back to back); the figures."""
    clients = len(starts)
    timings = Timings()
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout closes them, so
    # that a request never races the server's close of the connection it reuses.
    limits = httpx.Limits(
        max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=4.0
    )
    headers = {"Authorization": f"Bearer {key}"}
    kinds, weights = list(REQUEST_MIX), list(REQUEST_MIX.values())
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30.0
    ) as client:

        async def loop(index: int, deadline: float) -> None:
            reviewer = Reviewer(client, audit, timings, random.Random(seed + index), starts[index])
            # Staggered starts and jittered pauses: people do not act in lockstep (a common
            # pause would send all reviewers' requests in one burst every cycle).
            await asyncio.sleep(reviewer.rng.uniform(0, think_s))
            while time.monotonic() < deadline:
                await reviewer.act(reviewer.rng.choices(kinds, weights)[0])
                if think_s:
                    await asyncio.sleep(reviewer.rng.uniform(0.5, 1.5) * think_s)

        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(loop(index, deadline) for index in range(clients)))
        elapsed = time.perf_counter() - started
    return summarize(timings, clients=clients, elapsed=elapsed) | {"think_time_s": think_s}


def _percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def summarize(timings: Timings, *, clients: int, elapsed: float) -> dict[str, Any]:
    kinds: dict[str, dict[str, Any]] = {}
    everything: list[float] = []
    for kind in REQUEST_MIX:
        if kind not in timings.seconds:
            continue
        statuses = np.asarray(timings.statuses[kind])
        conflicts = int((statuses == 409).sum())
        ok = (statuses >= 200) & (statuses < 300)
        codes, counts = np.unique(statuses, return_counts=True)
        kinds[kind] = {
            "count": int(statuses.size),
            **_percentiles(timings.seconds[kind]),
            "errors": int(statuses.size - ok.sum() - conflicts),
            "conflicts": conflicts,
            "transport_errors": int((statuses == TRANSPORT_ERROR).sum()),
            "statuses": {str(c): int(n) for c, n in zip(codes, counts, strict=True)},
        }
        everything += timings.seconds[kind]
    requests = len(everything)
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests / elapsed, 1),
        "errors": sum(row["errors"] for row in kinds.values()),
        "conflicts": sum(row["conflicts"] for row in kinds.values()),
        "overall": _percentiles(everything),
        "transport_errors": dict(timings.transport_errors),
        "kinds": kinds,
    }
