"""What every door reads from a request besides its body: the farm's core the app holds, and the client's
address."""

from __future__ import annotations

from starlette.requests import Request

from service.core.farm import FarmCore


def core(request: Request) -> FarmCore:
    farm: FarmCore = request.app.state.farm
    return farm


def client(request: Request) -> str:
    return request.client.host if request.client else ""
