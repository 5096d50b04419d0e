"""Benchmark: freeze queries for a year over 10,000 absolute windows and 1,000 rrules (target: under 1 s).

The calendar is written as real files (release-policy.yml with 1,000 rules in four zones, freeze_windows.json
with 10,000 windows) and read through the same readers the gate uses. "Queries for a year" are:

* expand every window of the year (what ``changebot freeze --days 365`` lists);
* is the branch frozen at every hour of the year (8,760 instants);
* which windows are active, and when does the branch open, from every day of the year (365 instants each).

Run: ``python benchmarks/bench_freeze.py`` (prints seconds per phase; exits 1 if the queries take 1 s or more).
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from changebot.core.context import make_context
from changebot.core.freeze.gate import read_calendar
from changebot.core.freeze.windows import Timeline
from changebot.core.settings import DEFAULT_SETTINGS
from changebot.model import PullRequest, RepoFiles

ZONES = ["America/Denver", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]
RULES = [
    ("FREQ=WEEKLY;BYDAY=SA,SU", None),
    ("FREQ=MONTHLY;BYMONTHDAY=1", None),
    ("FREQ=DAILY;BYHOUR=22", "PT8H"),
    ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", None),
]


def calendar_files() -> dict[str, bytes]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    windows = []
    for i in range(10_000):
        begin = start + timedelta(minutes=53 * i)  # spread over ~1 year, many overlapping
        windows.append(
            {"name": f"w{i}", "from": begin.isoformat(), "to": (begin + timedelta(hours=1 + i % 7)).isoformat()}
        )
    lines = ["freeze:", "  timezone: UTC", "  windows:"]
    for i in range(1_000):
        rule, length = RULES[i % len(RULES)]
        lines.append(f"    - name: r{i}")
        lines.append(f'      rrule: "{rule}"')
        lines.append(f"      timezone: {ZONES[(i // 4) % len(ZONES)]}")
        if length:
            lines.append(f"      duration: {length}")
    return {
        ".maestro/freeze_windows.json": json.dumps(windows).encode(),
        "release-policy.yml": ("\n".join(lines) + "\n").encode(),
    }


def run_once(side: RepoFiles) -> tuple[float, float, float, str]:
    """One timed pass: (read, expand, query) CPU seconds, and a line of counts."""
    ctx = make_context(side, side, PullRequest(), datetime(2026, 1, 1, tzinfo=UTC), DEFAULT_SETTINGS)
    t0 = time.process_time()
    calendar, findings, _ = read_calendar(ctx)
    t1 = time.process_time()
    assert not findings, findings[:3]
    year = datetime(2026, 1, 1, tzinfo=UTC)
    timeline = Timeline.build(calendar, year, year + timedelta(days=395))
    t2 = time.process_time()
    frozen_hours = sum(timeline.frozen(year + timedelta(hours=h)) for h in range(365 * 24))
    active = sum(len(timeline.active(year + timedelta(days=d))) for d in range(365))
    opens = sum(1 for d in range(365) if timeline.open_at(year + timedelta(days=d)))
    t3 = time.process_time()
    counts = f"{len(timeline.windows):,} windows; frozen hours {frozen_hours:,}; active {active:,}; opens {opens}"
    return t1 - t0, t2 - t1, t3 - t2, counts


def main() -> int:
    files = calendar_files()
    side = RepoFiles(None, None, files, frozenset(files))
    runs = [run_once(side) for _ in range(3)]
    read, expand, query, counts = min(runs, key=lambda r: r[1] + r[2])
    print("CPU seconds, best of 3 (the machine is shared: numbers are noisy)")
    print(f"read + parse calendar (10,000 windows, 1,000 rrules): {read:.3f} s")
    print(f"expand one year:                                       {expand:.3f} s")
    print(f"8,760 hourly frozen + 365 daily active/open_at:        {query:.3f} s")
    print(f"freeze queries for a year, total (target < 1 s):       {expand + query:.3f} s")
    print(f"({counts})")
    return 0 if expand + query < 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
