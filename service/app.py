"""The Starlette application: routes, the API's error shape for unknown routes, and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from service import web
from service.api import cinnamon, errors, flamenco, renderplus, sheepit, ws
from service.api.flamenco.common import ApiError, api_error, translated
from service.api.guard import BodyTooLarge, Guard
from service.core.errors import FarmError
from service.core.farm import TypeOutdated
from service.core.images import ImageRefused
from service.core.jobtypes import CompileError
from service.core.manager import Manager
from service.core.policy import Refused
from service.notify.notifier import Notifier
from service.settings import Policy
from service.web import views
from service.web.live import Stream
from shared.recipe import Recipe


async def _bad_route(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    path = request.url.path
    if errors.is_cinnamon(path) or errors.is_flamenco(path) or errors.is_sheepit(path):
        return errors.refusal(request.url.path, status, errors.BAD_ROUTE,
                              f"no route {request.method} {request.url.path}")
    return errors.error(404, errors.BAD_ROUTE, f"Bad Route for {request.method}", f"Bad route: {request.url.path}")


async def _too_large(request: Request, exc: Exception) -> Response:
    return errors.refusal(request.url.path, 413, errors.TOO_LARGE, str(exc))


async def _refused(request: Request, exc: Exception) -> Response:
    """What the core refused (service.core.errors, or what a client may not choose, compile or upload) that a
    handler let through, in the shape of the door it came to: each door translates it in one place."""
    path = request.url.path
    if web.is_page(path):
        return views.farm_error(exc)
    if errors.is_cinnamon(path):
        return errors.cinnamon(cinnamon.refusal_code(exc), str(exc))
    if errors.is_sheepit(path):
        answer = translated(exc)
        return errors.sheepit(answer.status, answer.message)
    if renderplus.is_renderplus(path):
        return renderplus.refusal(exc, request.client.host if request.client else None)
    return await api_error(request, exc)  # the Flamenco API's and its /job-files


def _refusal(path: str, status: int, code: int, message: str) -> Response:
    """The security layer's refusals: a page for the dashboard's, the API's error shape for the others."""
    return views.refused(path, status, message) if web.is_page(path) else errors.refusal(path, status, code, message)


def create_app(manager: Manager, stop: Callable[[], Awaitable[None]], policy: Policy,
               recipe: Recipe | None = None) -> Starlette:
    """The service's ASGI app behind the Guard; ``stop`` ends the server, ``recipe`` starts rendering as soon
    as it is up. The websocket hub and the notifier subscribe to the manager's event bus here.

    On start-up the last stored batch is loaded, and resumed if it was running when the service stopped.
    """

    farm = manager.farm
    notifier = Notifier(manager)
    sheep = sheepit.Door(farm)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await manager.restore()
        await sheep.restore()
        if recipe is not None:
            await manager.start(recipe)
        manager.serve()
        farm.peers.start()
        timeouts = asyncio.get_running_loop().create_task(farm.watch_timeouts())
        sessions = asyncio.get_running_loop().create_task(sheep.watch())
        yield
        timeouts.cancel()
        sessions.cancel()
        farm.peers.close()
        await notifier.close()
        await manager.shutdown()
        farm.close()

    app = Starlette(routes=[*flamenco.routes, *renderplus.routes, *ws.routes, *cinnamon.routes, *sheepit.routes,
                            *web.routes],  # Starlette tries each in turn: the farm's workers ask most
                    middleware=[Middleware(Guard, policy=policy, shape=_refusal,
                                           own_auth=lambda path: flamenco.authenticates_itself(path)
                                           or cinnamon.authenticates_itself(path)
                                           or sheepit.authenticates_itself(path) or web.is_open(path),
                                           cookie_auth=web.is_page)],
                    exception_handlers={404: _bad_route, 405: _bad_route, BodyTooLarge: _too_large,
                                        ApiError: api_error, FarmError: _refused, Refused: _refused,
                                        CompileError: _refused, TypeOutdated: _refused, ImageRefused: _refused},
                    lifespan=lifespan)
    app.state.farm = farm
    options = farm.options
    app.state.cinnamon = cinnamon.Sessions(options.cinnamon_ticket_lifetime, options.cinnamon_tickets)
    app.state.sheepit = sheep
    app.state.notifier = notifier
    app.state.manager = manager
    app.state.hub = ws.attach(manager)
    app.state.stop = stop
    app.state.policy = policy
    app.state.stream = Stream(manager.bus)
    return app
