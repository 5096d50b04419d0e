"""The what-if in the Action: a governance PR's comment shows past merges and open PRs that would decide otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.core.sticky import STICKY_MARKER
from tests.cli.test_action import BOT, REPO, Runner, pr_event
from tests.cli.test_whatif import PIPELINE, merge_at
from tests.support.github_double import GitHubDouble
from tests.support.repos import GitRepo


def test_a_calendar_pr_comment_shows_the_merges_and_open_prs_it_would_block(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00", "SAT 20:00")})
    merge_at(repo, "weekend-fix", "2025-12-13T11:00:00Z", {"src/a.py": "a = 1\n"})  # a Saturday
    base = repo.git("rev-parse", "main")
    repo.branch("other", "main")
    other = repo.commit({"src/b.py": "b = 1\n"}, "an open PR")
    repo.branch("calendar", "main")
    head = repo.commit({".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00 UTC", "FRI 17:00 UTC")}, "freeze earlier")
    repo.checkout("main")
    github.bot_login = BOT
    github.add_pull(REPO, 7, head, base, files=[".maestro/pipeline.yaml"], title="freeze from Friday")
    github.add_pull(REPO, 8, other, base, files=["src/b.py"], title="an open PR")
    runner = Runner(tmp_path, github, repo.path, monkeypatch)
    # the runner's now is Saturday 09:00 UTC: the open PR is free under today's calendar, frozen under the new one
    code = runner.run("pull_request", pr_event(base, head))
    assert code == 0  # the what-if never changes the verdict
    [comment] = github.comments[REPO][7]
    assert STICKY_MARKER in comment["body"]
    body = comment["body"]
    assert (
        "<details><summary>:crystal_ball: What-if: 1 change(s) in meaning in 1 governance file(s); 2 of 2 (1 merge(s) "
        "since 2025-09-21, 1 open pull request(s)) would decide otherwise</summary>"
    ) in body
    assert "| window 'weekends' now starts Fri 17:00 instead of Sat 20:00 (UTC) |" in body
    assert "| `#8` an open PR |" in body
    assert "Merge weekend-fix" in body
    assert github.calls("GET", "/repos/{owner}/{repo}/pulls")
