"""Serve the app with uvicorn until DELETE /server, Ctrl-C or SIGTERM; Blender is stopped first."""

from __future__ import annotations

import uvicorn

from service.app import create_app
from service.core.manager import Manager
from shared.recipe import Recipe


async def serve(manager: Manager, host: str, port: int, recipe: Recipe | None = None) -> None:
    server: uvicorn.Server | None = None

    async def stop() -> None:
        await manager.shutdown()
        assert server is not None
        server.should_exit = True

    app = create_app(manager, stop, recipe)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", lifespan="on", ws="wsproto"))
    await server.serve()
    if not server.started:
        raise SystemExit(f"Could not listen on {host}:{port}; is another service using that port?")
