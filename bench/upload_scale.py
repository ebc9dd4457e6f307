"""A large image zip uploaded to the API: does the API process's memory stay flat?

    python -m bench.upload_scale [--gigabytes 2] [--small-gigabytes 0.2]

Generates zips of random-noise images (PNG, every eighth a JPEG; noise does not compress)
in ten class folders, stored uncompressed, one image at a time; starts ``labelaudit serve``
on PostgreSQL and Redis as a separate process; uploads each zip with a streaming multipart
body (read from disk in 1 MiB pieces) while sampling the API's resident memory. The answer
comes after the request-time checks (every member's path and size, every image opened and
verified). Zips and data directory are deleted at the end; results go to
``bench/results/upload_scale.json`` and ``upload_scale.md``.
"""

from __future__ import annotations

import argparse
import io
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import redis
from PIL import Image

from bench.report import describe_machine, machine, write_results
from bench.seed import CLASSES
from bench.server import (
    REDIS_URL,
    MemoryWatch,
    api_process,
    labelaudit,
    scratch_database,
    service_environment,
)

RESULTS = Path(__file__).resolve().parent / "results"
DATABASE = "labelaudit_bench_upload"
IMAGE_SIDE = 256
JPEG_EVERY = 8
READ_BYTES = 1 << 20
# Room for each zip, its stored copy under the data directory, and some to spare.
DISK_FACTOR = 2.2


def noise_image(rng: np.random.Generator, index: int) -> tuple[str, bytes]:
    pixels = rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    if index % JPEG_EVERY == 0:
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=95)
        return "jpg", buffer.getvalue()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    return "png", buffer.getvalue()


def write_image_zip(path: Path, target_bytes: int, *, seed: int = 2026) -> dict[str, Any]:
    """Images in ``<class>/<n>.<png|jpg>`` until the archive reaches ``target_bytes``."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    images = 0
    written = 0
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        while written < target_bytes:
            suffix, data = noise_image(rng, images)
            archive.writestr(f"{CLASSES[images % len(CLASSES)]}/{images:06d}.{suffix}", data)
            written += len(data)
            images += 1
    return {
        "images": images,
        "zip_bytes": path.stat().st_size,
        "generate_seconds": round(time.perf_counter() - started, 1),
    }


class MultipartFile:
    """A ``multipart/form-data`` body with one ``file`` part, read from disk as it is sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.boundary = uuid.uuid4().hex
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{path.name}"\r\nContent-Type: application/zip\r\n\r\n'
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
    body = MultipartFile(path)
    watch = MemoryWatch(pid)
    headers = {"Authorization": f"Bearer {key}", **body.headers()}
    with watch.watching(), httpx.Client(timeout=1800) as client:
        started = time.perf_counter()
        response = client.post(f"{url}/audits", content=iter(body), headers=headers)
        answered = time.perf_counter()
    if response.status_code != 202:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:500]}")
    sent = (body.sent_at or answered) - started
    megabytes = body.length / 1e6
    return {
        "megabytes": round(megabytes, 1),
        "body_seconds": round(sent, 2),
        "body_mb_per_s": round(megabytes / sent, 1),
        "seconds_to_answer": round(answered - started, 2),
        "end_to_end_mb_per_s": round(megabytes / (answered - started), 1),
        "status": response.status_code,
        **watch.figures(),
    }


def fitting_gigabytes(wanted: float, directory: Path) -> float:
    free_gb = shutil.disk_usage(directory).free / 1e9
    return min(wanted, round(free_gb / DISK_FACTOR * 0.9, 1))


def markdown(results: dict[str, Any]) -> list[str]:
    lines = [
        "# Upload scale: a large image zip streamed to the API",
        "",
        f"Command: `{results['command']}`",
        "",
        f"Machine: {describe_machine(results['machine'])}",
        f"Server: {results['server']}",
        f"Disk: {results['disk']}",
        "",
        "| zip | images | MB sent | body s | body MB/s | s to answer (with checks) "
        "| end-to-end MB/s | API RSS before (MiB) | peak (MiB) | growth (MiB) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["uploads"]:
        lines.append(
            f"| {row['label']} | {row['images']:,} | {row['megabytes']:,} | {row['body_seconds']} "
            f"| {row['body_mb_per_s']} | {row['seconds_to_answer']} | "
            f"{row['end_to_end_mb_per_s']} | {row['baseline_rss_mib']} | {row['peak_rss_mib']} "
            f"| {row['growth_mib']} |"
        )
    return lines + [
        "",
        "Peak RSS is the larger of VmRSS sampled every 20 ms and the kernel's VmHWM (reset",
        "before each upload through `/proc/<pid>/clear_refs`). `body s` ends when the client",
        "has sent the last byte; the answer (202) comes after the request-time checks.",
        "",
        *results.get("notes", []),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gigabytes", type=float, default=2.0)
    parser.add_argument("--small-gigabytes", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--note", action="append", default=[], help="a line for the results")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="labelaudit-upload-"))
    sizes = {"small": args.small_gigabytes, "large": fitting_gigabytes(args.gigabytes, work)}
    disk = f"{shutil.disk_usage(work).free / 1e9:.0f} GB free under {work.parent} at the start"
    uploads = []
    try:
        with scratch_database(DATABASE) as database_url:
            environment = service_environment(database_url, work / "data")
            labelaudit(environment, "db", "upgrade")
            key = labelaudit(environment, "keys", "create", "--name", "bench", "--role", "admin")
            with api_process(environment, work / "api.log") as api:
                httpx.get(f"{api.url}/healthz")
                for label, gigabytes in sizes.items():
                    archive = work / f"images-{label}.zip"
                    made = write_image_zip(archive, int(gigabytes * 1e9))
                    print(f"{label}: {made}", flush=True)
                    row = {"label": f"{made['zip_bytes'] / 1e9:.2f} GB", **made}
                    row |= upload(api.url, key, archive, api.pid)
                    print(row, flush=True)
                    uploads.append(row)
                    archive.unlink()
            # The audits were queued where no worker listens; take them off the broker.
            broker = redis.Redis.from_url(REDIS_URL)
            for name in broker.scan_iter(match=f"*{environment['AUDIT_QUEUE']}*"):
                broker.delete(name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        "command": f"python -m bench.upload_scale --gigabytes {args.gigabytes:g} "
        f"--small-gigabytes {args.small_gigabytes:g}",
        "machine": machine(),
        "server": "`labelaudit serve` (one uvicorn worker) on PostgreSQL and Redis; the upload "
        "streams to disk (python-multipart), then the zip is checked in the thread pool",
        "disk": disk,
        "uploads": uploads,
        "notes": args.note,
    }
    write_results(args.out, "upload_scale", results, markdown(results))


if __name__ == "__main__":
    main()
