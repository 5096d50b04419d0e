"""``changebot whatif``: real repositories with merge history made here, each merge at a set commit time."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from changebot.cli import main
from tests.support.repos import GIT_ENV, REPO_ROOT, GitRepo

NOW = "2025-10-01T12:00:00Z"

PIPELINE = """\
pipeline:
  name: ci
  steps:
    - id: build
      run: make
freeze_windows:
  - name: weekends
    start: "SAT 00:00 UTC"
    end: "MON 00:00 UTC"
"""

RULES = json.dumps(
    [
        {
            "id": "risk-high",
            "when": {"in": ["charts/values.yaml", {"var": "files"}]},
            "then": [{"do": "label", "with": {"labels": ["risk:high"]}}],
        }
    ],
    indent=2,
)

ALLOW_ALL = 'package changebot.gate\n\nimport rego.v1\n\ndeny contains msg if {\n  false\n  msg := "never"\n}\n'
DENY_NO_DRI = """\
package changebot.gate

import rego.v1

deny contains msg if {
  some bundle in input.bundles
  not bundle.spec.owners.DRI
  msg := sprintf("bundle %v has no owners.DRI", [bundle.path])
}
"""

SETTINGS = "policy:\n  default_library: false\n"


def dated(repo: GitRepo, when: str, *args: str) -> str:
    """A git command whose commits carry ``when`` as author and committer time."""
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    done = subprocess.run(["git", "-C", str(repo.path), *args], check=True, capture_output=True, text=True, env=env)
    return done.stdout.strip()


def merge_at(repo: GitRepo, name: str, when: str, files: Mapping[str, str]) -> str:
    """A feature branch with ``files`` merged into main with a merge commit at ``when``."""
    repo.git("checkout", "-q", "-b", name, "main")
    repo.write(files)
    repo.git("add", "-A")
    dated(repo, when, "commit", "-q", "-m", f"work on {name}")
    repo.git("checkout", "-q", "main")
    dated(repo, when, "merge", "-q", "--no-ff", "-m", f"Merge {name}", name)
    return repo.git("rev-parse", "HEAD")


def history(make_repo: Callable[..., GitRepo], governance: Mapping[str, str]) -> GitRepo:
    """main: governance, then four merges: two on weekdays, one on a Saturday, one on a Sunday."""
    repo = make_repo(dict(governance))
    merge_at(repo, "a", "2025-09-02T10:00:00Z", {"src/a.py": "a = 1\n"})  # Tuesday
    merge_at(repo, "b", "2025-09-06T11:00:00Z", {"src/b.py": "b = 1\n"})  # Saturday
    merge_at(repo, "c", "2025-09-14T15:00:00Z", {"charts/values.yaml": "replicas: 3\n"})  # Sunday
    merge_at(repo, "d", "2025-09-17T09:00:00Z", {".maestro/changes/20250917-x.yaml": "area: x\nintent: y\n"})
    return repo


def whatif(repo: GitRepo, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code = main(
        [
            "whatif",
            "--repo",
            str(repo.path),
            "--base",
            "main",
            "--head",
            "edit",
            "--now",
            NOW,
            "--format",
            "json",
            *extra,
        ]
    )
    assert code == 0
    doc: dict[str, Any] = json.loads(capsys.readouterr().out)
    return doc


def edit(repo: GitRepo, files: Mapping[str, str | None]) -> None:
    repo.branch("edit", "main")
    repo.commit(dict(files), "governance edit")


def effects(doc: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["merge"]["subject"], c["gate"], c["effect"]) for c in doc["consequences"]]


def test_a_weekend_freeze_would_have_blocked_the_weekend_merges(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = history(make_repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00", "SAT 20:00")})
    edit(repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00 UTC", "FRI 17:00 UTC")})
    doc = whatif(repo, capsys)
    assert doc["merges_checked"] == 4
    assert effects(doc) == [("Merge b", "freeze", "would be blocked")]
    [blocked] = doc["consequences"]
    assert blocked["before"] == "warn"  # the old window started that evening
    assert blocked["after"] == "fail"
    assert "frozen by 'weekends'" in blocked["reasons"][0]
    assert [c["text"] for c in doc["changes"]] == ["window 'weekends' now starts Fri 17:00 instead of Sat 20:00 (UTC)"]
    assert doc["windows_before"] != doc["windows_after"]


def test_a_rules_change_that_labels_differently(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = history(make_repo, {".maestro/rules.json": RULES})
    changed = json.loads(RULES)
    changed[0]["then"][0]["with"]["labels"] = ["risk:high", "needs-sre"]
    edit(repo, {".maestro/rules.json": json.dumps(changed, indent=2)})
    doc = whatif(repo, capsys)
    assert effects(doc) == [("Merge c", "rules", "labels differently: now also needs-sre")]
    assert [c["text"] for c in doc["changes"]] == ["rule 'risk-high' now also labels needs-sre"]


def test_a_policy_change_that_would_deny_a_past_bundle(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = ".maestro/policies/gate.rego"
    repo = history(make_repo, {policy: ALLOW_ALL, ".maestro/changebot.yaml": SETTINGS})
    edit(repo, {policy: DENY_NO_DRI})
    doc = whatif(repo, capsys)
    assert effects(doc) == [("Merge d", "policy", "would be blocked")]
    assert "bundle .maestro/changes/20250917-x.yaml has no owners.DRI" in doc["consequences"][0]["reasons"][0]
    assert doc["changes"][0]["path"] == policy


def test_a_change_that_affects_nothing(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = history(make_repo, {".maestro/pipeline.yaml": PIPELINE})
    edit(repo, {".maestro/pipeline.yaml": PIPELINE.replace("name: ci", "name: ci2"), "README.md": "x\n"})
    doc = whatif(repo, capsys)
    assert (doc["consequences"], doc["merges_checked"]) == ([], 4)
    code = main(["whatif", "--repo", str(repo.path), "--base", "main", "--head", "edit", "--now", NOW])
    assert code == 0
    out = capsys.readouterr().out
    assert "1 change(s) in meaning in 1 governance file(s); none of 4 merge(s) since 2025-07-03" in out
    assert "the pipeline is now named 'ci2' (was 'ci')" in out


def test_no_governance_change_reads_no_history(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = history(make_repo, {".maestro/pipeline.yaml": PIPELINE})
    edit(repo, {"README.md": "only docs\n"})
    doc = whatif(repo, capsys)
    assert (doc["files"], doc["changes"], doc["merges_checked"], doc["consequences"]) == ([], [], 0, [])


def test_since_limits_the_merges(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = history(make_repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00", "SAT 20:00")})
    edit(repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00 UTC", "FRI 17:00 UTC")})
    doc = whatif(repo, capsys, "--since", "20d")
    assert doc["merges_checked"] == 2  # the Sunday and the Wednesday merges
    assert effects(doc) == []


def test_a_bad_since_is_a_usage_error(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({"README.md": "x\n"})
    code = main(["whatif", "--repo", str(repo.path), "--base", "main", "--head", "main", "--since", "soon"])
    assert code == 2
    assert "--since 'soon' is not a period" in capsys.readouterr().err


def test_ten_thousand_commits_of_history(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    """10,000 commits (fast-import), 100 of them merges at known times: only the merges are replayed."""
    repo = make_repo({".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00", "SAT 20:00")})
    base = repo.git("rev-parse", "HEAD")
    stream: list[str] = []
    mark = 0
    parent = base
    start = 1756800000  # 2025-09-02T08:00:00Z, a Tuesday
    for merge in range(100):
        side = parent
        for n in range(99):
            mark += 1
            when = start + merge * 3600 * 6 + n
            data = f"{merge}-{n}\n"
            stream += [
                "commit refs/heads/side",
                f"mark :{mark}",
                f"committer T <t@example.com> {when} +0000",
                "data 1",
                "x",
                f"from {side}" if n == 0 else f"from :{mark - 1}",
                f"M 100644 inline src/f{merge % 10}.txt",
                f"data {len(data)}",
                data.rstrip("\n"),
            ]
            side = f":{mark}"
        mark += 1
        when = start + merge * 3600 * 6 + 200
        stream += [
            "commit refs/heads/main",
            f"mark :{mark}",
            f"committer T <t@example.com> {when} +0000",
            f"data {len(f'Merge {merge}')}",
            f"Merge {merge}",
            f"from {parent}" if merge == 0 else f"from :{mark - 100}",
            f"merge {side}",
        ]
        parent = f":{mark}"
    subprocess.run(
        ["git", "-C", str(repo.path), "fast-import", "--quiet", "--force"],
        input="\n".join(stream) + "\n",
        text=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    assert repo.git("rev-list", "--count", "main") == str(100 * 100 + 1)
    edit(repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00 UTC", "FRI 17:00 UTC")})
    doc = whatif(repo, capsys)
    assert doc["merges_checked"] == 100
    # merges every 6 hours from Tuesday 08:00; the freeze now starts Friday 17:00 instead of Saturday 20:00
    expected = []
    for merge in range(100):
        when = datetime.fromtimestamp(start + merge * 3600 * 6 + 200, UTC)
        hours = (when.weekday() * 24 + when.hour + when.minute / 60 - 4 * 24 - 17) % (7 * 24)  # since Fri 17:00
        if hours < 27:  # Friday 17:00 to Saturday 20:00: newly frozen
            expected.append((when.isoformat(), "would be blocked"))
        elif hours >= 7 * 24 - 24:  # within a day of the new start (the old one was more than a day away)
            expected.append((when.isoformat(), "would be warned"))
    assert [(c["merge"]["when"], c["effect"]) for c in doc["consequences"]] == expected
    assert sum(effect == "would be blocked" for _, effect in expected) == 14


def test_plan_carries_the_whatif_in_json_and_a_collapsed_comment_section(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    """The plan of a governance PR shows the what-if; its verdict is the gates' alone."""
    repo = history(make_repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00", "SAT 20:00")})
    edit(repo, {".maestro/pipeline.yaml": PIPELINE.replace("SAT 00:00 UTC", "FRI 17:00 UTC")})
    argv = ["plan", "--repo", str(repo.path), "--base", "main", "--head", "edit", "--now", NOW]
    code = main([*argv, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert effects(doc["whatif"]) == [("Merge b", "freeze", "would be blocked")]
    schema = json.loads((REPO_ROOT / "schemas" / "plan.schema.json").read_text(encoding="utf-8"))
    assert [e.message for e in Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(doc)] == []
    assert {g["id"]: g["status"] for g in doc["gates"]}["freeze"] == "pass"
    assert (doc["verdict"], code) == ("warn", 0)  # a governance edit warns; the blocked merge changes nothing
    main([*argv, "--format", "markdown"])
    comment = capsys.readouterr().out
    assert "<details><summary>:crystal_ball: What-if: 1 change(s) in meaning in 1 governance file(s); 1 of 4" in comment
    assert "**Freeze calendar before**" in comment
    main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "main", "--now", NOW, "--format", "json"])
    assert "whatif" not in json.loads(capsys.readouterr().out)
