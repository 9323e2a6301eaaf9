"""The service in the test's own process behind Starlette's TestClient: for what needs no real process (a door's
answers, its error shapes, the guard, pages), with no socket, no server process and no Blender started."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from service import cli
from service.app import create_app
from service.core.manager import Manager
from tests.conftest import HARMLESS

PORT = 7777
"""The port the service believes it listens on (nothing listens): its Host and Origin checks read it."""


class InProcess:
    """One service in this process; ``http`` answers as tests.helpers.http does for a service's URL."""

    def __init__(self, client: TestClient, manager: Manager, port: int) -> None:
        self.client, self.manager, self.port = client, manager, port
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = manager.data_dir

    def http(self, path: str, method: str = "GET", body: Any = None, raw: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """Status and body of one request to ``path`` (or to the service's ``url`` followed by it): decoded JSON,
        text for any other type, None when empty; redirects followed."""
        path = path.removeprefix(self.url)
        sent = dict(headers or {})
        if body is not None:
            sent["Content-Type"] = "application/json"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        answer = self.client.request(method, path, content=data, headers=sent)
        if not answer.content:
            return answer.status_code, None
        kind = answer.headers.get("content-type", "").split(";")[0].strip()
        return answer.status_code, answer.json() if kind == "application/json" else answer.text


@contextmanager
def in_process(tmp_path: Path, *flags: str, address: str = "127.0.0.1") -> Iterator[InProcess]:
    """A service with its data in ``tmp_path/data``, built from the command line's ``flags`` as ``service --serve``
    builds it (no slots unless the flags ask for some); ``address``: the client's address."""
    args = cli.parser().parse_args(["--serve", "--data-dir", str(tmp_path / "data"), "--port", str(PORT),
                                    "--slots", "0", *HARMLESS, *flags])
    manager = Manager(args.data_dir, cleanup=not args.no_cleanup, options=cli.run_options(args),
                      farm=cli.farm_options(args))

    async def stop() -> None:
        await manager.shutdown()

    app = create_app(manager, stop, cli.policy(args))
    with TestClient(app, base_url=f"http://127.0.0.1:{PORT}", client=(address, 50000)) as client:
        yield InProcess(client, manager, PORT)
