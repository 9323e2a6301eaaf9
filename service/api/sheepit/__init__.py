"""The SheepIt door: SheepIt render clients render the farm's frames, their files travelling in the protocol
(``../shared/specs/sheepit-client-protocol.txt``), each session a worker of the scheduler."""

from service.api.sheepit.door import Door
from service.api.sheepit.routes import PREFIX, authenticates_itself, routes

__all__ = ["PREFIX", "Door", "authenticates_itself", "routes"]
