"""The seams the budget gate reads month-to-date CI spend through. Pure: only the Protocols live here.

``changebot.adapters.ledger.FileLedger`` (``--ledger FILE``) and
``changebot.adapters.github.actions_spend.ActionsSpend`` (the Actions API) implement them; the gate receives
one as a parameter and never imports an adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from changebot.core.budget.lanes import NO_LANES


@runtime_checkable
class SpendSource(Protocol):
    """Month-to-date spend per lane. ``None`` when the source cannot tell."""

    def month_to_date_usd(self, lane: str, now: datetime, lanes: Mapping[str, str] = NO_LANES) -> float | None:
        """US dollars spent by ``lane`` from the start of ``now``'s UTC month up to ``now``.

        A source that sees runs rather than lanes sorts them with ``core.budget.lanes.lane_of`` and ``lanes``
        (settings ``budget.lanes``), the rule the budget gate decided ``lane`` by; a source whose records are
        already labelled by lane (the ledger file) ignores it.
        """


@runtime_checkable
class StepHistory(Protocol):
    """Optional: the recorded cost of one run of a step (the file ledger implements it)."""

    def step_cost_usd(self, step_id: str) -> float | None:
        """Mean recorded US dollars per run of ``step_id``, or ``None`` when never recorded."""
