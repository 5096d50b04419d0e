"""The seams the budget gate reads month-to-date CI spend through. Pure: only the Protocols live here.

``changebot.adapters.ledger.FileLedger`` (``--ledger FILE``) and
``changebot.adapters.github.actions_spend.ActionsSpend`` (the Actions API) implement them; the gate receives
one as a parameter and never imports an adapter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class SpendSource(Protocol):
    """Month-to-date spend per lane. ``None`` when the source cannot tell."""

    def month_to_date_usd(self, lane: str, now: datetime) -> float | None:
        """US dollars spent by ``lane`` from the start of ``now``'s UTC month up to ``now``."""


@runtime_checkable
class StepHistory(Protocol):
    """Optional: the recorded cost of one run of a step (the file ledger implements it)."""

    def step_cost_usd(self, step_id: str) -> float | None:
        """Mean recorded US dollars per run of ``step_id``, or ``None`` when never recorded."""
