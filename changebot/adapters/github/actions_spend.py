"""Month-to-date CI spend from the GitHub Actions API, for the budget gate's month check.

``ActionsSpend`` implements ``SpendSource`` (the ledger seam: ``month_to_date_usd(lane, now, lanes)``). It lists the
repository's workflow runs created since the first of ``now``'s month (UTC), asks each run's billable timing,
rounds every job up to a whole minute as GitHub bills, prices minutes by runner OS, and sums the runs of the
lane it is asked for. A run's lane is decided by ``core.budget.lanes.lane_of`` from its event and branch with
the settings' ``budget.lanes`` it is handed, the rule the budget gate priced the current run by: a push to
``main`` and a scheduled run on ``main`` both count against ``main``.

Totals per (event, branch) are cached in process per (API, repository, month) for ``ttl`` seconds, and the
timing of a completed run forever (it cannot change). When GitHub cannot be asked, or the month has more runs
than ``max_runs``, the answer is ``None`` ("unknown"), never a made-up number: an undercount would let a budget
pass wrongly. Public repositories report no billable time, so their spend is 0.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import GitHubClient, WorkflowRun
from changebot.core.budget.lanes import NO_LANES, lane_of

log = logging.getLogger("changebot.spend")

#: USD per minute by runner OS (GitHub-hosted standard runners, list price).
DEFAULT_RATES: Mapping[str, float] = {"UBUNTU": 0.008, "WINDOWS": 0.016, "MACOS": 0.08}


#: Spend so far this month per (event, branch) of the runs.
Totals = dict[tuple[str, str], float]


@dataclass
class SpendCache:
    """In-process cache shared by every ``ActionsSpend`` (thread-safe)."""

    months: dict[tuple[str, str, str], tuple[float, Totals | None]] = field(default_factory=dict)
    minutes: dict[tuple[str, str, int], dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


SHARED_CACHE = SpendCache()


class ActionsSpend:
    """``SpendSource`` (``adapters.ledger``) over the Actions API of one repository."""

    def __init__(
        self,
        client: GitHubClient,
        repo: str,
        *,
        rates: Mapping[str, float] = DEFAULT_RATES,
        max_runs: int = 500,
        ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        cache: SpendCache = SHARED_CACHE,
    ) -> None:
        self.client = client
        self.repo = repo
        self.rates = dict(rates)
        self.max_runs = max_runs
        self.ttl = ttl
        self.clock = clock
        self.cache = cache

    def month_to_date_usd(self, lane: str, now: datetime, lanes: Mapping[str, str] = NO_LANES) -> float | None:
        """USD spent in ``now``'s month (UTC) up to ``now`` by runs of ``lane``; ``None`` when unknown.

        ``lanes`` is settings ``budget.lanes``: with it, ``lane_of`` sorts the runs as the gate sorted this one.
        """
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        key = (self.client.base_url, self.repo, f"{now:%Y-%m}")
        with self.cache.lock:
            hit = self.cache.months.get(key)
        if hit is None or self.clock() - hit[0] > self.ttl:
            hit = (self.clock(), self._totals(now))
            with self.cache.lock:
                self.cache.months[key] = hit
        totals = hit[1]
        if totals is None:
            return None
        return round(sum(usd for (event, branch), usd in totals.items() if lane_of(event, branch, lanes) == lane), 4)

    def _totals(self, now: datetime) -> Totals | None:
        try:
            runs = self.client.workflow_runs(self.repo, f">={now:%Y-%m}-01", limit=self.max_runs + 1)
        except GitHubError as exc:
            log.warning("CI spend unknown: %s", exc)
            return None
        if len(runs) > self.max_runs:
            log.warning("CI spend unknown: more than %d workflow runs this month (raise max_runs)", self.max_runs)
            return None
        totals: Totals = {}
        for run in runs:
            if run.created_at is not None and run.created_at > now:
                continue
            minutes = self._minutes(run)
            if minutes is None:
                return None
            usd = sum(self.rates.get(os_name, max(self.rates.values())) * m for os_name, m in minutes.items())
            key = (run.event, run.head_branch or "")
            totals[key] = totals.get(key, 0.0) + usd
        return totals

    def _minutes(self, run: WorkflowRun) -> dict[str, int] | None:
        key = (self.client.base_url, self.repo, run.id)
        with self.cache.lock:
            known = self.cache.minutes.get(key)
        if known is not None:
            return known
        try:
            minutes = self.client.run_billable_minutes(self.repo, run.id)
        except GitHubError as exc:
            log.warning("CI spend unknown: %s", exc)
            return None
        if run.status == "completed":
            with self.cache.lock:
                self.cache.minutes[key] = minutes
        return minutes
