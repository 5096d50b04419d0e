"""Governance-owner and freeze bypasses of ``changebot plan`` (issue 16, items 1-4): each road to editing or
hiding governance config without an owner, on real git repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from changebot.cli import main
from tests.support.repos import GitRepo

SETTINGS = "policy:\n  governance_owners: [alice]\n"
CALENDAR = '[{"name": "EOQ freeze", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"}]\n'
FROZEN = "2025-12-20T12:00:00Z"
OPEN = "2025-11-20T12:00:00Z"
PLAN = """\
plan: q4
window: {start: 2025-12-01, end: 2025-12-31, tz: UTC}
release_tag: v1.0.0
freeze: {code_freeze: 2025-12-20T00:00:00Z}
"""


def plan(capsys: pytest.CaptureFixture[str], repo: GitRepo, *argv: str, now: str = OPEN) -> tuple[int, dict[str, Any]]:
    code = main(["plan", "--repo", str(repo.path), "--now", now, "--format", "json", *argv])
    out, _ = capsys.readouterr()
    return code, json.loads(out) if out else {}


def gate(doc: dict[str, Any], gate_id: str) -> dict[str, Any]:
    return next(g for g in doc["gates"] if g["id"] == gate_id)


def governance_denials(doc: dict[str, Any]) -> list[str]:
    return [
        f["message"]
        for f in gate(doc, "policy")["findings"]
        if f["severity"] == "error" and "edits governance config" in f["message"]
    ]


# --- item 1: a symlinked governance file on the base -------------------------------------------------------


def symlinked_calendar(make_repo: Callable[..., GitRepo], target: str) -> GitRepo:
    repo = make_repo({"calendars/freeze.json": CALENDAR, "src/app.py": "x = 1\n"})
    (repo.path / ".maestro").mkdir()
    (repo.path / ".maestro/freeze_windows.json").symlink_to(target)
    repo.commit({}, "calendar through a symlink")
    repo.branch("feature")
    repo.commit({"src/app.py": "x = 2\n"}, "work")
    return repo


def test_symlinked_calendar_inside_the_repository_is_followed(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = symlinked_calendar(make_repo, "../calendars/freeze.json")
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature", now=FROZEN)
    freeze = gate(doc, "freeze")
    assert (code, doc["verdict"], freeze["status"]) == (1, "fail", "fail")
    assert "EOQ freeze" in json.dumps(freeze["findings"])


@pytest.mark.parametrize("target", ["/etc/hostname", "../../outside.json", "../calendars/missing.json"])
def test_symlinked_calendar_that_cannot_be_followed_fails_closed(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], target: str
) -> None:
    repo = symlinked_calendar(make_repo, target)
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature", now=FROZEN)
    assert (code, doc["verdict"]) == (1, "fail")
    found = [f for g in doc["gates"] for f in g["findings"] if f["code"] == "symlink-refused"]
    assert found and found[0]["path"] == ".maestro/freeze_windows.json"
    assert target in found[0]["message"]
    assert gate(doc, "freeze")["status"] == "fail"


@pytest.mark.parametrize(
    ("link", "files"),
    [
        (".maestro", {"config/freeze_windows.json": CALENDAR}),
        (".ci", {"config/policies/deny.rego": "package x\n"}),
        (".orchestrator", {"config/patches/7/0001-x.patch": "not a patch\n"}),
        (".maestro/policies", {".maestro/changebot.yaml": "version: 1\n", "config/deny.rego": "package x\n"}),
    ],
)
def test_symlinked_governance_directory_fails_closed(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], link: str, files: dict[str, str]
) -> None:
    repo = make_repo({**files, "src/app.py": "x = 1\n"})
    (repo.path / link).parent.mkdir(parents=True, exist_ok=True)
    (repo.path / link).symlink_to("../config" if "/" in link else "config")
    repo.commit({}, "governance directory through a symlink")
    repo.branch("feature")
    repo.commit({"src/app.py": "x = 2\n"}, "work")
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature", now=FROZEN)
    assert (code, doc["verdict"]) == (1, "fail")
    found = [f for g in doc["gates"] for f in g["findings"] if f["code"] == "symlink-refused"]
    assert found and found[0]["path"] == link


def test_symlinked_calendar_in_a_plain_directory_is_followed(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars/freeze.json").write_text(CALENDAR)
    (tmp_path / ".maestro").mkdir()
    (tmp_path / ".maestro/freeze_windows.json").symlink_to("../calendars/freeze.json")
    code = main(["plan", "--repo", str(tmp_path), "--now", FROZEN, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert (code, gate(doc, "freeze")["status"]) == (1, "fail")


# --- item 2: the base given as a SHA or a qualified ref ----------------------------------------------------


def frozen_repo(make_repo: Callable[..., GitRepo]) -> GitRepo:
    repo = make_repo({".maestro/freeze_windows.json": CALENDAR, "src/app.py": "x = 1\n"})
    repo.branch("feature")
    repo.commit({"src/app.py": "x = 2\n"}, "work")
    repo.checkout("main")
    return repo


@pytest.mark.parametrize("base", ["refs/heads/main", "upstream/main", "refs/remotes/upstream/main"])
def test_qualified_base_ref_is_judged_as_its_branch(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], base: str
) -> None:
    repo = frozen_repo(make_repo)
    repo.git("update-ref", "refs/remotes/upstream/main", "main")
    code, doc = plan(capsys, repo, "--base", base, "--head", "feature", now=FROZEN)
    freeze = gate(doc, "freeze")
    assert (code, freeze["status"], freeze["branch"]) == (1, "fail", "main")


def test_base_given_as_a_sha_needs_branch(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = frozen_repo(make_repo)
    sha = repo.git("rev-parse", "main")
    code = main(["plan", "--repo", str(repo.path), "--now", FROZEN, "--base", sha, "--head", "feature"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert f"--base {sha!r} is not a branch" in err
    assert "--branch" in err
    code, doc = plan(capsys, repo, "--base", sha, "--head", "feature", "--branch", "main", now=FROZEN)
    assert (code, gate(doc, "freeze")["status"]) == (1, "fail")


def test_base_given_as_a_tag_needs_branch(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = frozen_repo(make_repo)
    repo.git("tag", "v1", "main")
    assert main(["plan", "--repo", str(repo.path), "--now", FROZEN, "--base", "v1", "--head", "feature"]) == 2
    assert "--base 'v1' is not a branch" in capsys.readouterr().err


# --- item 3: a patch series that edits governance files ----------------------------------------------------


def series_repo(make_repo: Callable[..., GitRepo], edit: dict[str, str]) -> GitRepo:
    repo = make_repo(
        {
            ".maestro/changebot.yaml": SETTINGS,
            ".maestro/freeze_windows.json": CALENDAR,
            ".maestro/plan-q4.yaml": PLAN,
            "src/app.py": "x = 1\n",
        }
    )
    repo.branch("authoring")
    repo.commit(edit, "edit governance")
    patch = repo.git("format-patch", "-1", "--stdout", "HEAD") + "\n"
    repo.checkout("main")
    repo.branch("feature")
    repo.commit({".orchestrator/patches/7/0001-edit-governance.patch": patch}, "add a series")
    return repo


@pytest.mark.parametrize(
    ("edit", "path"),
    [
        ({".maestro/freeze_windows.json": "[]\n"}, ".maestro/freeze_windows.json"),
        ({".maestro/changebot.yaml": "policy: {}\n"}, ".maestro/changebot.yaml"),
        (
            {".maestro/plan-q4.yaml": PLAN.replace("freeze: {code_freeze: 2025-12-20T00:00:00Z}\n", "")},
            ".maestro/plan-q4.yaml",
        ),
    ],
    ids=["calendar", "settings", "plan-freeze"],
)
def test_series_editing_governance_needs_an_owner(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], edit: dict[str, str], path: str
) -> None:
    repo = series_repo(make_repo, edit)
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature")
    assert (code, doc["verdict"], gate(doc, "policy")["status"]) == (1, "fail", "fail")
    denials = governance_denials(doc)
    assert len(denials) == 1 and path in denials[0] and "alice" in denials[0]
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature", "--approved-by", "alice")
    assert (code, governance_denials(doc)) == (0, [])


# --- item 4: a head that weakens a release plan's freeze ---------------------------------------------------


@pytest.mark.parametrize(
    "head_plan",
    [
        PLAN.replace("freeze: {code_freeze: 2025-12-20T00:00:00Z}\n", ""),
        PLAN.replace("2025-12-20T00:00:00Z", "2025-12-28T00:00:00Z"),
        PLAN.replace("end: 2025-12-31", "end: 2025-12-21"),
        PLAN.replace("code_freeze: 2025-12-20T00:00:00Z", "code_freeze: someday"),
        None,
    ],
    ids=["removed", "later", "window-shortened", "malformed", "plan-deleted"],
)
def test_weakening_a_plan_freeze_needs_an_owner(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], head_plan: str | None
) -> None:
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/plan-q4.yaml": PLAN, "src/app.py": "x = 1\n"})
    repo.branch("feature")
    repo.commit({".maestro/plan-q4.yaml": head_plan}, "weaken the freeze")
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature")
    assert (code, doc["verdict"]) == (1, "fail")
    denials = governance_denials(doc)
    assert len(denials) == 1 and ".maestro/plan-q4.yaml" in denials[0]


def test_strengthening_a_plan_freeze_needs_no_owner(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, ".maestro/plan-q4.yaml": PLAN, "src/app.py": "x = 1\n"})
    repo.branch("feature")
    earlier = PLAN.replace("2025-12-20T00:00:00Z", "2025-12-10T00:00:00Z")
    repo.commit({".maestro/plan-q4.yaml": earlier}, "freeze earlier")
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature")
    assert governance_denials(doc) == []
    assert code == 0


def test_a_plan_the_base_gained_after_the_fork_is_not_the_pull_requests_edit(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({".maestro/changebot.yaml": SETTINGS, "src/app.py": "x = 1\n"})
    repo.branch("feature")
    repo.commit({"src/app.py": "x = 2\n"}, "work")
    repo.checkout("main")
    repo.commit({".maestro/plan-q4.yaml": PLAN}, "the base moves on")
    code, doc = plan(capsys, repo, "--base", "main", "--head", "feature")
    assert (code, governance_denials(doc)) == (0, [])
