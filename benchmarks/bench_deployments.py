"""Benchmark: the pure deployment review (``core.freeze.deployments.review``), what the App adds per
``deployment_protection_rule`` delivery on top of fetching the default branch and one API call.

Each review reads the settings' ``deployments`` entry and the freeze calendar from an in-memory default branch
(a weekly weekend freeze in one of four zones, two absolute windows) and judges an instant spread over a year,
for ``reject`` and ``wait`` environments alike.

Run: ``python benchmarks/bench_deployments.py`` (prints the total, the cost per review and the answers).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from changebot.core.context import make_context
from changebot.core.freeze.deployments import review
from changebot.model import PullRequest, RepoFiles
from changebot.usecases import plan as planning

ZONES = ["Europe/Dublin", "America/Denver", "UTC", "Asia/Tokyo"]
COUNT = 2_000
START = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = "deployments:\n  production: {branch: main}\n  staging: {branch: main, during_freeze: wait}\n"


def files(i: int) -> RepoFiles:
    zone = ZONES[i % len(ZONES)]
    begin = START + timedelta(days=(i * 7) % 300)
    pipeline = (
        "pipeline: {name: p, steps: [{id: a, run: x}]}\nfreeze_windows:\n"
        f'  - {{name: weekend, start: "FRI 17:00 {zone}", end: "MON 09:00 {zone}"}}\n'
        f'  - {{name: a, from: "{(begin + timedelta(days=3)).isoformat()}", '
        f'to: "{(begin + timedelta(days=5)).isoformat()}"}}\n'
        f'  - {{name: b, from: "{(begin + timedelta(days=20)).isoformat()}", '
        f'to: "{(begin + timedelta(days=22)).isoformat()}"}}\n'
    )
    raw = {".maestro/pipeline.yaml": pipeline.encode(), ".maestro/changebot.yaml": SETTINGS.encode()}
    return RepoFiles(None, None, raw, frozenset(raw))


def main() -> None:
    answers: Counter[str] = Counter()
    started = time.perf_counter()
    for i in range(COUNT):
        side = files(i)
        now = START + timedelta(hours=(i * 37) % (24 * 360))
        ctx = make_context(side, side, PullRequest(event="deployment"), now, planning.settings_from(side))
        answers[type(review(ctx, ("production", "staging")[i % 2])).__name__] += 1
    total = time.perf_counter() - started
    print(f"{COUNT} deployment reviews: {total:.2f} s, {total / COUNT * 1e3:.2f} ms per review")
    print("answers:", dict(sorted(answers.items())))


if __name__ == "__main__":
    main()
