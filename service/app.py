"""The Starlette application: routes, the API's error shape for unknown routes, and shutdown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from service.api import errors, renderplus, ws
from service.api.guard import BodyTooLarge, Guard, Policy
from service.core.manager import Manager
from shared.recipe import Recipe


async def _bad_route(request: Request, exc: Exception) -> Response:
    return errors.error(404, errors.BAD_ROUTE, f"Bad Route for {request.method}", f"Bad route: {request.url.path}")


async def _too_large(request: Request, exc: Exception) -> Response:
    return errors.refusal(request.url.path, 413, errors.TOO_LARGE, str(exc))


def create_app(manager: Manager, stop: Callable[[], Awaitable[None]], policy: Policy,
               recipe: Recipe | None = None) -> Starlette:
    """The service's ASGI app behind the Guard; ``stop`` ends the server, ``recipe`` starts rendering as soon
    as it is up.

    On start-up the last stored batch is loaded, and resumed if it was running when the service stopped.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await manager.restore()
        if recipe is not None:
            await manager.start(recipe)
        yield
        await manager.shutdown()

    app = Starlette(routes=[*renderplus.routes, *ws.routes],
                    middleware=[Middleware(Guard, policy=policy, shape=errors.refusal)],
                    exception_handlers={404: _bad_route, 405: _bad_route, BodyTooLarge: _too_large},
                    lifespan=lifespan)
    app.state.manager = manager
    app.state.hub = ws.attach(manager)
    app.state.stop = stop
    return app
