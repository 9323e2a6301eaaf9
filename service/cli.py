"""The command line of the Render+ batch server, plus Shepherd's own flags (--host, --data-dir, security, ...)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import shlex
import shutil
import socket
import sqlite3
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service import __version__, logs, private
from service.blender.command import render_command, task
from service.core import check
from service.core.manager import Manager
from service.core.passwords import hash_secret
from service.core.variables import ALL, Variables
from service.notify.notifier import Notifier
from service.platform import dirs, signals
from service.server import serve
from service.settings import (
    DATABASE_ENV,
    DB_NAME,
    DEFAULT_HOST,
    DEFAULT_PORT,
    JOB_FILES,
    MAX_BODY_MB,
    READ_TIMEOUT,
    WILDCARDS,
    FarmOptions,
    Limits,
    Network,
    Policy,
    RunOptions,
    SheepItOptions,
    default_blender,
    default_slots,
    is_postgres,
)
from service.store.postgres import DatabaseError
from service.store.store import StoreError
from service.token import ENV, FILE_NAME, TokenError, load_token, read_token
from shared import recipe as recipes
from shared.api_client import ServiceError, request
from shared.events import Event, Kind
from shared.model import BATCH_ACTIVE, BatchStatus
from shared.net import is_loopback
from shared.view import batch_view, job_line, stats_view

NO_BLENDER = "the local slots cannot render: give --blender PATH, or --slots 0 to render on workers only"
POLL_INTERVAL = 0.5


def port_number(text: str) -> int:
    if not text.isdigit() or not 1024 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text} is not a port number above 1024")
    return int(text)


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number above 0")
    return int(text)


def whole(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text} is not a whole number (0 or more)")
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds (0 or more)")
    return value


def network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text} is not a network such as 192.168.1.0/24") from exc


def variable(text: str) -> tuple[str, str, str]:
    """NAME=VALUE or NAME@PLATFORM=VALUE: (name, platform or "all", value)."""
    key, sep, value = text.partition("=")
    name, _, platform = key.partition("@")
    if not sep or not name.strip() or not value:
        raise argparse.ArgumentTypeError(f"{text} is not NAME=VALUE or NAME@PLATFORM=VALUE")
    return name.strip(), platform.strip() or ALL, value


def percent(text: str) -> float:
    value = seconds(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage (0 to 100)")
    return value


def account(text: str) -> tuple[str, str]:
    """NAME:PASSWORD: (name, salted hash of the password); the password itself is kept nowhere."""
    name, sep, password = text.partition(":")
    if not sep or not name.strip() or not password:
        raise argparse.ArgumentTypeError("an account is NAME:PASSWORD")
    return name.strip(), hash_secret(password)


def renderer(text: str) -> tuple[tuple[str, str], Path]:
    """OS:BITS=PATH.zip, a renderer archive for SheepIt clients, e.g. linux:64bit=/srv/blender-linux.zip."""
    platform, sep, path = text.partition("=")
    os_name, colon, bits = platform.partition(":")
    if not sep or not colon or not os_name.strip() or not bits.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"{text} is not OS:BITS=PATH.zip, e.g. linux:64bit=/srv/blender.zip")
    archive = Path(path.strip()).expanduser().resolve()
    if not archive.is_file():
        raise argparse.ArgumentTypeError(f"the renderer archive {archive} does not exist")
    return (os_name.strip(), bits.strip()), archive


def database(text: str) -> str:
    """A PostgreSQL URL as it is, or a SQLite file's absolute path."""
    if is_postgres(text) or not text:
        return text
    if "://" in text:
        raise argparse.ArgumentTypeError(f"{text} is neither a postgresql://USER@HOST:PORT/DB URL nor a file")
    return str(Path(text).expanduser().resolve())


def poweroff_command(text: str) -> tuple[str, str]:
    action, sep, command = text.partition("=")
    if not sep or action not in recipes.POWEROFF_ACTIONS[1:] or not command.strip():
        raise argparse.ArgumentTypeError(f"{text} is not ACTION=COMMAND with ACTION one of "
                                         f"{', '.join(recipes.POWEROFF_ACTIONS[1:])}")
    return action, command


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m service", description="Shepherd batch rendering server.")
    p.add_argument("--recipe", type=Path, help="A JSON file containing a batch list.")
    p.add_argument("--dry", action="store_true", help="Dry Run (only print stats and commands).")
    p.add_argument("--check", action="store_true", help="Check if commands and files are OK.")
    p.add_argument("--serve", action="store_true", help="Start the server (the default without other actions).")
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT, metavar="(>1024)",
                   help=f"Change port to use when running server. Default is {DEFAULT_PORT}")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help="Address to listen on (default %(default)s, this machine only).")
    p.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                   help="Another name clients reach this service by, e.g. farm.local (repeatable).")
    p.add_argument("--token-file", type=Path, metavar="PATH",
                   help=f"File holding the token clients beyond this machine must send (or ${ENV}); without "
                        f"either, listening beyond loopback writes a new one to <data-dir>/{FILE_NAME}.")
    p.add_argument("--trust-network", type=network, action="append", default=[], metavar="CIDR",
                   help="Clients in this network need no token, e.g. a studio's LAN (repeatable; off by default).")
    p.add_argument("--max-body-mb", type=positive, default=MAX_BODY_MB,
                   help="Refuse request bodies larger than this, in MiB (default %(default)s).")
    p.add_argument("--read-timeout", type=positive, default=int(READ_TIMEOUT), metavar="SECONDS",
                   help="Close connections that take longer to send a request's header, or pause longer within "
                        "its body (default %(default)s).")
    p.add_argument("--ssl-certfile", type=Path, metavar="PATH", help="Serve https with this certificate (PEM).")
    p.add_argument("--ssl-keyfile", type=Path, metavar="PATH", help="The private key of --ssl-certfile (PEM).")
    p.add_argument("--blender", default=default_blender(), metavar="PATH",
                   help="This machine's Blender: its slots' farm tasks and recipes naming none render with it, "
                        "and a recipe from beyond this machine may name no other (default: Blender on PATH, else "
                        "the newest in this system's install places: %(default)s here).")
    p.add_argument("--data-dir", type=Path, default=dirs.data_dir(),
                   help="Folder for the batch database, temporary files and logs (default $SHEPHERD_DATA_DIR, "
                        "else the user's data folder: %(default)s here).")
    p.add_argument("--poll", action="store_true", help="Poll a running batch.")
    p.add_argument("--poll-job", "--poll_job", type=int, metavar="POLL_JOB", help="Poll a specific render job")
    p.add_argument("--cancel", action="store_true", help="Cancel the running batch.")
    p.add_argument("--cancel-job", action="store_true", help="Cancel the current render job.")
    p.add_argument("--stop", action="store_true", help="Stop the server.")
    p.add_argument("--print-stats", action="store_true", help="Print batch stats after finishing.")
    p.add_argument("--no-cleanup", action="store_true", help="Don't clean up temp folder after running.")
    p.add_argument("--write-log", action="store_true", help="Write a log in the logs folder.")
    p.add_argument("--slots", type=whole, default=default_slots(),
                   help="Blenders rendering at once on this machine; 0: it renders nothing, its workers do "
                        "(default from cores and memory: %(default)s here).")
    p.add_argument("--no-resident", action="store_true",
                   help="Start a fresh Blender for every job instead of keeping one running between jobs.")
    p.add_argument("--recycle-jobs", type=positive, default=RunOptions.recycle_jobs,
                   help="Restart a resident Blender after this many jobs (default %(default)s).")
    p.add_argument("--recycle-mb", type=positive, default=RunOptions.recycle_mb,
                   help="Restart a resident Blender using more memory than this, in MiB (default %(default)s).")
    p.add_argument("--min-free-mb", type=positive, default=RunOptions.min_free_mb,
                   help="Fail a job before it renders when its output disk has less free space, in MiB "
                        "(default %(default)s).")
    p.add_argument("--poweroff-delay", type=seconds, default=RunOptions.poweroff_delay, metavar="SECONDS",
                   help="Countdown before the recipe's power-off action, during which a client can cancel it "
                        "(default %(default)s).")
    p.add_argument("--poweroff-command", type=poweroff_command, action="append", default=[], metavar="ACTION=COMMAND",
                   help="Shell command for POWEROFF, SUSPEND, HIBERNATE or REBOOT instead of this platform's.")
    farm = p.add_argument_group("farm", "The manager's queue of Flamenco jobs, and the workers pulling its tasks.")
    farm.add_argument("--database", type=database, default=os.environ.get(DATABASE_ENV, ""), metavar="URL",
                      help=f"The farm's database: postgresql://USER@HOST:PORT/DB, which several managers may share "
                           f"(see docs/scaling-out.md), or a SQLite file (default ${DATABASE_ENV}, else "
                           f"<data-dir>/{DB_NAME}).")
    farm.add_argument("--job-files", type=Path, metavar="DIR",
                      help=f"Folder for task logs and last-rendered images (default <data-dir>/{JOB_FILES}; with "
                           f"a PostgreSQL --database, required: a folder every manager reads and writes).")
    farm.add_argument("--worker-timeout", type=seconds, default=Limits.worker_timeout, metavar="SECONDS",
                      help="A worker silent this long goes to error and its task back to the queue (default "
                           "%(default)s).")
    farm.add_argument("--task-timeout", type=seconds, default=Limits.task_timeout, metavar="SECONDS",
                      help="A task not updated this long fails (default %(default)s).")
    farm.add_argument("--task-fail-after", type=positive, default=Limits.task_fail_after, metavar="N",
                      help="Workers that may fail a task before it fails for good (default %(default)s).")
    farm.add_argument("--blocklist-after", type=positive, default=Limits.blocklist_after, metavar="N",
                      help="Tasks of one type a worker may fail in a job before it gets no more of them there "
                           "(default %(default)s).")
    farm.add_argument("--job-fail-percent", type=percent, default=Limits.job_fail_fraction * 100, metavar="P",
                      help="A job fails when this share of its tasks failed (default %(default)s).")
    farm.add_argument("--variable", type=variable, action="append", default=[], metavar="NAME[@PLATFORM]=VALUE",
                      help="A variable for task commands, e.g. blender@windows=C:\\Blender\\blender.exe "
                           "(repeatable).")
    farm.add_argument("--twoway-variable", type=variable, action="append", default=[],
                      metavar="NAME@PLATFORM=VALUE",
                      help="A path that differs per platform, e.g. render@linux=/mnt/render and "
                           "render@windows=R:\\ (repeatable).")
    farm.add_argument("--shared-storage", default="", metavar="PATH",
                      help="The folder every worker reaches, as this machine sees it.")
    farm.add_argument("--cinnamon-user", type=account, action="append", default=[], metavar="NAME:PASSWORD",
                      help="An account Cinnamon clients connect with (repeatable; none: the Cinnamon door is closed).")
    farm.add_argument("--cinnamon-ticket-lifetime", type=seconds, default=FarmOptions.cinnamon_ticket_lifetime,
                      metavar="SECONDS", help="A Cinnamon ticket unused this long is no longer valid "
                                              "(default %(default)s).")
    farm.add_argument("--cinnamon-tickets", type=positive, default=FarmOptions.cinnamon_tickets, metavar="N",
                      help="Tickets a Cinnamon account holds at most; one more connect ends its least recently "
                           "used ticket (default %(default)s).")
    farm.add_argument("--sheepit-user", type=account, action="append", default=[], metavar="NAME:PASSWORD",
                      help="An account SheepIt clients log in with (repeatable; none: the SheepIt door is closed).")
    farm.add_argument("--sheepit-renderer", type=renderer, action="append", default=[], metavar="OS:BITS=PATH.zip",
                      help="The Blender build SheepIt clients on OS and BITS download (its executable named "
                           "rend.exe), e.g. linux:64bit=/srv/blender-linux.zip (repeatable).")
    farm.add_argument("--sheepit-min-version", default="", metavar="VERSION",
                      help="SheepIt clients older than this are refused.")
    farm.add_argument("--sheepit-timeout", type=seconds, default=SheepItOptions.timeout, metavar="SECONDS",
                      help="A SheepIt session silent this long while it holds a frame loses the frame to the queue "
                           "and its worker goes to error (default %(default)s; the client checks in after 15 "
                           "minutes without other requests).")
    farm.add_argument("--sheepit-idle-timeout", type=seconds, default=SheepItOptions.idle_timeout,
                      metavar="SECONDS", help="A SheepIt session that holds no frame and is silent this long ends "
                                              "quietly, its worker offline (default %(default)s; an idle client "
                                              "asks for work every 5 to 20 minutes).")
    farm.add_argument("--sheepit-sessions", type=positive, default=SheepItOptions.sessions, metavar="N",
                      help="Live sessions a SheepIt account may have at once, and workers it keeps, one per host "
                           "(default %(default)s).")
    p.add_argument("--version", action="version", version=f"Shepherd {__version__}")
    return p


def load_recipe(path: Path) -> recipes.Recipe:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SystemExit(f"Cannot read the recipe {path}: {exc.strerror or exc}") from exc
    try:
        recipe = recipes.loads(text)
    except recipes.RecipeError as exc:
        raise SystemExit(f"Invalid recipe {path}: {exc}") from exc
    recipes.absolute_blend_files(recipe, str(path.resolve().parent))
    return recipe


def dry_run(recipe: recipes.Recipe, data_dir: Path) -> int:
    """Print stats and the exact Blender command of each enabled job; the task files they read are kept."""
    (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="dry-", dir=data_dir / "tmp"))
    enabled = [j for j in recipe.jobs if j.enabled]
    frames = sum(len(j.frames) for j in enabled)
    print(f"Batch {recipe.name}: {len(recipe.jobs)} jobs, {len(enabled)} enabled, "
          f"{len(recipe.jobs) - len(enabled)} disabled, {frames} frames (at frame step 1)")
    for job in enabled:
        width, height, percentage = recipe.effective_size(job)
        span = f"frames {job.frame_start}-{job.frame_end}" if job.animated else f"frame {job.frame_still}"
        print(f"job {job.id} '{job.name}': {span} at {width}x{height} {percentage}%")
        tasks_file = folder / f"job-{job.id}.json"
        tasks_file.write_text(json.dumps([task(recipe, job)]), encoding="utf-8")
        print("  " + shlex.join(render_command(recipe.blender_bin, tasks_file)))
    print(f"(task files kept in {folder})")
    return 0


def run_check(recipe: recipes.Recipe, min_free_mb: float) -> int:
    notes, problems = check.check(recipe, min_free_mb)
    for line in notes:
        print(line)
    for line in problems:
        print(f"problem: {line}")
    print(f"{len(problems)} problems found" if problems else "All checks passed")
    return 1 if problems else 0


async def run_foreground(manager: Manager, recipe: recipes.Recipe, print_stats: bool) -> int:
    """Render the batch here, printing each job's outcome; Ctrl-C cancels it. Non-zero if a job failed."""

    def show(event: Event) -> None:
        if event.kind == Kind.JOB_STATUS and manager.batch and (job := manager.batch.job(event.job or 0)):
            print(job_line(job.to_dict(), job.name), flush=True)
            if event.data["status"] == BatchStatus.FAILED:
                for message in job.messages:
                    print(f"  {message}", flush=True)
        if event.kind == Kind.POWEROFF and event.data["state"] == "countdown":
            seconds = max(0, round(event.data["deadline"] - time.time()))
            print(f"{event.data['action'].title()} in {seconds} s (Ctrl-C cancels)", flush=True)

    manager.bus.subscribe(show)
    notifier = Notifier(manager)
    batch = await manager.start(recipe)
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def interrupt() -> None:
        """Ctrl-C cancels the batch while it runs, and the power-off countdown after it."""
        if batch.active:
            stopping.add(loop.create_task(manager.cancel()))
        else:
            notifier.cancel_poweroff()

    signals.on_stop(loop, interrupt)
    await manager.wait()
    await notifier.settle()
    for message in batch.messages:
        print(f"! {message}")
    if print_stats:
        print(stats_view(batch.to_dict()))
    if batch.failed_jobs:
        print(f"{len(batch.failed_jobs)} of the batch's jobs failed", file=sys.stderr)
        return 1
    return 0 if batch.status == BatchStatus.FINISHED else 1


def follow(call: Callable[[str], Any], job_id: int | None) -> int:
    """Redraw the batch (or one job) until it ends; ``call(path)`` GETs from the service."""
    tty, last = sys.stdout.isatty(), None
    while True:
        batch = call("/batch")
        if job_id is None:
            view = batch_view(batch, call("/batch/name")["name"])
        else:
            job = call(f"/batch/jobs/{job_id}")
            view = "\n".join([job_line(job), *(f"! {m}" for m in job["messages"])])
        if view != last:
            print("\033[H\033[J" + view if tty else view + "\n", flush=True)
            last = view
        if batch["status"] not in BATCH_ACTIVE:
            return 0
        time.sleep(POLL_INTERVAL)


def client_action(args: argparse.Namespace) -> int:
    """--poll, --cancel, --cancel-job or --stop, sending the token where there is one."""
    host = "127.0.0.1" if args.host in WILDCARDS else args.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
    stored = args.data_dir / FILE_NAME
    token = read_token(args.token_file) if args.token_file else (
        os.environ.get(ENV, "").strip() or (read_token(stored) if stored.exists() else ""))

    def call(path: str, method: str = "GET") -> Any:
        return request(url, method, path, token=token)

    if args.poll or args.poll_job is not None:
        return follow(call, args.poll_job)
    if args.cancel:
        call("/batch", "DELETE")
        print("Batch cancelled")
    elif args.cancel_job:
        call("/batch/jobs/current", "DELETE")
        print("Current job cancelled")
    elif args.stop:
        call("/server", "DELETE")
        print("Server stopping")
    return 0


def policy(args: argparse.Namespace) -> Policy:
    """Who may talk to the service; prints where the token is kept when it listens beyond loopback."""
    exposed = not is_loopback(args.host)
    token, where = load_token(args.token_file, args.data_dir, exposed)
    if exposed:
        print(f"Listening on {args.host}: clients beyond this machine send the token "
              f"{'in ' + str(where) if where else 'of $' + ENV} as 'Authorization: Bearer TOKEN'", flush=True)
    return Policy(args.host, args.port, "https" if args.ssl_certfile else "http", tuple(args.allowed_host), token,
                  tuple(args.trust_network), args.max_body_mb * 2**20, args.read_timeout)


def run_options(args: argparse.Namespace) -> RunOptions:
    """How this machine renders: its Blender, slots, recycling, and power-off."""
    options = RunOptions(args.blender, args.slots, not args.no_resident, args.recycle_jobs, args.recycle_mb,
                         args.min_free_mb, args.poweroff_delay)
    options.poweroff_commands.update(args.poweroff_command)
    return options


def farm_options(args: argparse.Namespace) -> FarmOptions:
    variables = Variables()
    for table, given in ((variables.one_way, args.variable), (variables.two_way, args.twoway_variable)):
        for name, platform, value in given:
            table.setdefault(name, {})[platform] = value
    limits = Limits(args.worker_timeout, args.task_timeout, args.task_fail_after, args.blocklist_after,
                    args.job_fail_percent / 100)
    sheep = SheepItOptions(dict(args.sheepit_user), args.sheepit_min_version, dict(args.sheepit_renderer),
                           args.sheepit_timeout, args.sheepit_idle_timeout, args.sheepit_sessions)
    job_files = str(args.job_files.expanduser().resolve()) if args.job_files else ""
    return FarmOptions(limits, variables, args.shared_storage, args.database, job_files, dict(args.cinnamon_user),
                       args.cinnamon_ticket_lifetime, args.cinnamon_tickets, sheep)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.poll or args.poll_job is not None or args.cancel or args.cancel_job or args.stop:
            return client_action(args)
    except (ServiceError, TokenError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("--ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    recipe = load_recipe(args.recipe) if args.recipe else None
    if args.dry or args.check:
        if recipe is None:
            print("--dry and --check need --recipe FILE", file=sys.stderr)
            return 2
        recipe.blender_bin = recipe.blender_bin or args.blender  # none named: the service's, as when it renders
        return dry_run(recipe, args.data_dir) if args.dry else run_check(recipe, args.min_free_mb)
    options = run_options(args)
    farm = farm_options(args)
    if problem := farm.problem():
        print(f"Cannot start: {problem}", file=sys.stderr)
        return 2
    if farm.job_files:
        try:
            private.directory(Path(farm.job_files))
        except OSError as exc:
            print(f"Cannot use the job files folder {farm.job_files}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    try:
        private.directory(args.data_dir)
        logs.setup(args.data_dir, args.write_log)
        manager = Manager(args.data_dir, cleanup=not args.no_cleanup, options=options, farm=farm)
    except (StoreError, sqlite3.Error, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"Cannot use the data directory {args.data_dir}: {reason}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    if recipe is not None and (name := manager.interrupted()):
        print(f"The data directory {args.data_dir} holds the interrupted batch '{name}'. Start the service "
              "without --recipe to resume it, or use another --data-dir.", file=sys.stderr)
        return 1
    if recipe is not None and not args.serve:
        if not args.slots:
            print("--slots 0 renders nothing here, and a foreground run serves no workers: add --serve",
                  file=sys.stderr)
            return 2
        return asyncio.run(run_foreground(manager, recipe, args.print_stats))
    tls = (args.ssl_certfile, args.ssl_keyfile) if args.ssl_certfile else None
    try:
        if tls is not None:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(*tls)
    except (OSError, ssl.SSLError) as exc:
        print(f"Cannot serve https with {args.ssl_certfile} and {args.ssl_keyfile}: {exc}", file=sys.stderr)
        return 1
    if args.slots and not shutil.which(args.blender):
        print(f"Blender binary not found: {args.blender}; {NO_BLENDER}", file=sys.stderr)
        return 1
    try:
        access = policy(args)
    except (TokenError, OSError) as exc:
        print(f"Cannot set up the service token: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(serve(manager, access, recipe, tls, lambda: introduce(manager, access, args)))


def dashboard_url(access: Policy) -> str:
    """Where a browser on this machine (or, for a service on every address, on the network) finds the dashboard."""
    host = socket.gethostname() if access.bind in WILDCARDS else access.bind
    return f"{access.scheme}://{f'[{host}]' if ':' in host else host}:{access.port}/"


async def introduce(manager: Manager, access: Policy, args: argparse.Namespace) -> str | None:
    """Print the one-line banner of a service that listens now; or why it cannot go on: a Blender that does not
    run while local slots render."""
    version, problem = await asyncio.to_thread(check.blender_version, args.blender)
    if problem and args.slots:
        return f"{problem}; {NO_BLENDER}"
    storage = manager.farm.options.storage
    if not args.shared_storage:
        storage += " (workers on other machines need --shared-storage naming a folder they all reach)"
    blender = f"{version} ({shutil.which(args.blender)})" if version else f"none that runs ({problem})"
    slots = f"{args.slots} slot{'s' * (args.slots != 1)}" if args.slots else "no slots (workers render)"
    print(f"Shepherd {__version__}: dashboard {dashboard_url(access)} · data {args.data_dir} · {slots} · "
          f"{blender} · shared storage {storage}", flush=True)
    return None
