"""What the core answers when it will not do what a door asked: one hierarchy, each door translating it once
into its own error shape."""

from __future__ import annotations


class FarmError(Exception):
    """Anything the core refuses; its message is a sentence a client may read."""


class NotFound(FarmError, LookupError):
    """No such job, task, worker, tag or door object."""


class Conflict(FarmError):
    """The thing is not (or no longer) in a state that allows this: a task not this worker's, a taken name."""


class NameTaken(Conflict):
    """Another worker has this name: worker names are unique."""


class MoveRefused(FarmError, ValueError):
    """A status move the state machine does not allow (a completed job cannot be paused)."""
