"""The `labelaudit` command: each part of the project adds its own subcommands.

Subcommand modules import their heavy dependencies (torch, FastAPI) inside the command
functions, so `labelaudit --help` stays fast and the API host never loads torch.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    from labelaudit import audit_cli
    from service import cli as service_cli
    from worker import cli as worker_cli

    parser = argparse.ArgumentParser(
        prog="labelaudit", description="Find, review and fix wrong labels in a dataset."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    audit_cli.add_commands(commands)
    service_cli.add_commands(commands)
    worker_cli.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
