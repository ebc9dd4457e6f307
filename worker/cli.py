"""`labelaudit worker`: a Celery worker that runs audits."""

from __future__ import annotations

import argparse
from typing import Any


def add_commands(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="run audits from the queue (DATABASE_URL, CELERY_BROKER_URL)",
        description="A Celery worker for audits: one audit at a time (run one worker per "
        "GPU). On a host with a GPU it takes audits from the 'gpu' and 'cpu' queues, "
        "otherwise from 'cpu' only. SIGTERM checkpoints the running audit and gives it back.",
    )
    parser.add_argument(
        "--queues", help="comma-separated queues (default: gpu,cpu with a GPU, else cpu)"
    )
    parser.add_argument("--loglevel", default="INFO")
    parser.set_defaults(run=run_worker)


def default_queues() -> str:
    import torch

    return "gpu,cpu" if torch.cuda.is_available() else "cpu"


def run_worker(args: argparse.Namespace) -> int:
    from service.config import get_settings
    from worker.threads import configure_training_threads

    # Before anything imports torch (default_queues, the tasks): OpenMP reads it then.
    configure_training_threads(get_settings().training_threads)
    from worker.celery_app import app

    app.worker_main(
        [
            "worker",
            f"--queues={args.queues or default_queues()}",
            # The audit runs in the worker's own process: SIGTERM reaches it (to checkpoint
            # and release it), and no pool child can outlive the worker.
            "--pool=solo",
            f"--loglevel={args.loglevel}",
            # One audit at a time per process: no peers to gossip with or to sync from.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )
    return 0
