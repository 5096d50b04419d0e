"""Benchmark: next-change instants for 10,000 calendars (target: well under the 60 s refresh bound, per wave).

Each calendar is a realistic repository calendar: a weekly weekend freeze in one of four zones, two absolute
windows, a 24 h look-ahead, one override with an expiry, and the budget month. For each one, from an instant
spread over a year: ``Clockwork`` (built directly, as the handlers do once the calendar is read) and
``next_change`` over the default 31-day horizon. Reading the calendar files is the freeze gate's cost and is
measured by ``bench_freeze.py``.

Run: ``python benchmarks/bench_next_change.py`` (prints the total and the cost per calendar).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from changebot.core.context import make_context
from changebot.core.freeze.gate import read_calendar
from changebot.core.next_change import Clockwork, next_change
from changebot.core.settings import DEFAULT_SETTINGS
from changebot.model import GateId, Override, PullRequest, RepoFiles

ZONES = ["Europe/Dublin", "America/Denver", "UTC", "Asia/Tokyo"]
COUNT = 10_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def clockwork(i: int) -> tuple[Clockwork, datetime]:
    zone = ZONES[i % len(ZONES)]
    begin = START + timedelta(hours=(i * 37) % (24 * 360))
    pipeline = (
        "freeze_windows:\n"
        f'  - {{name: weekend, start: "FRI 17:00 {zone}", end: "MON 09:00 {zone}"}}\n'
        "  - {name: eoq, file: .maestro/eoq.json}\n"
    )
    eoq = (
        f'[{{"name": "a", "from": "{(begin + timedelta(days=3)).isoformat()}", '
        f'"to": "{(begin + timedelta(days=5)).isoformat()}"}}, '
        f'{{"name": "b", "from": "{(begin + timedelta(days=20)).isoformat()}", '
        f'"to": "{(begin + timedelta(days=22)).isoformat()}"}}]'
    )
    files = {".maestro/pipeline.yaml": pipeline.encode(), ".maestro/eoq.json": eoq.encode()}
    side = RepoFiles(None, None, files, frozenset(files))
    ctx = make_context(side, side, PullRequest(base_branch="main", head_sha="a" * 40), begin, DEFAULT_SETTINGS)
    calendar, _, _ = read_calendar(ctx)
    held = Override(GateId.FREEZE, "rel", "hotfix reason here", begin, begin + timedelta(hours=30), "a" * 40)
    return Clockwork(calendar, True, timedelta(hours=24), (held,), "a" * 40, True), begin


def main() -> None:
    started = time.perf_counter()
    works = [clockwork(i) for i in range(COUNT)]
    read = time.perf_counter() - started
    started = time.perf_counter()
    found = sum(1 for work, now in works if next_change(work, now) is not None)
    spent = time.perf_counter() - started
    print(f"read {COUNT} calendars: {read:.2f} s (freeze gate readers)")
    print(f"next_change for {COUNT} calendars: {spent:.2f} s ({spent / COUNT * 1e6:.0f} us each); {found} found")


if __name__ == "__main__":
    main()
