"""Large and hostile uploads to the API: does the API process's memory stay under a fixed
budget (``BUDGET_MIB`` over its resident size before each request) whatever it is sent?

    python -m bench.upload_scale [--gigabytes 2] [--small-gigabytes 0.2] [--csv-gigabytes 5]
        [--npz-rows 20000000] [--json-megabytes 100]

Starts ``labelaudit serve`` on PostgreSQL and Redis as a separate process and sends it, one
at a time, while sampling its resident memory: zips of random-noise images (PNG, every
eighth a JPEG, stored uncompressed); a wide CSV of ``--csv-gigabytes`` with an id column
(every id hashed and checked); the same CSV again by a client that gives up 20 s after its
body is sent (the check must stop and leave nothing); a gzip bomb (233 KB of 40 M two-column
lines); an ``.npz`` of ``--npz-rows`` rows in C and in Fortran order; and a JSON body of
``--json-megabytes`` to ``/audits/<id>/reviews`` with no key. Files are generated on disk as
they are written and sent from disk in 1 MiB pieces; everything is deleted at the end and
results go to ``bench/results/upload_scale.json`` and ``upload_scale.md``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.report import describe_machine, machine, write_results
from bench.server import (
    REDIS_URL,
    MemoryWatch,
    api_process,
    labelaudit,
    scratch_database,
    service_environment,
)
from bench.upload_files import write_csv, write_gzip_bomb, write_image_zip, write_npz

RESULTS = Path(__file__).resolve().parent / "results"
DATABASE = "labelaudit_bench_upload"
READ_BYTES = 1 << 20
# Room for each file, its stored copy under the data directory, and some to spare.
DISK_FACTOR = 2.2
# The API's memory budget: peak resident memory during one request over that just before it.
BUDGET_MIB = 256
# The CSV row's file is over the default upload limit (4 GiB), and the CSV and npz rows'
# training would be over the default training-memory budget (refused with 422 after the
# same full check): raised, so that every row takes the path of an accepted upload.
MAX_UPLOAD_BYTES = 8 * 1024**3
MAX_TRAINING_MEMORY_BYTES = 64 * 1024**3
# The API's time to stop the check of a client that gave up and to remove its file.
ABANDON_TIMEOUT_S = 300.0


class MultipartFile:
    """A ``multipart/form-data`` body with one ``file`` part, read from disk as it is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.boundary = uuid.uuid4().hex
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.length = len(self.head) + path.stat().st_size + len(self.tail)
        self.sent_at: float | None = None

    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(self.length),
        }

    def __iter__(self) -> Iterator[bytes]:
        yield self.head
        with self.path.open("rb") as handle:
            while piece := handle.read(READ_BYTES):
                yield piece
        yield self.tail
        self.sent_at = time.perf_counter()


def upload(url: str, key: str, path: Path, pid: int) -> dict[str, Any]:
    """Send ``path`` to ``POST /audits`` and wait for the answer (after the checks)."""
    body = MultipartFile(path)
    watch = MemoryWatch(pid)
    headers = {"Authorization": f"Bearer {key}", **body.headers()}
    with watch.watching(), httpx.Client(timeout=3600) as client:
        started = time.perf_counter()
        response = client.post(f"{url}/audits", content=iter(body), headers=headers)
        answered = time.perf_counter()
    sent = (body.sent_at or answered) - started
    megabytes = body.length / 1e6
    return {
        "megabytes": round(megabytes, 1),
        "body_seconds": round(sent, 2),
        "body_mb_per_s": round(megabytes / max(sent, 1e-3), 1),
        "seconds_to_answer": round(answered - started, 2),
        "end_to_end_mb_per_s": round(megabytes / (answered - started), 1),
        **_answer(response),
        **watch.figures(),
    }


def abandon(
    url: str, key: str, path: Path, pid: int, incoming: Path, wait_s: float
) -> dict[str, Any]:
    """Send ``path``, then give up ``wait_s`` after the body is sent (the connection closes);
    return how long the API took to stop its check and remove the file, and whether an
    audit row was made."""
    body = MultipartFile(path)
    watch = MemoryWatch(pid)
    headers = {"Authorization": f"Bearer {key}", **body.headers()}
    before = _audit_count(url, key)
    with watch.watching():
        started = time.perf_counter()
        timeout = httpx.Timeout(3600, read=wait_s)
        try:
            with httpx.Client(timeout=timeout) as client:
                answer = client.post(f"{url}/audits", content=iter(body), headers=headers)
            raise RuntimeError(f"answered before the client gave up: {answer.status_code}")
        except httpx.ReadTimeout:
            gone_at = time.perf_counter()
        while any(incoming.iterdir()) and time.perf_counter() - gone_at < ABANDON_TIMEOUT_S:
            time.sleep(0.05)
        removed_at = time.perf_counter()
    sent = (body.sent_at or gone_at) - started
    return {
        "megabytes": round(body.length / 1e6, 1),
        "body_seconds": round(sent, 2),
        "client_gave_up_after_s": round(gone_at - started, 2),
        "seconds_to_abandon": round(removed_at - gone_at, 2),
        "file_left": any(incoming.iterdir()),
        "audits_made": _audit_count(url, key) - before,
        "status": "client gone",
        **watch.figures(),
    }


def post_json(url: str, pid: int, megabytes: float) -> dict[str, Any]:
    """``{"items": [...]}`` of ``megabytes`` POSTed to a review URL with no key."""
    item = b'{"sample_id": "s0000000", "action": "relabel", "label": "bolt", "version": 1},'
    count = int(megabytes * 1e6) // len(item)
    body = b'{"items": [' + item * count + b'{"sample_id": "last", "action": "accept"}]}'
    watch = MemoryWatch(pid)
    with watch.watching(), httpx.Client(timeout=600) as client:
        started = time.perf_counter()
        response = client.post(
            f"{url}/audits/{uuid.uuid4()}/reviews",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        answered = time.perf_counter()
    return {
        "megabytes": round(len(body) / 1e6, 1),
        "seconds_to_answer": round(answered - started, 2),
        **_answer(response),
        **watch.figures(),
    }


def _answer(response: httpx.Response) -> dict[str, Any]:
    code = None
    if response.status_code >= 400:
        try:
            code = response.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = response.text[:80]
    return {"status": response.status_code, "code": code}


def _audit_count(url: str, key: str) -> int:
    listed = httpx.get(
        f"{url}/audits?limit=200", headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    listed.raise_for_status()
    return len(listed.json()["items"])


def fitting_gigabytes(wanted: float, directory: Path) -> float:
    free_gb = shutil.disk_usage(directory).free / 1e9
    return min(wanted, round(free_gb / DISK_FACTOR * 0.9, 1))


def markdown(results: dict[str, Any]) -> list[str]:
    budget = results["budget_mib"]
    lines = [
        "# Upload scale: large and hostile uploads against a fixed API memory budget",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {describe_machine(results['machine'])}",
        f"Server: {results['server']}",
        f"Disk: {results['disk']}",
        f"Budget: the API's peak resident memory during a request at most {budget} MiB over "
        "its resident memory just before it.",
        "",
        "| upload | rows / images | MB sent | answer | s to answer | body s "
        "| API RSS before (MiB) | peak (MiB) | growth (MiB) | within budget |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["uploads"]:
        answer = f"{row['status']} {row.get('code') or ''}".strip()
        if row["status"] == "client gone":
            answer = (
                f"client gave up after {row['client_gave_up_after_s']} s; check stopped and "
                f"file removed {row['seconds_to_abandon']} s later; audits made: "
                f"{row['audits_made']}"
            )
        count = row.get("rows", row.get("images"))
        shown = "" if count is None else f"{count:,}"
        lines.append(
            f"| {row['label']} | {shown} | {row['megabytes']:,} | {answer} "
            f"| {row.get('seconds_to_answer', '')} | {row.get('body_seconds', '')} "
            f"| {row['baseline_rss_mib']} | {row['peak_rss_mib']} | {row['growth_mib']} "
            f"| {'yes' if row['growth_mib'] <= budget else 'NO'} |"
        )
    return lines + [
        "",
        "Peak RSS is the larger of VmRSS sampled every 20 ms and the kernel's VmHWM (reset",
        "before each request through `/proc/<pid>/clear_refs`). `body s` ends when the client",
        "has sent the last byte; the answer comes after the request-time checks.",
        "",
        *results.get("notes", []),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--small-gigabytes", type=float, default=0.2)
    parser.add_argument("--csv-gigabytes", type=float, default=5.0)
    parser.add_argument("--npz-rows", type=int, default=20_000_000)
    parser.add_argument("--json-megabytes", type=float, default=100.0)
    parser.add_argument(
        "--give-up-after", type=float, default=20.0, help="seconds the giving-up client waits"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", action="append", default=[], help="a line for the results")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labelaudit-upload-"))
    sizes = {"small": args.small_gigabytes, "large": fitting_gigabytes(args.gigabytes, work)}
    csv_gigabytes = fitting_gigabytes(args.csv_gigabytes, work)
    disk = f"{shutil.disk_usage(work).free / 1e9:.0f} GB free under {work.parent} at the start"
    if csv_gigabytes < args.csv_gigabytes:
        disk += f"; the CSV scaled down to {csv_gigabytes} GB to fit"
    uploads = []

    def record(row: dict[str, Any]) -> None:
        print(row, flush=True)
        uploads.append(row)

    try:
        with scratch_database(DATABASE) as database_url:
            environment = service_environment(database_url, work / "data")
            environment["LABELAUDIT_MAX_UPLOAD_BYTES"] = str(MAX_UPLOAD_BYTES)
            environment["LABELAUDIT_MAX_TRAINING_MEMORY_BYTES"] = str(MAX_TRAINING_MEMORY_BYTES)
            labelaudit(environment, "db", "upgrade")
            key = labelaudit(environment, "keys", "create", "--name", "bench", "--role", "admin")
            with api_process(environment, work / "api.log") as api:
                httpx.get(f"{api.url}/healthz")
                for label, gigabytes in sizes.items():
                    archive = work / f"images-{label}.zip"
                    made = write_image_zip(archive, int(gigabytes * 1e9))
                    row = {"label": f"image zip {made['zip_bytes'] / 1e9:.2f} GB", **made}
                    record(row | upload(api.url, key, archive, api.pid))
                    archive.unlink()
                table = work / "wide.csv"
                made = write_csv(table, int(csv_gigabytes * 1e9))
                label = f"CSV {made['file_bytes'] / 1e9:.2f} GB, id column"
                record({"label": label, **made} | upload(api.url, key, table, api.pid))
                incoming = work / "data" / "incoming"
                row = abandon(api.url, key, table, api.pid, incoming, args.give_up_after)
                record({"label": f"{label}, client gives up", **made} | row)
                table.unlink()
                bomb = work / "bomb.csv.gz"
                made = write_gzip_bomb(bomb)
                expanded = made["expanded_bytes"] / 1e6
                label = f"gzip bomb {made['file_bytes'] / 1e3:.0f} KB -> {expanded:.0f} MB"
                record({"label": label, **made} | upload(api.url, key, bomb, api.pid))
                for order in ("C", "F"):
                    arrays = work / f"rows-{order}.npz"
                    made = write_npz(arrays, args.npz_rows, order)
                    label = f"npz {made['file_bytes'] / 1e6:.0f} MB, {order} order"
                    record({"label": label, **made} | upload(api.url, key, arrays, api.pid))
                    arrays.unlink()
                row = post_json(api.url, api.pid, args.json_megabytes)
                record({"label": "JSON body to /audits/<id>/reviews, no key", **row})
            # The audits were queued where no worker listens; take them off the broker.
            broker = redis.Redis.from_url(REDIS_URL)
            for name in broker.scan_iter(match=f"*{environment['AUDIT_QUEUE']}*"):
                broker.delete(name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "command": f"python -m bench.upload_scale --gigabytes {args.gigabytes:g} "
        f"--small-gigabytes {args.small_gigabytes:g} --csv-gigabytes {args.csv_gigabytes:g} "
        f"--npz-rows {args.npz_rows} --json-megabytes {args.json_megabytes:g} "
        f"--give-up-after {args.give_up_after:g}",
        "machine": machine(),
        "server": "`labelaudit serve` (one uvicorn worker) on PostgreSQL and Redis, "
        f"LABELAUDIT_MAX_UPLOAD_BYTES={MAX_UPLOAD_BYTES} and LABELAUDIT_MAX_TRAINING_MEMORY_"
        f"BYTES={MAX_TRAINING_MEMORY_BYTES} (so the CSV and npz rows are accepted; the other "
        "limits at their defaults); the upload streams to disk (python-multipart), then it is "
        "checked in the thread pool",
        "disk": disk,
        "budget_mib": BUDGET_MIB,
        "uploads": uploads,
        "notes": args.note,
    }
    write_results(args.out, "upload_scale", results, markdown(results))


if __name__ == "__main__":
    main()
