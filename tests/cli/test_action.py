"""``changebot action`` end to end: a real git checkout, a real webhook payload, the GitHub double as the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from changebot.adapters.github.actions import command
from changebot.cli import main
from changebot.core.sticky import STICKY_MARKER
from tests.support.github_double import GitHubDouble
from tests.support.octokit import webhook_example
from tests.support.opa import OPA_VERSION, require_opa
from tests.support.opa_double import opa_double
from tests.support.repos import GIT_ENV, GitRepo

REPO = "octo/app"
NOW = "2025-12-20T09:00:00Z"
BAD = ".maestro/changes/20250902-bad.yaml"
BOT = "github-actions[bot]"


class Checkout:
    """A workflow's checkout: a base commit on main, a PR head on ``feature``."""

    def __init__(self, repo: GitRepo) -> None:
        self.repo = repo
        self.base = repo.git("rev-parse", "HEAD")
        repo.branch("feature")
        self.head = repo.commit({BAD: "area: [unclosed\n", "docs/readme.md": "hello\n"}, "add a bundle")
        repo.checkout("main")


@pytest.fixture
def checkout(make_repo: Callable[..., GitRepo]) -> Checkout:
    return Checkout(make_repo({".maestro/changes/20250901-ok.yaml": "area: payments\nintent: harden\n"}))


def pr_event(base: str, head: str, head_repo: str = REPO, number: int = 7) -> dict[str, Any]:
    """The ``pull_request.opened`` example from @octokit/webhooks-examples, pointed at our repo and commits."""
    event = webhook_example("pull_request", "opened")
    pull = event["pull_request"]
    pull["number"] = event["number"] = number
    pull["base"]["sha"], pull["base"]["ref"] = base, "main"
    pull["head"]["sha"], pull["head"]["ref"] = head, "feature"
    pull["base"]["repo"]["full_name"] = event["repository"]["full_name"] = REPO
    pull["head"]["repo"]["full_name"] = head_repo
    return event


class Runner:
    """Sets up the Actions environment for one step and runs ``changebot action``."""

    def __init__(self, tmp_path: Path, double: GitHubDouble, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dir = tmp_path / "runner"
        self.dir.mkdir()
        self.summary = self.dir / "summary.md"
        self.output = self.dir / "output.txt"
        self.env = {
            "GITHUB_EVENT_PATH": str(self.dir / "event.json"),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_API_URL": double.base_url,
            "GITHUB_TOKEN": "test-token",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_STEP_SUMMARY": str(self.summary),
            "GITHUB_OUTPUT": str(self.output),
            **GIT_ENV,
        }
        for key in [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_", "CHANGEBOT_"))]:
            monkeypatch.delenv(key)
        self.monkeypatch = monkeypatch

    def run(self, event_name: str, event: dict[str, Any] | None, **extra: str) -> int:
        if event is not None:
            Path(self.env["GITHUB_EVENT_PATH"]).write_text(json.dumps(event), encoding="utf-8")
        for key, value in {**self.env, "GITHUB_EVENT_NAME": event_name, **extra}.items():
            self.monkeypatch.setenv(key, value)
        return main(["action", "--now", NOW])

    def outputs(self) -> dict[str, str]:
        out: dict[str, str] = {}
        lines = self.output.read_text(encoding="utf-8").splitlines()
        i = 0
        while i < len(lines):
            name, delimiter = lines[i].split("<<")
            end = lines.index(delimiter, i + 1)
            out[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        return out


@pytest.fixture
def runner(tmp_path: Path, github: GitHubDouble, checkout: Checkout, monkeypatch: pytest.MonkeyPatch) -> Runner:
    github.bot_login = BOT
    return Runner(tmp_path, github, checkout.repo.path, monkeypatch)


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_the_action_posts_one_check_run_and_one_comment_and_edits_them_on_the_next_run(
    github: GitHubDouble, checkout: Checkout, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD, "docs/readme.md"])
    event = pr_event(checkout.base, checkout.head)

    assert runner.run("pull_request", event) == 1
    out = capsys.readouterr().out
    assert f"::error file={BAD},line=2,col=1,title=schema%3A yaml-syntax::YAML syntax error" in out
    [run] = github.check_runs[REPO]
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("changebot", checkout.head, "failure")
    assert [(a["path"], a["start_line"]) for a in run["_annotations"]] == [(BAD, 2)]
    [comment] = github.comments[REPO][7]
    assert comment["user"]["login"] == BOT
    assert STICKY_MARKER in comment["body"]
    assert f"`{BAD}:2:1`" in comment["body"]
    assert runner.outputs() == {"verdict": "fail", "cost": ""}
    assert runner.summary.read_text(encoding="utf-8").startswith("### changebot: :x: **fail**")
    assert len(github.requests) <= 6

    # The head is fixed: the second run edits both instead of adding new ones.
    checkout.repo.checkout("feature")
    fixed = checkout.repo.commit({BAD: "area: payments\nintent: harden\n"}, "fix the bundle")
    checkout.repo.checkout("main")
    github.pulls[REPO][7].head_sha = fixed
    github.requests.clear()
    assert runner.run("pull_request", pr_event(checkout.base, fixed)) == 0
    [comment] = github.comments[REPO][7]
    assert "**pass**" in comment["body"]
    assert [r["conclusion"] for r in github.check_runs[REPO]] == ["failure", "success"]  # one per head SHA
    assert github.calls("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments") == []
    assert len(github.calls("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")) == 1


def test_a_second_run_for_the_same_head_edits_the_same_check_run(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD])
    event = pr_event(checkout.base, checkout.head)
    runner.run("pull_request", event)
    runner.env["GITHUB_WORKSPACE"] = str(checkout.repo.path)
    # A re-run, as a separate process through the console entry point.
    env = {**os.environ, **runner.env, "GITHUB_EVENT_NAME": "pull_request"}
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "action", "--now", "2025-12-20T09:05:00Z"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert len(github.check_runs[REPO]) == 1
    assert len(github.comments[REPO][7]) == 1
    assert "2025-12-20T09:05:00+00:00" in github.comments[REPO][7][0]["body"]
    assert len(github.check_runs[REPO][0]["_annotations"]) == 1  # not appended twice


def test_a_fork_pr_on_pull_request_target_is_fetched_and_read_without_checkout(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], runner: Runner, tmp_path: Path
) -> None:
    upstream = make_repo({".maestro/changes/20250901-ok.yaml": "area: payments\n"}, name="upstream")
    base = upstream.git("rev-parse", "HEAD")
    workspace = tmp_path / "workspace"
    subprocess.run(
        ["git", "clone", "-q", str(upstream.path), str(workspace)], check=True, env={**os.environ, **GIT_ENV}
    )
    # The fork's commit reaches upstream only as refs/pull/7/head, as GitHub does it.
    upstream.branch("fork-work")
    head = upstream.commit({BAD: "area: [unclosed\n"}, "from a fork")
    upstream.git("update-ref", "refs/pull/7/head", head)
    upstream.checkout("main")
    upstream.git("branch", "-D", "fork-work")
    github.add_pull(REPO, 7, head, base, files=[BAD], head_repo="mallory/app")
    runner.env["GITHUB_WORKSPACE"] = str(workspace)

    assert runner.run("pull_request_target", pr_event(base, head, head_repo="mallory/app")) == 1
    assert github.check_runs[REPO][0]["head_sha"] == head
    assert len(github.comments[REPO][7]) == 1
    assert not (workspace / BAD).exists()  # read through git, never checked out


def test_fail_on_never_keeps_the_job_green(github: GitHubDouble, checkout: Checkout, runner: Runner) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD])
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head), INPUT_FAIL_ON="never") == 0
    assert runner.outputs()["verdict"] == "fail"


def test_without_a_token_the_action_says_what_to_add(
    github: GitHubDouble, checkout: Checkout, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base)
    runner.env["GITHUB_TOKEN"] = ""
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head)) == 2
    out = capsys.readouterr().out
    assert out.startswith("::error title=changebot could not evaluate::no GitHub token")
    assert "token: ${{ github.token }}" in runner.summary.read_text(encoding="utf-8")
    assert runner.outputs() == {"verdict": "error", "cost": ""}
    assert github.requests == []


def test_a_forbidden_token_names_the_permissions_to_grant(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base)
    github.fail_next("POST", "/repos/{owner}/{repo}/check-runs", 403, message="Resource not accessible by integration")
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head)) == 2
    summary = runner.summary.read_text(encoding="utf-8")
    assert "**What failed:** POST check run 'changebot'" in summary
    assert "answered 403 Resource not accessible by integration" in summary
    assert "checks: write" in summary
    assert github.comments[REPO][7] == []


def test_a_shallow_checkout_without_the_base_commit_explains_fetch_depth(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    missing = "0" * 40
    github.add_pull(REPO, 7, checkout.head, missing)
    assert runner.run("pull_request", pr_event(missing, checkout.head)) == 2
    summary = runner.summary.read_text(encoding="utf-8")
    assert "are not in the checkout and could not be fetched" in summary
    assert "fetch-depth: 0" in summary
    [run] = github.check_runs[REPO]  # the required check does not hang: it fails, saying why
    assert (run["head_sha"], run["conclusion"]) == (checkout.head, "failure")
    assert run["output"]["title"].startswith("changebot could not evaluate: commit(s) 000000000000 are not in")


def test_outside_a_checkout_the_action_asks_for_actions_checkout(
    github: GitHubDouble, runner: Runner, tmp_path: Path
) -> None:
    runner.env["GITHUB_WORKSPACE"] = str(tmp_path)
    assert runner.run("pull_request", pr_event("a" * 40, "b" * 40)) == 2
    assert "actions/checkout@v4" in runner.summary.read_text(encoding="utf-8")


def test_without_an_event_file_the_action_points_to_changebot_plan(runner: Runner) -> None:
    runner.env["GITHUB_EVENT_PATH"] = ""
    assert runner.run("pull_request", None) == 2
    assert "use 'changebot plan' instead" in runner.summary.read_text(encoding="utf-8")


def comment_event(body: str, actor: str = "alice", number: int = 7) -> dict[str, Any]:
    """The ``issue_comment.created`` example from @octokit/webhooks-examples, on our PR, saying ``body``."""
    event = webhook_example("issue_comment", "created")
    event["issue"]["number"] = number
    event["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{number}"}
    event["repository"]["full_name"] = REPO
    event["comment"]["body"] = body
    event["comment"]["user"]["login"] = actor
    event["comment"]["user"]["type"] = "User"
    event["comment"]["created_at"] = event["comment"]["updated_at"] = NOW
    return event


def test_a_help_command_is_acknowledged_and_answered(github: GitHubDouble, checkout: Checkout, runner: Runner) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD])
    event = comment_event("/changebot help")
    github.add_comment(REPO, 7, "/changebot help", "alice")
    event["comment"]["id"] = github.comments[REPO][7][0]["id"]
    assert runner.run("issue_comment", event) == 0
    assert [r["content"] for r in github.reactions[event["comment"]["id"]]] == ["eyes"]
    [_, reply] = github.comments[REPO][7]
    assert reply["user"]["login"] == BOT
    assert "/changebot override" in reply["body"]


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_an_override_from_a_maintainer_is_granted_stored_and_shown(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD])
    github.permissions[REPO] = {"alice": "maintain"}
    body = '/changebot override freeze --reason "vendor file, its syntax is checked upstream" --expires 2h'
    github.add_comment(REPO, 7, body, "alice")
    event = comment_event(body)
    event["comment"]["id"] = github.comments[REPO][7][0]["id"]
    assert runner.run("issue_comment", event) == 0
    sticky = next(c for c in github.comments[REPO][7] if STICKY_MARKER in c["body"])
    assert "| freeze | @alice | vendor file, its syntax is checked upstream |" in sticky["body"]
    assert len(github.check_runs[REPO]) == 1
    assert len(github.calls("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")) == 1


def test_an_override_from_a_read_only_user_is_refused(github: GitHubDouble, checkout: Checkout, runner: Runner) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD])
    github.permissions[REPO] = {"mallory": "read"}
    body = '/changebot override freeze --reason "I really want this merged right now please"'
    github.add_comment(REPO, 7, body, "mallory")
    event = comment_event(body, actor="mallory")
    event["comment"]["id"] = github.comments[REPO][7][0]["id"]
    assert runner.run("issue_comment", event) == 0
    replies = [c["body"] for c in github.comments[REPO][7] if c["user"]["login"] == BOT]
    assert any("@mallory has the repository role 'read'" in r for r in replies)
    assert not any("| freeze | @mallory |" in r for r in replies)


def test_a_comment_that_is_not_a_command_does_nothing(
    github: GitHubDouble, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.run("issue_comment", comment_event("looks good to me")) == 0
    assert "::notice::changebot: not a /changebot command on a pull request" in capsys.readouterr().out
    assert github.requests == []


@pytest.mark.parametrize("event_name", ["schedule", "workflow_dispatch"])
def test_scheduled_runs_evaluate_the_branch_and_write_the_summary(
    github: GitHubDouble, checkout: Checkout, runner: Runner, event_name: str
) -> None:
    checkout.repo.checkout("feature")
    assert runner.run(event_name, {}, GITHUB_REF_NAME="feature", INPUT_AUDIT="off") == 1
    assert "**fail**" in runner.summary.read_text(encoding="utf-8")
    assert runner.outputs()["verdict"] == "fail"
    # A schedule also refreshes the open pull requests: here there are none, so it only lists them.
    listed = [f"{c.method} {c.template}" for c in github.requests]
    assert listed == (["GET /repos/{owner}/{repo}/pulls"] if event_name == "schedule" else [])


@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_a_scheduled_run_publishes_the_weeks_freeze_audit(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main") == 0
    (issue,) = github.issues[REPO]
    assert issue["title"] == "Freeze audit 2025-W51: 0 unauthorised merge(s) during a freeze"
    summary = runner.summary.read_text(encoding="utf-8")
    assert "Freeze audit 2025-12-15 to 2025-12-20" in summary
    assert f"Audit issue [#{issue['number']}]" in summary and "created" in summary
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main") == 0
    assert len(github.issues[REPO]) == 1  # the rerun edits nothing and adds nothing
    assert "unchanged" in runner.summary.read_text(encoding="utf-8")


def test_a_scheduled_audit_in_print_mode_writes_nothing_to_github(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main", INPUT_AUDIT="print") == 0
    assert "### Merged during a freeze" in runner.summary.read_text(encoding="utf-8")
    assert not github.issues.get(REPO)
    assert [c for c in github.requests if c.method != "GET"] == []
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main", INPUT_AUDIT="sometimes") == 2


def test_an_unknown_event_is_refused_with_the_list_of_supported_ones(runner: Runner) -> None:
    assert runner.run("deployment", {}) == 2
    assert "trigger the workflow on pull_request" in runner.summary.read_text(encoding="utf-8")


def test_workflow_commands_are_escaped() -> None:
    line = command("error", "50% done\r\nnext ::line", file="a,b:c.yaml", line=3, title="x: y")
    assert line == "::error file=a%2Cb%3Ac.yaml,line=3,title=x%3A y::50%25 done%0D%0Anext ::line"


@pytest.mark.parametrize(
    ("reviews", "verdict"),
    [
        ([], "fail"),
        ([("ana", "APPROVED")], "pass"),
        ([("ana", "APPROVED"), ("ana", "CHANGES_REQUESTED")], "fail"),
        ([("mallory", "APPROVED")], "fail"),
    ],
)
@pytest.mark.parametrize("github_mode", ["full", "required-only"])
def test_a_governance_edit_needs_an_owners_approval_read_from_github(
    github: GitHubDouble,
    make_repo: Callable[..., GitRepo],
    runner: Runner,
    reviews: list[tuple[str, str]],
    verdict: str,
) -> None:
    repo = make_repo(
        {".maestro/changebot.yaml": "policy:\n  governance_owners: [ana]\n", ".maestro/rules.json": "[]\n"},
        name="governed",
    )
    base = repo.git("rev-parse", "HEAD")
    repo.branch("feature")
    head = repo.commit({".maestro/rules.json": "[ ]\n"}, "edit the rules")
    repo.checkout("main")
    runner.env["GITHUB_WORKSPACE"] = str(repo.path)
    pull = github.add_pull(REPO, 7, head, base, files=[".maestro/rules.json"])
    pull.reviews = reviews
    runner.run("pull_request", pr_event(base, head))
    assert runner.outputs()["verdict"] == verdict
    policy = [c for c in github.requests if c.path.endswith("/reviews")]
    assert len(policy) == 1  # read once, and only because a governance file changed


def _pop(*path: str) -> Callable[[dict[str, Any]], None]:
    def mangle(event: dict[str, Any]) -> None:
        node = event
        for key in path[:-1]:
            node = node[key]
        node.pop(path[-1])

    return mangle


def _set(value: Any, *path: str) -> Callable[[dict[str, Any]], None]:
    def mangle(event: dict[str, Any]) -> None:
        node = event
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mangle


@pytest.mark.parametrize(
    ("mangle", "field"),
    [
        (_pop("pull_request", "number"), "pull_request.number"),
        (_set("7", "pull_request", "number"), "pull_request.number"),
        (_pop("pull_request", "base", "sha"), "pull_request.base.sha"),
        (_set(None, "pull_request", "head", "sha"), "pull_request.head.sha"),
        (_set([1, 2], "pull_request"), "pull_request"),
    ],
)
def test_a_malformed_event_fails_the_step_with_one_error_naming_the_field(
    github: GitHubDouble,
    checkout: Checkout,
    runner: Runner,
    capsys: pytest.CaptureFixture[str],
    mangle: Callable[[dict[str, Any]], None],
    field: str,
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base)
    event = pr_event(checkout.base, checkout.head)
    mangle(event)
    assert runner.run("pull_request", event) == 2
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1
    assert f"{field} is missing or not" in errors[0]
    assert runner.outputs()["verdict"] == "error"
    assert github.requests == []


def test_an_event_file_that_is_not_an_object_fails_the_step_with_one_error(
    runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    assert runner.run("pull_request", [1, 2]) == 2  # type: ignore[arg-type]
    errors = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "not an object" in errors[0]
    assert runner.outputs()["verdict"] == "error"


def test_when_github_does_not_answer_the_summary_gives_the_likely_cause_and_the_local_plan(
    github: GitHubDouble, checkout: Checkout, runner: Runner, capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD, "docs/readme.md"])
    github.fail_next("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 502, times=10)
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head)) == 2
    summary = runner.summary.read_text(encoding="utf-8")
    assert "**Likely cause and fix:**" in summary
    assert "unreachable from the runner or having an incident (https://www.githubstatus.com)" in summary
    local = summary.split("## The plan computed locally (not posted: GitHub did not answer)", 1)[1]
    assert local.lstrip().startswith("### changebot: :x: **fail**")
    assert f"`{BAD}:2:1`" in local
    out = capsys.readouterr().out
    assert f"::error file={BAD},line=2,col=1,title=schema%3A yaml-syntax::YAML syntax error" in out
    assert runner.outputs()["verdict"] == "error"


def test_when_github_fails_mid_evaluation_the_head_gets_a_failing_check_run_under_the_configured_name(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], runner: Runner
) -> None:
    configured = Checkout(make_repo({".maestro/changebot.yaml": "version: 1\ngithub: {check_name: governance}\n"}))
    runner.env["GITHUB_WORKSPACE"] = str(configured.repo.path)
    github.add_pull(REPO, 7, configured.head, configured.base, files=[BAD, "docs/readme.md"])
    github.fail_next("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", 500, times=10)
    assert runner.run("pull_request", pr_event(configured.base, configured.head)) == 2
    [run] = github.check_runs[REPO]
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("governance", configured.head, "failure")
    assert run["output"]["title"].startswith("changebot could not evaluate: GET comments of octo/app#7")
    assert runner.outputs()["verdict"] == "error"


NOCHART = """\
package org.nochart

import rego.v1

deny contains "charts/ need the platform team" if {
	some f in input.pr.files
	startswith(f, "charts/")
}
"""


def test_an_override_evaluates_the_gates_once(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], runner: Runner
) -> None:
    with opa_double({"nochart.rego": NOCHART}) as opa:
        settings = f"version: 1\npolicy:\n  default_library: false\n  engine: opa\n  opa_url: {opa.url}\n"
        repo = Checkout(make_repo({".maestro/changebot.yaml": settings, ".maestro/policies/nochart.rego": NOCHART}))
        runner.env["GITHUB_WORKSPACE"] = str(repo.repo.path)
        github.add_pull(REPO, 7, repo.head, repo.base, files=[BAD, "docs/readme.md"])
        github.permissions[REPO] = {"alice": "maintain"}
        assert runner.run("pull_request", pr_event(repo.base, repo.head)) == 1
        one_plan = opa.requests
        assert one_plan > 0
        body = '/changebot override freeze --reason "vendor file, its syntax is checked upstream" --expires 2h'
        github.add_comment(REPO, 7, body, "alice")
        event = comment_event(body)
        event["comment"]["id"] = github.comments[REPO][7][-1]["id"]
        assert runner.run("issue_comment", event) == 0
        assert opa.requests == 2 * one_plan  # the override command planned once, like the pull_request run
    sticky = next(c for c in github.comments[REPO][7] if STICKY_MARKER in c["body"])
    assert "| freeze | @alice |" in sticky["body"]


def test_a_head_that_cannot_be_fetched_fails_the_check_run_named_by_the_base_branch(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], runner: Runner
) -> None:
    configured = Checkout(make_repo({".maestro/changebot.yaml": "version: 1\ngithub: {check_name: governance}\n"}))
    runner.env["GITHUB_WORKSPACE"] = str(configured.repo.path)
    missing = "0" * 40
    github.add_pull(REPO, 7, missing, configured.base)
    assert runner.run("pull_request", pr_event(configured.base, missing)) == 2
    [run] = github.check_runs[REPO]
    assert (run["name"], run["head_sha"], run["conclusion"]) == ("governance", missing, "failure")


def test_the_check_run_and_the_comment_name_the_real_opa_that_decided(
    github: GitHubDouble, make_repo: Callable[..., GitRepo], runner: Runner
) -> None:
    settings = "version: 1\npolicy:\n  default_library: false\n  engine: opa\n"
    repo = Checkout(make_repo({".maestro/changebot.yaml": settings, ".maestro/policies/nochart.rego": NOCHART}))
    runner.env["GITHUB_WORKSPACE"] = str(repo.repo.path)
    runner.env["CHANGEBOT_OPA_PATH"] = require_opa()
    github.add_pull(REPO, 7, repo.head, repo.base, files=["charts/app.yaml"])
    assert runner.run("pull_request", pr_event(repo.base, repo.head)) == 1
    engine = f"evaluated by the opa (OPA {OPA_VERSION.lstrip('v')}) engine"
    [run] = github.check_runs[REPO]
    assert engine in (run["output"]["summary"] or "") + (run["output"]["text"] or "")
    [comment] = github.comments[REPO][7]
    assert engine in comment["body"]
    assert "package org.nochart: charts/ need the platform team" in comment["body"]


def test_a_scheduled_refresh_republishes_only_pull_requests_whose_verdict_changed(
    github: GitHubDouble, checkout: Checkout, runner: Runner
) -> None:
    github.add_pull(REPO, 7, checkout.head, checkout.base, files=[BAD, "docs/readme.md"])
    assert runner.run("pull_request", pr_event(checkout.base, checkout.head)) == 1
    github.requests.clear()
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main", INPUT_AUDIT="off") == 0
    assert {c.method for c in github.requests} == {"GET"}  # the sticky comment's digest matches: nothing written
    assert "- #7: fail (unchanged)" in runner.summary.read_text(encoding="utf-8")
    # The PR moved on without an event reaching the workflow: the schedule publishes the new verdict.
    checkout.repo.checkout("feature")
    fixed = checkout.repo.commit({BAD: "area: payments\nintent: harden\n"}, "fix the bundle")
    checkout.repo.checkout("main")
    github.pulls[REPO][7].head_sha = fixed
    assert runner.run("schedule", {}, GITHUB_REF_NAME="main", INPUT_AUDIT="off") == 0
    assert [r["conclusion"] for r in github.check_runs[REPO]] == ["failure", "success"]
    assert "**pass**" in github.comments[REPO][7][0]["body"]
    assert "- #7: pass (published)" in runner.summary.read_text(encoding="utf-8")
