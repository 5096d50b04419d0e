"""The refresh-schedule port: when each open pull request must be evaluated again, with no event.

After every evaluation of a pull request, the handlers tell the schedule the next instant its verdict can change
from time alone (``core.next_change``; a window edge, the upcoming-freeze threshold, an override's expiry, the
budget month), or, when nothing changes within the horizon, the end of the horizon. A closed pull request is
dropped. In the App the plan is a scheduled job in the durable queue (``app.refresh.QueueSchedule``): when it
falls due a worker runs a quiet refresh (``router.RefreshEvent``, ``quiet=True``: it writes only when the
verdict changed).

The port is deliberately narrow: one entry per pull request (a later ``plan`` replaces an earlier one), no
payload beyond the repository and number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from changebot.github.router import Repo


class RefreshSchedule(Protocol):
    """Where the next refresh of each open pull request is kept."""

    def plan(self, repo: Repo, number: int, at: datetime) -> None:
        """Refresh ``repo``#``number`` at ``at`` (replaces any earlier plan for it)."""
        ...

    def drop(self, repo: Repo, number: int) -> None:
        """Forget ``repo``#``number`` (closed or merged)."""
        ...
