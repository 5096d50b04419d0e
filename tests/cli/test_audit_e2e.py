"""``changebot audit`` end to end: a real git checkout for the calendar, the GitHub double for the PRs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from changebot.adapters.github.audit import period_marker
from changebot.cli import main
from changebot.core.commands import help_text
from changebot.core.sticky import STICKY_MARKER, encode, head_marker, state_record
from changebot.model import GateId, Override
from changebot.render import replies

REPO = "octo/payments"
# Weekend freeze in Denver local time; the weekend of 2025-11-01/02 is when DST ends (49-hour weekend).
POLICY = """\
default_branch: main
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - name: "Weekend freeze"
      rrule: "FREQ=WEEKLY;BYDAY=SA,SU"
      active: true
    - name: "EOQ freeze"
      start: "2025-12-15T00:00:00"
      end: "2026-01-05T00:00:00"
      active: true
"""
NOW = "2025-11-05T12:00:00Z"  # a Wednesday; the ISO week 2025-W45 started Monday 2025-11-03


def z(text: str) -> str:
    return text.replace("+00:00", "Z")


def merged(github: Any, number: int, at: datetime, sha: str, branch: str = "main", state: str = "closed") -> None:
    github.add_pull(
        REPO,
        number,
        head_sha=sha * 40,
        base_sha="b" * 40,
        base_ref=branch,
        title=f"Change {number}",
        state=state,
        merged_at=z(at.isoformat()) if state == "closed" else None,
        merged_by="maria",
        updated_at=z(at.isoformat()),
    )


@pytest.fixture
def scene(make_repo: Callable[..., Any], github: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    repo = make_repo({"release-policy.yml": POLICY, "README.md": "payments\n"})
    # Sat 2025-11-01 00:00 MDT = 06:00Z ... Mon 2025-11-03 00:00 MST = 07:00Z.
    merged(github, 1, datetime(2025, 11, 3, 6, 30, tzinfo=UTC), "1")  # Sun 23:30 MST: frozen, no override
    merged(github, 2, datetime(2025, 11, 3, 6, 45, tzinfo=UTC), "2")  # frozen, with an override in force
    merged(github, 3, datetime(2025, 11, 3, 7, 0, tzinfo=UTC), "3")  # Mon 00:00 MST: the freeze has ended
    merged(github, 4, datetime(2025, 11, 4, 15, tzinfo=UTC), "4", branch="release/1.x")  # not a governed branch
    merged(github, 5, datetime(2025, 11, 3, 6, 50, tzinfo=UTC), "5")  # frozen; override forged by a user
    merged(github, 6, datetime(2025, 10, 20, tzinfo=UTC), "6")  # before the audited week
    merged(github, 10, datetime(2025, 11, 5, 9, tzinfo=UTC), "a", state="open")  # open: a weekend is coming
    granted = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    ok = Override(
        GateId.FREEZE,
        "release-captain",
        "payment outage hotfix INC-981",
        granted,
        granted + timedelta(hours=4),
        "2" * 40,
    )
    github.add_comment(REPO, 2, "### changebot\n" + STICKY_MARKER + "\n" + encode([ok]), github.bot_login)
    forged = Override(GateId.FREEZE, "mallory", "I say so, trust me, it is fine", granted, None, "5" * 40)
    github.add_comment(REPO, 5, "lgtm " + STICKY_MARKER + encode([forged]), "mallory")
    lapsed = Override(
        GateId.FREEZE,
        "release-captain",
        "big refactor needs to land now",
        granted,
        granted + timedelta(hours=1),
        "a" * 40,
    )
    github.add_comment(REPO, 10, STICKY_MARKER + encode([lapsed]), github.bot_login)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("CHANGEBOT_BOT_LOGIN", github.bot_login)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return {"checkout": str(repo.path), "api": github.base_url}


def audit(scene: dict[str, Any], *extra: str) -> list[str]:
    return [
        "audit",
        "--repo",
        REPO,
        "--checkout",
        scene["checkout"],
        "--api-url",
        scene["api"],
        "--now",
        NOW,
        "--days",
        "7",
        *extra,
    ]


def test_dry_run_lists_frozen_merges_with_and_without_overrides(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(audit(scene, "--format", "json")) == 1
    data = json.loads(capsys.readouterr().out)
    flagged = {m["number"]: m for m in data["merged_in_freeze"]}
    assert sorted(flagged) == [1, 2, 5]
    assert flagged[1]["authorised"] is False
    assert flagged[2]["override"]["actor"] == "release-captain"
    assert flagged[5]["authorised"] is False  # the forged marker in mallory's comment grants nothing
    assert flagged[1]["merged_by"] == "maria"
    assert [w["name"] for w in flagged[1]["windows"]] == ["Weekend freeze"]
    assert [u["number"] for u in data["upcoming"]] == [10]
    assert data["upcoming"][0]["window"]["start"].startswith("2025-11-08T00:00:00-07:00")
    assert [(e["number"], e["override"]["actor"]) for e in data["expired_unused"]] == [(10, "release-captain")]
    assert data["merged_checked"] == 4  # PRs 1, 2, 3, 5: merged into main this week
    assert not github.issues.get(REPO)  # a dry run writes nothing
    assert not [c for c in github.requests if c.method != "GET"]


def test_forged_marker_quoted_in_a_bot_reply_grants_nothing(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # changebot's reply to a malformed command quotes the command: a bot-authored comment with mallory's text.
    granted = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    forged = Override(GateId.FREEZE, "alice", "I say so, trust me, it is fine", granted, None, "5" * 40)
    quoted = f"{STICKY_MARKER} {encode([forged])}"
    body = replies.with_marker(help_text(f"'/changebot plan' takes no arguments (got {quoted!r})"), 99, "mallory")
    github.add_comment(REPO, 5, body, github.bot_login)
    assert main(audit(scene, "--format", "json")) == 1
    flagged = {m["number"]: m for m in json.loads(capsys.readouterr().out)["merged_in_freeze"]}
    assert flagged[5]["authorised"] is False
    assert flagged[2]["override"]["actor"] == "release-captain"


def test_publish_creates_one_issue_then_updates_it_in_place(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(audit(scene, "--format", "markdown", "--publish")) == 1
    err = capsys.readouterr().err
    assert "audit issue #11 created" in err
    (issue,) = github.issues[REPO]
    assert issue["title"] == "Freeze audit 2025-W45: 2 unauthorised merge(s) during a freeze"
    assert issue["_labels"] == ["changebot-audit"]
    for number in (1, 2, 5, 10):
        assert f"/pull/{number})" in issue["body"]
    assert "```mermaid" in issue["body"]
    writes = len([c for c in github.requests if c.method != "GET"])
    assert main(audit(scene, "--publish")) == 1  # rerun: same report
    assert len(github.issues[REPO]) == 1
    assert len([c for c in github.requests if c.method != "GET"]) == writes  # nothing changed: nothing written
    github.pulls[REPO][3].merged_at = None  # the world changes: PR 3 turns out unmerged
    merged(github, 12, datetime(2025, 11, 3, 6, 55, tzinfo=UTC), "c")  # and a new frozen merge appears
    assert main(audit(scene, "--publish")) == 1
    assert len(github.issues[REPO]) == 1
    assert "3 unauthorised" in github.issues[REPO][0]["title"]
    assert "audit issue #11 updated" in capsys.readouterr().err


def test_concurrent_runs_converge_to_one_issue(scene: dict[str, Any], github: Any) -> None:
    for _ in range(2):  # two racing runs both created an issue for the week
        github.issues.setdefault(REPO, []).append(
            {
                "id": github.new_id(),
                "number": 100 + len(github.issues[REPO]),
                "title": "Freeze audit 2025-W45",
                "body": period_marker("2025-W45") + "\nold",
                "state": "open",
                "_author": github.bot_login,
                "_labels": ["changebot-audit"],
            }
        )
    assert main(audit(scene, "--publish")) == 1
    first, second = sorted(github.issues[REPO], key=lambda i: i["number"])
    assert first["state"] == "open" and "Weekend freeze" in first["body"]
    assert second["state"] == "closed" and "Duplicate of #100" in second["body"]


def test_bad_input_is_refused(
    scene: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["audit", "--repo", "not-a-repo", "--api-url", scene["api"]]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err
    assert main(audit(scene, "--since", "last tuesday")) == 2
    assert "is not a date" in capsys.readouterr().err
    assert main(audit(scene, "--since", "2026-01-01")) == 2
    assert "is not before --now" in capsys.readouterr().err
    assert main([*audit(scene), "--days", "0"]) == 2
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(audit(scene)) == 2
    assert "no GitHub token" in capsys.readouterr().err


def non_gets(github: Any) -> list[Any]:
    return [c for c in github.requests if c.method != "GET"]


@pytest.mark.parametrize(
    ("path", "text", "where"),
    [
        (".maestro/freeze_windows.json", '[{"name": "EOQ", "from": "2025-11-01T00:00:00Z",\n "to": }]\n', ":2 "),
        (".maestro/changebot.yaml", "freeze:\n  branches: [main\n", ":3 "),
    ],
)
def test_an_unreadable_calendar_or_settings_file_is_a_failed_audit_never_an_all_clear(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str], path: str, text: str, where: str
) -> None:
    assert main(audit(scene, "--publish")) == 1  # a good audit first: the week's issue exists
    target = Path(scene["checkout"]) / path
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    capsys.readouterr()
    assert main(audit(scene, "--publish")) == 2
    err = capsys.readouterr().err
    assert f"could not audit: {path}{where}" in err
    (issue,) = github.issues[REPO]
    assert issue["title"] == "Freeze audit 2025-W45: could not audit"
    assert f"could not audit: {path}" in issue["body"]
    assert "white_check_mark" not in issue["body"] and "Weekend freeze" not in issue["body"]


def test_the_token_user_is_never_taken_for_changebot(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A laptop run with mallory's personal token and no CHANGEBOT_BOT_LOGIN: GET /user would say "mallory".
    github.bot_login = "mallory"
    monkeypatch.delenv("CHANGEBOT_BOT_LOGIN")
    assert main(audit(scene, "--format", "json")) == 2
    err = capsys.readouterr().err
    assert "changebot's own login is not known" in err and "CHANGEBOT_BOT_LOGIN" in err
    assert github.calls("GET", "/user") == []
    # The base branch names changebot's login: the App's override counts, mallory's pasted block does not.
    settings = Path(scene["checkout"]) / ".maestro" / "changebot.yaml"
    settings.parent.mkdir(exist_ok=True)
    settings.write_text("github:\n  bot_login: changebot[bot]\n")
    assert main(audit(scene, "--format", "json")) == 1
    flagged = {m["number"]: m for m in json.loads(capsys.readouterr().out)["merged_in_freeze"]}
    assert flagged[2]["override"]["actor"] == "release-captain"
    assert flagged[5]["authorised"] is False
    assert github.calls("GET", "/user") == []


def test_a_rerun_later_with_nothing_new_writes_nothing(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(audit(scene, "--publish")) == 1
    writes = len(non_gets(github))
    later = [*audit(scene, "--publish")]
    later[later.index(NOW)] = "2025-11-05T13:00:00Z"  # the next hourly run: same week, nothing new
    assert main(later) == 1
    assert len(non_gets(github)) == writes
    assert "audit issue #11 unchanged" in capsys.readouterr().err
    merged(github, 12, datetime(2025, 11, 3, 6, 55, tzinfo=UTC), "c")  # something new: it is written
    assert main(later) == 1
    assert len(non_gets(github)) == writes + 1
    assert "#12" in github.issues[REPO][0]["body"] or "/pull/12)" in github.issues[REPO][0]["body"]


def test_on_actions_a_sticky_counts_only_when_changebots_check_run_records_it(
    scene: dict[str, Any], github: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    actions = "github-actions[bot]"  # every workflow of the repository posts as this login
    monkeypatch.setenv("CHANGEBOT_BOT_LOGIN", actions)
    granted = datetime(2025, 11, 3, 6, 0, tzinfo=UTC)
    ok = Override(GateId.FREEZE, "release-captain", "payment outage hotfix INC-981", granted, None, "1" * 40)
    tail = f"\n{STICKY_MARKER}\n{encode([ok])}\n{head_marker('1' * 40, granted)}\n"
    github.add_comment(REPO, 1, "### Lint report: all good" + tail, actions)  # planted through another workflow
    assert main(audit(scene, "--format", "json")) == 1
    flagged = {m["number"]: m for m in json.loads(capsys.readouterr().out)["merged_in_freeze"]}
    assert flagged[1]["authorised"] is False
    github.check_runs[REPO] = [  # changebot's own check run on that head records this very state
        {
            "id": github.new_id(),
            "name": "changebot",
            "head_sha": "1" * 40,
            "status": "completed",
            "conclusion": "neutral",
            "external_id": f"changebot:{'0' * 24}:{state_record([ok])}",
            "output": {"title": "overridden", "summary": "", "text": None},
            "_annotations": [],
        }
    ]
    assert main(audit(scene, "--format", "json")) == 1
    flagged = {m["number"]: m for m in json.loads(capsys.readouterr().out)["merged_in_freeze"]}
    assert flagged[1]["override"]["actor"] == "release-captain"
