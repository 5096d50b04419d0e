"""Budget lanes: which share of the month (``ci_budget.json`` ``prio``) a CI run is priced against.

One rule, used both to price the run a pull request triggers (``core.budget.gate``) and to sort the month's
past runs into lanes (every ``SpendSource``, e.g. the Actions API reader): settings ``budget.lanes[event]``
when set; otherwise ``pull_request`` for ``pull_request`` and ``pull_request_target`` events; otherwise the
branch the run is for (a push to ``main``, a scheduled run on ``main``: lane ``main``). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: Events whose runs count against the ``pull_request`` lane unless settings map them elsewhere.
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
#: No ``budget.lanes`` in settings.
NO_LANES: Mapping[str, str] = MappingProxyType({})


def lane_of(event: str, branch: str, lanes: Mapping[str, str] = NO_LANES) -> str:
    """The lane of a run triggered by ``event`` for ``branch``; ``lanes`` is settings ``budget.lanes``."""
    if event in lanes:
        return lanes[event]
    if event in PULL_REQUEST_EVENTS:
        return "pull_request"
    return branch
