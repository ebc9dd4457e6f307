"""Overload: the issue-25 request (a reviewer's first page of suspects) at fixed arrival rates
(open loop) and from a fixed number of clients (closed loop), on PostgreSQL and on SQLite,
with ``/healthz`` probed every 0.5 s from a thread of its own during the load and after it.

Run by ``python -m bench.load --overload`` (see there); each phase gets a fresh
``labelaudit serve``, so that one phase's wreckage does not count against the next.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np

PAGE = "/audits/{audit_id}/samples?flagged=true&limit=50"
# A request not answered within this counts as a hang ("timeout"), not a slow answer.
CLIENT_TIMEOUT_S = 10.0
PROBE_EVERY_S = 0.5
PROBE_TIMEOUT_S = 5.0
# After the load, /healthz is watched this long: the before-service stayed dead for minutes.
AFTER_S = 15.0
MAX_CONNECTIONS = 600


@dataclass
class Outcomes:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    ok_latencies: list[float] = field(default_factory=list)

    async def send(self, client: httpx.AsyncClient, path: str) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await client.get(path)
        except httpx.TimeoutException:
            self.statuses["timeout"] += 1
            return None
        except httpx.HTTPError as exc:
            self.statuses[f"transport ({type(exc).__name__})"] += 1
            return None
        seconds = time.perf_counter() - started
        self.latencies.append(seconds)
        self.statuses[_status(response)] += 1
        if response.is_success:
            self.ok_latencies.append(seconds)
        return response


def _status(response: httpx.Response) -> str:
    """The status, with the error's code for an error in our shape ("503 server_busy")."""
    if response.is_success:
        return str(response.status_code)
    try:
        return f"{response.status_code} {response.json()['error']['code']}"
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


class HealthProbe:
    """``GET /healthz`` every 0.5 s on a connection and thread of its own."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[float, float | None]] = []  # (when, seconds or None: failed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=PROBE_TIMEOUT_S) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx.HTTPError:
                    ok = False
                seconds = time.perf_counter() - started
                self.samples.append((time.monotonic(), seconds if ok else None))
                self._stop.wait(max(0.0, PROBE_EVERY_S - seconds))

    def figures(self, load_ended: float) -> dict[str, Any]:
        during = [s for when, s in self.samples if when <= load_ended]
        after = [(when, s) for when, s in self.samples if when > load_ended]
        slow_after = [when for when, s in after if s is None or s > 1.0]
        return {
            "probes_during": len(during),
            "failed_during": sum(s is None for s in during),
            "max_ms_during": _max_ms(during),
            "max_ms_after": _max_ms([s for _, s in after]),
            # From the end of the load until /healthz last took over 1 s (0: never did).
            "recovered_after_s": round(max(slow_after) - load_ended, 1) if slow_after else 0.0,
        }


def _max_ms(samples: list[float | None]) -> float | None:
    if not samples:
        return None
    return round(1000 * max(PROBE_TIMEOUT_S if s is None else s for s in samples), 1)


async def open_loop(client: httpx.AsyncClient, path: str, rate: float, seconds: float) -> Outcomes:
    """One request every 1/rate s whatever the answers (new arrivals do not wait for them)."""
    outcomes = Outcomes()
    started = time.monotonic()
    tasks = []
    for index in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
        tasks.append(asyncio.create_task(outcomes.send(client, path)))
    await asyncio.gather(*tasks)
    return outcomes


async def closed_loop(
    client: httpx.AsyncClient, path: str, clients: int, seconds: float
) -> Outcomes:
    """``clients`` each sending the next request when the last is answered; a 503 is
    retried after its Retry-After (1 s at most), as a well-behaved client would."""
    outcomes = Outcomes()
    deadline = time.monotonic() + seconds

    async def one_client() -> None:
        while time.monotonic() < deadline:
            response = await outcomes.send(client, path)
            if response is not None and response.status_code == 503:
                await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return outcomes


def run_phase(url: str, key: str, audit_id: str, mode: str, level: int, seconds: float) -> dict:
    """One phase against the API at ``url``: the load, then ``AFTER_S`` of probing."""
    path = PAGE.format(audit_id=audit_id)
    limits = httpx.Limits(max_connections=MAX_CONNECTIONS, keepalive_expiry=4.0)
    headers = {"Authorization": f"Bearer {key}"}

    async def load() -> Outcomes:
        async with httpx.AsyncClient(
            base_url=url, headers=headers, limits=limits, timeout=CLIENT_TIMEOUT_S
        ) as client:
            if mode == "open":
                return await open_loop(client, path, level, seconds)
            return await closed_loop(client, path, level, seconds)

    with HealthProbe(url) as probe:
        started = time.perf_counter()
        outcomes = asyncio.run(load())
        elapsed = time.perf_counter() - started
        load_ended = time.monotonic()
        time.sleep(AFTER_S)
    return summarize(mode, level, elapsed, outcomes) | {"healthz": probe.figures(load_ended)}


def summarize(mode: str, level: int, elapsed: float, outcomes: Outcomes) -> dict[str, Any]:
    answered = np.asarray(outcomes.latencies) * 1000
    ok = np.asarray(outcomes.ok_latencies) * 1000
    return {
        "mode": mode,
        "level": level,
        "seconds": round(elapsed, 1),
        "requests": sum(outcomes.statuses.values()),
        "goodput_per_s": round(len(ok) / elapsed, 1),
        "statuses": dict(sorted(outcomes.statuses.items())),
        **{
            f"{name}_ms": round(float(np.percentile(ok, q)), 1) if ok.size else None
            for name, q in (("p50", 50), ("p95", 95), ("p99", 99))
        },
        "max_answer_ms": round(float(answered.max()), 1) if answered.size else None,
    }


def markdown(overload: dict[str, Any]) -> list[str]:
    lines = [
        "## Overload: a fixed arrival rate, and many clients at once (issue 25)",
        "",
        f"Command: `{overload['command']}`",
        "",
        *overload["setup"],
        "",
        "| database | service | load | requests | goodput/s | p50 ms | p95 ms | p99 ms | "
        "answers by status | /healthz max ms during | failed probes | max ms after | "
        "slow for s after |",
        "|" + "---|" * 13,
    ]
    for row in overload["rows"]:
        load = f"{row['level']} req/s" if row["mode"] == "open" else f"{row['level']} clients"
        health = row["healthz"]
        statuses = ", ".join(f"{code}: {count}" for code, count in row["statuses"].items())
        lines.append(
            f"| {row['database']} | {row['service']} | {load} | {row['requests']} | "
            f"{row['goodput_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | "
            f"{statuses} | {health['max_ms_during']} | {health['failed_during']}"
            f"/{health['probes_during']} | {health['max_ms_after']} | "
            f"{health['recovered_after_s']} |"
        )
    return [*lines, "", *overload.get("notes", []), ""]
