"""Serve the app with uvicorn until DELETE /server, Ctrl-C or SIGTERM; Blender is stopped first."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn

from service import connections
from service.api.guard import Policy
from service.app import create_app
from service.core.manager import Manager
from service.core.openings import Openings
from service.web.live import Stream
from shared.recipe import Recipe


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


async def serve(manager: Manager, policy: Policy, recipe: Recipe | None = None,
                tls: tuple[Path, Path] | None = None) -> None:
    """Listen on the policy's address and port; ``tls`` is (certificate file, key file) for https."""
    server: uvicorn.Server | None = None

    async def stop() -> None:
        await app.state.notifier.close()
        await manager.shutdown()
        assert server is not None
        server.should_exit = True

    # A thread decoding a large recipe hands the GIL back to the event loop's thread within 1 ms, not 5.
    sys.setswitchinterval(0.001)
    app = create_app(manager, stop, policy, recipe)
    certfile, keyfile = tls or (None, None)
    http = connections.watched(policy.read_timeout, connections.raise_open_files())
    server = _Server(uvicorn.Config(app, host=policy.bind, port=policy.port, log_level="info", lifespan="on",
                                    ws="wsproto", http=http, timeout_keep_alive=connections.KEEP_ALIVE,
                                    ssl_certfile=certfile, ssl_keyfile=keyfile), app.state.stream,
                     manager.farm.openings)
    await server.serve()
    if not server.started:
        raise SystemExit(f"Could not listen on {policy.bind}:{policy.port}; is another service using that port?")
