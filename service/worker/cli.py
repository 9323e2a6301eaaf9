"""``python -m service.worker``: a farm worker for a Shepherd (or Flamenco 3.9) manager."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path

from service.core.check import blender_version
from service.platform import dirs, signals
from service.settings import default_blender
from service.token import ENV, TokenError, read_token
from service.worker.agent import Agent, WorkerError
from service.worker.client import Client
from service.worker.timing import Timing

log = logging.getLogger("shepherd.worker")


def scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number above 0")
    return value


def slots(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number above 0")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m service.worker",
        description="Render tasks of a Shepherd or Flamenco 3.9 manager (its /api/v3 worker protocol). "
                    "Files come and go through shared storage; only HTTP goes to the manager.")
    p.add_argument("--manager", required=True, metavar="URL", help="the manager, e.g. http://farm:7777")
    p.add_argument("--name", default=socket.gethostname(), help="the worker's name (default: this host's name)")
    p.add_argument("--data-dir", type=Path, metavar="DIR",
                   help="where the worker keeps its credentials (default: workers/NAME in the user's data folder "
                        "for Shepherd)")
    p.add_argument("--blender", default=default_blender(), metavar="PATH",
                   help="the Blender this worker runs, whatever the manager names (default: Blender on PATH, else the "
                        "newest in this system's install places)")
    p.add_argument("--slots", type=slots, default=1, metavar="N",
                   help="tasks at once: N workers in this process, named NAME, NAME-2, ... (default 1)")
    p.add_argument("--no-resident", action="store_true",
                   help="a fresh Blender for every task (default: one Blender kept running, each job's file "
                        "loaded once)")
    p.add_argument("--token-file", type=Path, metavar="PATH",
                   help=f"the manager's token, for registering from beyond its network (or ${ENV})")
    p.add_argument("--poll-scale", type=scale, default=1.0, metavar="F",
                   help="for testing: multiply every wait (polls, may-i-run, log sending) by F")
    return p


def agents(args: argparse.Namespace, token: str) -> list[Agent]:
    data_dir: Path = args.data_dir or dirs.worker_dir(args.name)
    timing = Timing(scale=args.poll_scale)
    return [Agent(Client(args.manager, token), args.name if n == 1 else f"{args.name}-{n}",
                  data_dir if n == 1 else data_dir / f"slot-{n}", args.blender, timing, not args.no_resident)
            for n in range(1, args.slots + 1)]


async def serve(workers: list[Agent]) -> int:
    """Run the workers until each goes offline or a signal stops them all; they sign off either way."""
    running = [asyncio.create_task(worker.run()) for worker in workers]

    def stop() -> None:
        for task in running:
            task.cancel()
        undo()

    undo = signals.on_stop(asyncio.get_running_loop(), stop)
    code = 0
    for result in await asyncio.gather(*running, return_exceptions=True):
        if isinstance(result, Exception):
            log.error("%s", result if isinstance(result, WorkerError) else f"the worker stopped: {result!r}")
            code = 1
    return code


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    try:
        token = read_token(args.token_file) if args.token_file else os.environ.get(ENV, "").strip()
    except TokenError as exc:
        print(exc, file=sys.stderr)
        return 2
    version, problem = blender_version(args.blender)
    if problem:  # before it registers: a worker that cannot render takes no task
        print(f"{problem}; this worker cannot render: give --blender PATH", file=sys.stderr)
        return 1
    log.info("%s renders with %s (%s)", args.name, version, args.blender)
    return asyncio.run(serve(agents(args, token)))
