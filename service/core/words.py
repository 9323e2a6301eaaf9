"""Words the farm's rules write and its doors read back: the address of this machine's own workers, and how the
activity of a job that no worker may run begins."""

from __future__ import annotations

LOCAL = "this machine"
"""The address of the service's own slots as workers: they live in its process, so they never time out."""
STUCK = "No awake worker may run this job"
"""How the activity of a job that no awake worker may run begins (it says why, with the job's failures)."""
