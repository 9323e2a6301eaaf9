"""Serve the app with uvicorn until DELETE /server, Ctrl-C or SIGTERM; Blender is stopped first."""

from __future__ import annotations

import asyncio
import errno
import gc
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn

from service import connections
from service.access import AccessLog
from service.app import create_app
from service.core.manager import Manager
from service.core.openings import Openings
from service.settings import KEEP_ALIVE, Policy
from service.web.live import Stream
from shared.recipe import Recipe

YOUNG = 10_000
"""New container objects between two of the garbage collector's young passes (Python's default: 700). A request
makes hundreds: with the default, a busy manager spent a twentieth of its CPU in the collector, whose full passes
over everything start-up made were its event loop's longest pauses."""


class _Server(uvicorn.Server):
    """uvicorn waits for every connection to end before it stops: the dashboard's event streams and the task
    requests waiting for work end first."""

    def __init__(self, config: uvicorn.Config, stream: Stream, openings: Openings) -> None:
        super().__init__(config)
        self.stream = stream
        self.openings = openings

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.stream.close()
        self.openings.close()
        await super().shutdown(sockets)


def listen(host: str, port: int) -> socket.socket:
    """The socket the service listens on, bound here so that a port in use is known before anything starts;
    raises SystemExit with a sentence saying so."""
    # The protocol named: asyncio turns Nagle's algorithm off only on sockets that say they are TCP, and a
    # response written in two parts would otherwise wait 40 ms for the client's delayed acknowledgement.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = ("the port is in use (by another Shepherd?): stop that program or give another --port"
               if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc))
        raise SystemExit(f"Cannot listen on {host}:{port}: {why}") from exc
    sock.set_inheritable(True)
    return sock


Ready = Callable[[], Awaitable[str | None]]
"""Told once the service listens: prints what it is doing, or returns why it cannot go on (one sentence)."""


async def serve(manager: Manager, policy: Policy, recipe: Recipe | None = None,
                tls: tuple[Path, Path] | None = None, ready: Ready | None = None) -> int:
    """Listen on the policy's address and port; ``tls`` is (certificate file, key file) for https. Returns the
    exit code: 1 when ``ready`` said the service cannot go on."""
    sock = listen(policy.bind, policy.port)
    server: uvicorn.Server | None = None
    refused: list[str] = []

    async def stop() -> None:
        await app.state.notifier.close()
        await manager.shutdown()
        assert server is not None
        server.should_exit = True

    # A thread decoding a large recipe hands the GIL back to the event loop's thread within 1 ms, not 5.
    sys.setswitchinterval(0.001)
    app = create_app(manager, stop, policy, recipe)
    gc.freeze()  # what start-up made (modules, routes, job types) lives as long as the process: never collected
    gc.set_threshold(YOUNG)
    certfile, keyfile = tls or (None, None)
    http = connections.watched(policy.read_timeout, connections.raise_open_files())
    server = _Server(uvicorn.Config(AccessLog(app), host=policy.bind, port=policy.port, log_level="info",
                                    lifespan="on", access_log=False, ws="wsproto", http=http,
                                    timeout_keep_alive=KEEP_ALIVE,
                                    ssl_certfile=certfile, ssl_keyfile=keyfile), app.state.stream,
                     manager.farm.openings)

    async def started() -> None:
        while not (server.started or server.should_exit):
            await asyncio.sleep(0.05)
        if server.started and ready is not None and (problem := await ready()):
            refused.append(problem)
            await stop()

    watch = asyncio.ensure_future(started())
    try:
        await server.serve(sockets=[sock])
    finally:
        watch.cancel()
        sock.close()
    for problem in refused:
        print(problem, file=sys.stderr, flush=True)
    return 1 if refused or not server.started else 0
