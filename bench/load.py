"""Load on the review API, and the corrected-labels export, on PostgreSQL; and overload.

    python -m bench.load [--samples 1000000] [--clients 50] [--seconds 60]
    python -m bench.load --overload [--base /work/base] [--samples 50000]

Seeds a succeeded audit of ``--samples`` samples (and one of a tenth of that, for the export's
memory), starts ``labelaudit serve`` (one uvicorn worker) as a separate process, and runs
``--clients`` concurrent reviewers against it for ``--seconds`` (see :mod:`bench.reviewers`).
Then streams the corrected CSV of both audits while sampling the API process's memory.
Results go to ``bench/results/load.json`` and ``load.md``.

``--overload`` runs :mod:`bench.overload` instead, on PostgreSQL and on SQLite, against the
service of this tree ("after") and, with ``--base``, of another tree ("before"), and adds
its table to the same results, keeping the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench import overload, reviewers
from bench.report import describe_machine, machine, write_results
from bench.reviewers import REQUEST_MIX as MIX
from bench.seed import seed_audit, split_queue
from bench.server import (
    MemoryWatch,
    api_process,
    cpu_seconds,
    labelaudit,
    scratch_database,
    service_environment,
)

RESULTS = Path(__file__).resolve().parent / "results"
DATABASE = "labelaudit_bench"
EXPORT_TARGET_ROWS_PER_S = 200_000
FLAT_MEMORY_MIB = 16.0
PAGE_TARGET_P95_MS = 100.0
OPEN_RATES = (20, 60, 200)
OPEN_SECONDS = 30.0
CLOSED_CLIENTS = (10, 50, 100, 200)
CLOSED_SECONDS = 10.0


def export_corrected(url: str, key: str, audit_id: str, pid: int) -> dict[str, Any]:
    """Stream ``export.csv?kind=corrected`` to nowhere, counting rows, while the API
    process's memory is sampled."""
    watch = MemoryWatch(pid)
    rows = -1  # the header
    size = 0
    headers = {"Authorization": f"Bearer {key}"}
    with watch.watching(), httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        with client.stream(
            "GET", f"{url}/audits/{audit_id}/export.csv?kind=corrected", headers=headers
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes():
                rows += chunk.count(b"\n")
                size += len(chunk)
        seconds = time.perf_counter() - started
    return {
        "rows": rows,
        "megabytes": round(size / 1e6, 1),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        **watch.figures(),
    }


def pages_verdict(phase: dict[str, Any]) -> str:
    pages = [row for kind, row in phase["kinds"].items() if kind != "review"]
    met = phase["errors"] == 0 and all(row["p95_ms"] < PAGE_TARGET_P95_MS for row in pages)
    return "met" if met else "missed"


def export_verdict(exports: list[dict[str, Any]]) -> str:
    """Met when the largest export beats the rows/s target and its peak memory is within
    ``FLAT_MEMORY_MIB`` of the smaller one's."""
    smaller, largest = exports[0], exports[-1]
    fast = largest["rows_per_s"] > EXPORT_TARGET_ROWS_PER_S
    flat = largest["peak_rss_mib"] - smaller["peak_rss_mib"] < FLAT_MEMORY_MIB
    return "met" if fast and flat else "missed"


def comparison_markdown(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Before (the service as it was) and after (with the fixes), from two result files."""
    lines = [
        "## Before and after the fixes",
        "",
        f"Before: `{before['command']}` on the service before the fixes (as the notes below "
        "say); each cell is before / after.",
        "",
        "| think s | request | p50 ms | p95 ms | requests/s (all kinds) |",
        "|---|---|---|---|---|",
    ]
    earlier = {phase["think_time_s"]: phase for phase in before["load"]}
    for new in after["load"]:
        old = earlier.get(new["think_time_s"])
        if old is None:
            continue
        for kind, row in new["kinds"].items():
            was = old["kinds"].get(kind, {"p50_ms": "-", "p95_ms": "-"})
            lines.append(
                f"| {new['think_time_s']:g} | {kind} | {was['p50_ms']} / {row['p50_ms']} | "
                f"{was['p95_ms']} / {row['p95_ms']} | "
                f"{old['requests_per_s']} / {new['requests_per_s']} |"
            )
    lines += ["", "| export rows | rows/s | peak RSS MiB |"]
    lines.append("|---|---|---|")
    for old, new in zip(before["exports"], after["exports"], strict=False):
        lines.append(
            f"| {new['rows']:,} | {old['rows_per_s']:,} / {new['rows_per_s']:,} | "
            f"{old['peak_rss_mib']} / {new['peak_rss_mib']} |"
        )
    return [*lines, ""]


def phase_markdown(phase: dict[str, Any]) -> list[str]:
    think = phase["think_time_s"]
    pause = f"{think:g} s on average ({think / 2:g}-{1.5 * think:g} s)" if think else "none"
    lines = [
        f"## {phase['clients']} concurrent reviewers for {phase['seconds']} s, think time: {pause}",
        "",
        f"{phase['requests']:,} requests, **{phase['requests_per_s']} requests/s**, "
        f"**{phase['errors']} errors** (non-2xx other than 409, and transport errors), "
        f"{phase['conflicts']} review conflicts (409, expected: reviewers overlap on purpose). "
        f"The API process used {phase['api_cpu_ms_per_request']} ms of CPU per request.",
        "",
        "| request | count | share | p50 ms | p95 ms | p99 ms | max ms | errors | 409 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in phase["kinds"].items():
        lines.append(
            f"| {kind} | {row['count']:,} | {row['count'] / max(phase['requests'], 1):.0%} | "
            f"{row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['max_ms']} | "
            f"{row['errors']} | {row['conflicts']} |"
        )
    overall = phase["overall"]
    return lines + [
        f"| all | {phase['requests']:,} | 100% | {overall['p50_ms']} | {overall['p95_ms']} | "
        f"{overall['p99_ms']} | {overall['max_ms']} | {phase['errors']} | {phase['conflicts']} |",
        "",
        f"Target: p95 of every suspects page kind under {PAGE_TARGET_P95_MS:.0f} ms, zero "
        f"errors: **{pages_verdict(phase)}**.",
        "",
    ]


def markdown(results: dict[str, Any]) -> list[str]:
    lines = [
        "# Load: review API and corrected export on PostgreSQL",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {describe_machine(results['machine'])}",
        f"Server: {results['server']}",
        f"Data: {results['data']}",
        "",
        "Each reviewer pages through its share of the suspect queue (reviewer i starts at rank "
        "i x flagged / reviewers), reloads and filters the top of the queue (shared: reviewers "
        "overlap on purpose) and posts 1-5 decisions with the versions it read, at random in "
        "this mix: " + ", ".join(f"{kind} {share:.0%}" for kind, share in MIX.items()) + ".",
        "",
    ]
    for phase in results["load"]:
        lines += phase_markdown(phase)
    lines += [
        "## Corrected CSV export (streamed)",
        "",
        "| rows | MB | seconds | rows/s | API RSS before (MiB) | peak (MiB) | growth (MiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["exports"]:
        lines.append(
            f"| {row['rows']:,} | {row['megabytes']} | {row['seconds']} | {row['rows_per_s']:,} | "
            f"{row['baseline_rss_mib']} | {row['peak_rss_mib']} | {row['growth_mib']} |"
        )
    lines += [
        "",
        f"Target: over {EXPORT_TARGET_ROWS_PER_S:,} rows/s, peak memory flat in the number of "
        f"rows (the larger export's peak within {FLAT_MEMORY_MIB:g} MiB of the smaller's): "
        f"**{results['export_verdict']}**.",
        "",
        "Peak RSS is the larger of VmRSS sampled every 20 ms and the kernel's VmHWM (reset",
        "before each export through `/proc/<pid>/clear_refs`).",
        "",
    ]
    if "before" in results:
        lines += comparison_markdown(results["before"], results)
    lines += results.get("notes", [])
    if "overload" in results:
        lines += ["", *overload.markdown(results["overload"])]
    return lines


def run_overload(args: argparse.Namespace) -> None:
    """Every phase of :mod:`bench.overload` on each service and database; the table joins
    the results already in ``load.json``."""
    trees = {"after": None} if args.base is None else {"before": args.base, "after": None}
    rows = []
    for service, tree in trees.items():
        with (
            scratch_database(f"labelaudit_overload_{service}") as postgres_url,
            tempfile.TemporaryDirectory() as scratch,
        ):
            rows += overload_service(args, service, tree, postgres_url, Path(scratch))
    results_path = args.out / "load.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results["overload"] = {
        "command": "python -m bench.load --overload "
        + (f"--base {args.base} " if args.base else "")
        + f"--samples {args.samples}",
        "machine": machine(),
        "setup": overload_setup(args),
        "rows": rows,
        "notes": args.note,
    }
    write_results(args.out, "load", results, markdown(results))


def overload_setup(args: argparse.Namespace) -> list[str]:
    return [
        f"Machine: {describe_machine(machine())}",
        f"Each phase: a fresh `labelaudit serve` (one uvicorn worker) on an audit of "
        f"{args.samples:,} seeded samples; every request is `GET {overload.PAGE}` with one "
        f"reviewer key. Open loop: {', '.join(map(str, OPEN_RATES))} requests/s for "
        f"{OPEN_SECONDS:g} s; closed loop: {', '.join(map(str, CLOSED_CLIENTS))} clients for "
        f"{CLOSED_SECONDS:g} s, each retrying a 503 after its Retry-After. A request not "
        f"answered in {overload.CLIENT_TIMEOUT_S:g} s counts as `timeout`. `/healthz` is "
        f"probed every {overload.PROBE_EVERY_S:g} s (a failed probe counts as "
        f"{overload.PROBE_TIMEOUT_S:g} s) during the load and for {overload.AFTER_S:g} s "
        "after; `slow for s after`: from the end of the load until its last probe over 1 s.",
        "SQLite: `DATABASE_URL=sqlite:///…` with the Redis broker (the embedded database "
        "without the local worker, which would only add an idle process), the same audit "
        "copied from PostgreSQL. p50/p95/p99: latencies of the 2xx answers.",
    ]


def overload_service(
    args: argparse.Namespace, service: str, tree: Path | None, postgres_url: str, scratch: Path
) -> list[dict[str, Any]]:
    """The phases on PostgreSQL and SQLite against the service of ``tree``."""
    rows = []
    for database in ("postgresql", "sqlite"):
        url = postgres_url if database == "postgresql" else f"sqlite:///{scratch / 'la.db'}"
        environment = service_environment(url, scratch / database)
        if tree is not None:
            environment["PYTHONPATH"] = str(tree)
        labelaudit(environment, "db", "upgrade", cwd=tree)
        key = labelaudit(
            environment, "keys", "create", "--name", "reviewer", "--role", "reviewer", cwd=tree
        )
        if database == "postgresql":
            audit_id = seed_audit(postgres_url, args.samples).audit_id
        else:
            copy_audit(postgres_url, url, audit_id)
        phases = [("open", rate, OPEN_SECONDS) for rate in OPEN_RATES]
        phases += [("closed", clients, CLOSED_SECONDS) for clients in CLOSED_CLIENTS]
        for mode, level, seconds in phases:
            log = scratch / f"{service}-{database}-{mode}-{level}.log"
            with api_process(environment, log, cwd=tree) as api:
                row = overload.run_phase(api.url, key, str(audit_id), mode, level, seconds)
            row |= {"database": database, "service": service}
            row["log_lines"] = len(log.read_text(errors="replace").splitlines())
            print(row, flush=True)
            rows.append(row)
    return rows


def copy_audit(source_url: str, target_url: str, audit_id: Any) -> None:
    """The seeded audit and its samples, from PostgreSQL into a migrated SQLite database,
    through the models' column types (only the columns that the target's schema has)."""
    from sqlalchemy import MetaData, Table, create_engine, insert, select

    from service.audits.models import Audit, Sample

    source, target = create_engine(source_url), create_engine(target_url)
    present = MetaData()
    present.reflect(target, only=["audits", "samples"])
    with source.connect() as read, target.begin() as write:
        for model, key in ((Audit, Audit.id), (Sample, Sample.audit_id)):
            table = model.__table__
            name = str(model.__tablename__)
            columns = [c for c in table.columns if c.name in present.tables[name].columns]
            copy = Table(name, MetaData(), *(column._copy() for column in columns))
            rows = read.execute(select(*columns).where(key == audit_id)).mappings()
            while batch := rows.fetchmany(5000):
                write.execute(insert(copy), [dict(row) for row in batch])
    source.dispose()
    target.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--think-seconds",
        default="0",
        help="each reviewer's mean pause after a request; several (0,1) run a phase each",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--before", type=Path, help="a load.json to compare with (before fixes)")
    parser.add_argument("--note", action="append", default=[], help="a line for the results")
    parser.add_argument("--overload", action="store_true", help="the overload phases instead")
    parser.add_argument("--base", type=Path, help="with --overload: the tree to run as before")
    args = parser.parse_args()
    if args.overload:
        run_overload(args)
        return
    command = (
        f"python -m bench.load --samples {args.samples} --clients {args.clients} "
        f"--seconds {args.seconds:g} --think-seconds {args.think_seconds}"
    )
    pauses = [float(value) for value in args.think_seconds.split(",")]
    with scratch_database(DATABASE) as database_url, tempfile.TemporaryDirectory() as data_dir:
        environment = service_environment(database_url, Path(data_dir))
        labelaudit(environment, "db", "upgrade")
        key = labelaudit(environment, "keys", "create", "--name", "bench", "--role", "admin")
        started = time.perf_counter()
        audit = seed_audit(database_url, args.samples)
        small = seed_audit(database_url, max(args.samples // 10, 1))
        print(
            f"seeded {audit.samples + small.samples:,} samples in "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        starts = split_queue(database_url, audit, args.clients)
        with api_process(environment, Path(data_dir) / "api.log") as api:
            phases = []
            for think_s in pauses:
                run = reviewers.run(
                    api.url, key, audit, starts, seconds=args.seconds, think_s=think_s
                )
                cpu_before = cpu_seconds(api.pid)
                phase = asyncio.run(run)
                phase["api_cpu_ms_per_request"] = round(
                    1000 * (cpu_seconds(api.pid) - cpu_before) / max(phase["requests"], 1), 2
                )
                phases.append(phase)
                print(phases[-1], flush=True)
            exports = [
                export_corrected(api.url, key, str(seeded.audit_id), api.pid)
                for seeded in (small, audit)
            ]
            print(exports, flush=True)
    results: dict[str, Any] = {
        "command": command,
        "machine": machine(),
        "server": "`labelaudit serve`: one uvicorn worker (asyncio loop, h11), sync routes in "
        "its thread pool, SQLAlchemy pool 10+20; PostgreSQL on the same host",
        "data": f"{audit.samples:,} samples ({audit.flagged:,} flagged, {len(audit.classes)} "
        f"classes) in the load's audit, {small.samples:,} in the second export's",
        "load": [phase | {"verdict": pages_verdict(phase)} for phase in phases],
        "exports": exports,
        "export_verdict": export_verdict(exports),
        "notes": args.note,
    }
    if args.before is not None:
        results["before"] = json.loads(args.before.read_text())
    write_results(args.out, "load", results, markdown(results))


if __name__ == "__main__":
    main()
