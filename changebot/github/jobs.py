"""The job port: what the router hands to whoever runs the work (the App's dispatcher, or the Action inline).

``Job`` is one unit of work for a pull request; ``JobControl`` tells a running job whether a newer job for the
same pull request has arrived since (then it stays silent). The App's ``app.jobs.Dispatcher`` runs jobs on
worker threads; the Action runs them at once with a control that is always current.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


class JobControl:
    """Handed to a running job: whether a newer job for its pull request has arrived since."""

    def __init__(self, is_current: Callable[[], bool]) -> None:
        self._is_current = is_current

    def is_current(self) -> bool:
        """False once a newer (or equally fresh, later) job for the same key was submitted."""
        return self._is_current()


ALWAYS_CURRENT = JobControl(lambda: True)


@dataclass(frozen=True)
class Job:
    """One unit of background work. ``run`` is blocking and runs in a worker thread."""

    key: str
    name: str
    run: Callable[[JobControl], object]
    order: tuple[str, ...] | None = None
