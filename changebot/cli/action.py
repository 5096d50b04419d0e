"""``changebot action``: the GitHub Action's entry point (see ``action.yml`` at the repository root).

Reads the standard Actions environment and the event file, evaluates, publishes and reports:

* ``pull_request`` and ``pull_request_target``: evaluates the pull request's base SHA (governance) against its
  head SHA (proposals), reading files through git only — nothing from the pull request is checked out or
  executed, so ``pull_request_target`` is safe to use for fork PRs; missing commits are fetched. Posts one check
  run and one sticky comment, and carries out the rules' actions.
* ``issue_comment``: ``/changebot`` slash commands on pull requests are answered exactly as the App answers
  them (``changebot.github.commands``): an ``eyes`` reaction, then the reply; ``override`` checks the commenter's
  permission with GitHub's collaborator-permission API and, when granted, re-publishes with the override.
* ``pull_request_review``: as ``pull_request`` (governance owners' approvals change the verdict).
* ``push``: when the push changed a governance file, re-evaluates the open pull requests targeting the branch.
* ``merge_group``: evaluates the merge group's head SHA now (the freeze is decided at merge time) and posts the
  check run on it (``changebot.github.merge_group``).
* ``schedule`` and ``workflow_dispatch``: evaluates the checked-out branch and writes the job summary; on
  ``schedule`` also refreshes the repository's open pull requests (re-publishing only those whose verdict
  changed: the sticky comment carries the digest of the verdict it shows) and runs the freeze audit (input
  ``audit``: ``publish`` the week's audit issue, the default; ``print`` it to the summary only; or ``off``) and
  fails the step on unauthorised merges during a freeze.

Always: the job summary, outputs ``verdict`` (pass | warn | fail | error) and ``cost``, and ``::error`` /
``::warning`` annotations for findings with a file; with input ``sarif``, the plan as SARIF 2.1.0 in that file
(output ``sarif``) for ``github/codeql-action/upload-sarif``. Exit status: 0 pass or warn, 1 fail (unless
``fail-on: never``), 2 could not evaluate — with what failed, the likely cause and the fix.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from changebot.adapters.github import actions
from changebot.adapters.github.actions import ActionError, ActionsEnv, command
from changebot.cli.common import add_now, parse_now, write_output
from changebot.errors import ChangebotError
from changebot.model import Plan, PullRequest, Severity, Verdict
from changebot.render.markdown import render_markdown
from changebot.usecases import plan as planning

if TYPE_CHECKING:
    from changebot.github.handlers import Handlers

log = logging.getLogger("changebot.action")

DESCRIPTION = """\
The GitHub Action's entry point, run by action.yml at the repository root
inside a workflow job: it reads the Actions environment (GITHUB_EVENT_NAME,
GITHUB_EVENT_PATH, GITHUB_TOKEN, ...) and the event file. To try changebot
locally, use 'changebot plan' instead.

  pull_request, pull_request_target
      evaluate the PR's base SHA (governance) against its head SHA
      (proposals), through git only: nothing from the PR is checked out or
      executed. Post one check run and one sticky comment (edited on later
      runs) and carry out the rules' actions.
  pull_request_review
      as pull_request (approvals change the verdict)
  issue_comment
      answer /changebot slash commands on pull requests, as the App does
  push
      when a governance file changed, re-evaluate the open PRs on the branch
  merge_group
      evaluate the merge group's head SHA now; the check run goes on it
  schedule, workflow_dispatch
      evaluate the checked-out branch into the job summary; on schedule, also
      refresh the open PRs (re-publishing only changed verdicts) and run the
      freeze audit (input audit: publish | print | off)

Always: the job summary, outputs verdict (pass | warn | fail | error) and cost,
and ::error / ::warning annotations for findings with a file and line.

exit status: 0 pass or warn, 1 fail (unless fail-on: never) or unauthorised
merges found by the scheduled audit, 2 could not evaluate (the step says what
failed, the likely cause and the fix)
"""
HELP = "run as a GitHub Action step (reads GITHUB_EVENT_PATH and the Actions environment)"
PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")
SUMMARY_MAX_BYTES = 1_000_000  # GitHub's job-summary limit is 1 MiB per step
MAX_COMMANDS = 50
_KIND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "notice"}
PERMISSIONS_FIX = (
    "give the job these permissions in the workflow:\n"
    "  permissions:\n    contents: read\n    checks: write\n    pull-requests: write\n    issues: write"
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``action`` subcommand."""
    parser = sub.add_parser(
        "action", help=HELP, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_now(parser)
    parser.set_defaults(run=run)


def _report(env: ActionsEnv, plan: Plan, extra: str = "") -> None:
    from changebot.render.github import cost, truncate_bytes  # noqa: PLC0415 - render.github loads PyGithub types

    for gate in plan.gates:
        for f in gate.findings[:MAX_COMMANDS]:
            print(
                command(
                    _KIND[f.severity], f.message, file=f.path, line=f.line, col=f.column, title=f"{gate.id}: {f.code}"
                )
            )
    actions.append_summary(env, truncate_bytes(render_markdown(plan) + extra, SUMMARY_MAX_BYTES))
    outputs = {"verdict": str(plan.verdict), "cost": cost(plan)}
    sarif = env.input("sarif")
    if sarif:
        outputs["sarif"] = str(_write_sarif(env, plan, sarif))
    actions.set_outputs(env, outputs)


def _write_sarif(env: ActionsEnv, plan: Plan, target: str) -> Path:
    """Input ``sarif``: the plan as SARIF 2.1.0 at ``target`` (relative to the workspace), for upload-sarif."""
    from changebot.render.sarif import render_sarif  # noqa: PLC0415 - only when asked

    path = env.workspace / target
    write_output(render_sarif(plan), str(path))
    return path


def _exit(env: ActionsEnv, plan: Plan) -> int:
    print(f"changebot: verdict {plan.verdict}", file=sys.stderr)
    if plan.verdict is Verdict.FAIL and env.input("fail-on", "fail") != "never":
        return 1
    return 0


def _token(env: ActionsEnv) -> str:
    if env.token is None:
        raise ActionError(
            "no GitHub token: neither the 'token' input nor GITHUB_TOKEN is set",
            "pass it to the step:\n  with:\n    token: ${{ github.token }}\nand " + PERMISSIONS_FIX,
        )
    return env.token


def _handlers(env: ActionsEnv, now: datetime) -> tuple[Handlers, str]:
    from changebot.adapters.github.client import ACTIONS_BOT_LOGIN  # noqa: PLC0415 - PyGithub is heavy
    from changebot.github.action import action_handlers  # noqa: PLC0415 - imports PyGithub

    bot_login = env.input("bot-login", ACTIONS_BOT_LOGIN)
    return action_handlers(env.workspace, env.api_url, _token(env), bot_login, now), bot_login


def _pull_request(env: ActionsEnv, payload: dict[str, Any], now: datetime) -> int:
    from changebot.github.jobs import ALWAYS_CURRENT  # noqa: PLC0415 - imports PyGithub
    from changebot.github.router import pull_request_event  # noqa: PLC0415 - imports PyGithub
    from changebot.github.steps import describe  # noqa: PLC0415 - imports PyGithub

    event = pull_request_event(payload, env.run_id or "action", repo=env.repository)
    handlers, _ = _handlers(env, now)
    outcome = handlers.pull_request(event, ALWAYS_CURRENT)
    if isinstance(outcome.error, ChangebotError):
        raise outcome.error
    if outcome.error is not None:
        raise ChangebotError(describe(outcome.error)[0]) from outcome.error
    if outcome.plan is None or outcome.published is None:
        print(command("notice", "changebot: the pull request is closed or its head moved on; nothing to do"))
        return 0
    note = ""
    if outcome.published.stale:
        note = "\n> A newer result is already shown on the pull request; it was left as it is.\n"
    if outcome.published.done:
        note += "\n**Done by rules:** " + ", ".join(f"`{d}`" for d in outcome.published.done) + "\n"
    _report(env, outcome.plan, note)
    return _exit(env, outcome.plan)


def _refreshed(env: ActionsEnv, outcomes: list[Any], what: str) -> int:
    """Report refreshed pull requests in the summary; 2 when any could not be evaluated."""
    lines = [f"### changebot: {what}", ""]
    failed = 0
    for outcome in outcomes:
        if outcome.error is not None:
            failed += 1
            print(command("error", f"changebot could not evaluate a pull request: {outcome.error}"))
        elif outcome.plan is not None:
            number = outcome.plan.pr.number
            state = "unchanged" if outcome.published is not None and outcome.published.unchanged else "published"
            lines.append(f"- #{number}: {outcome.plan.verdict} ({state})")
    if len(lines) == 2:
        lines.append("no open pull request to refresh")
    actions.append_summary(env, "\n".join(lines) + "\n")
    return 2 if failed else 0


def _repo(env: ActionsEnv) -> Any:
    from changebot.github.router import Repo  # noqa: PLC0415 - imports PyGithub

    if not env.repository:
        raise ActionError("GITHUB_REPOSITORY is not set", "run changebot inside a GitHub Actions job")
    return Repo(env.repository, "", None)


def _push(env: ActionsEnv, payload: dict[str, Any], now: datetime) -> int:
    from changebot.github.jobs import ALWAYS_CURRENT  # noqa: PLC0415 - imports PyGithub
    from changebot.github.router import branch_event  # noqa: PLC0415 - imports PyGithub

    event = branch_event(payload, env.run_id or "action", repo=env.repository)
    if event is None:
        print(command("notice", "changebot: the push changed no governance file; nothing to do"))
        return 0
    handlers, _ = _handlers(env, now)
    return _refreshed(env, handlers.branch(event, ALWAYS_CURRENT), f"governance changed on {event.branch}")


def _merge_group(env: ActionsEnv, payload: dict[str, Any], now: datetime) -> int:
    from changebot.github.jobs import ALWAYS_CURRENT  # noqa: PLC0415 - imports PyGithub
    from changebot.github.router import merge_group_event  # noqa: PLC0415 - imports PyGithub
    from changebot.github.steps import describe  # noqa: PLC0415 - imports PyGithub

    event = merge_group_event(payload, env.run_id or "action", repo=env.repository)
    if event is None:
        print(command("notice", "changebot: not a merge_group checks_requested event; nothing to do"))
        return 0
    handlers, _ = _handlers(env, now)
    outcome = handlers.merge_group(event, ALWAYS_CURRENT)
    if isinstance(outcome.error, ChangebotError):
        raise outcome.error
    if outcome.error is not None:
        raise ChangebotError(describe(outcome.error)[0]) from outcome.error
    if outcome.plan is None:
        return 0
    _report(env, outcome.plan)
    return _exit(env, outcome.plan)


def _refresh_open(env: ActionsEnv, now: datetime) -> int:
    from changebot.github.jobs import ALWAYS_CURRENT  # noqa: PLC0415 - imports PyGithub

    handlers, _ = _handlers(env, now)
    outcomes = handlers.refresh_open(_repo(env), None, "schedule", env.run_id or "action", ALWAYS_CURRENT, quiet=True)
    return _refreshed(env, outcomes, "scheduled refresh of the open pull requests")


def _comment(env: ActionsEnv, payload: dict[str, Any], now: datetime) -> int:
    from changebot.github.jobs import ALWAYS_CURRENT  # noqa: PLC0415 - imports PyGithub
    from changebot.github.router import comment_event  # noqa: PLC0415 - imports PyGithub

    handlers, bot_login = _handlers(env, now)
    event = comment_event(payload, env.run_id or "action", bot_login, repo=env.repository)
    if event is None:
        print(
            command(
                "notice",
                "changebot: not a /changebot command on a pull request (or an edited comment, or one by a bot); "
                "nothing to do",
            )
        )
        return 0
    handlers.command(event, ALWAYS_CURRENT)
    print(f"changebot: answered the command in comment {event.comment_id} on #{event.number}", file=sys.stderr)
    return 0


def _branch(env: ActionsEnv, now: datetime) -> int:
    co = planning.checkout(env.workspace)
    pr = PullRequest(event=env.event_name, base_branch=env.ref_name, head_branch=env.ref_name)
    plan = planning.plan(planning.context(co, pr, now))
    _report(env, plan)
    return _exit(env, plan)


AUDIT_MODES = ("publish", "print", "off")


def _audit(env: ActionsEnv, now: datetime) -> int:
    """The scheduled freeze audit (input ``audit``: publish the week's issue, print it to the summary, or off).

    With input ``evidence`` (a path in the workspace), the week's in-toto statement is written there and named
    in the ``evidence`` output, for ``actions/upload-artifact`` and ``actions/attest``.
    """
    from changebot.adapters.github.audit import AuditSource  # noqa: PLC0415 - imports PyGithub
    from changebot.adapters.github.client import ACTIONS_BOT_LOGIN, GitHubClient  # noqa: PLC0415 - PyGithub is heavy
    from changebot.render.audit import render_audit_markdown  # noqa: PLC0415 - only on schedule
    from changebot.render.github import truncate_bytes  # noqa: PLC0415 - render.github loads PyGithub types
    from changebot.usecases import audit as audits  # noqa: PLC0415 - imports PyGithub
    from changebot.usecases import evidence  # noqa: PLC0415 - only on schedule

    mode = env.input("audit", "publish")
    if mode not in AUDIT_MODES:
        raise ActionError(f"input audit: {mode!r} is not one of {', '.join(AUDIT_MODES)}")
    if mode == "off":
        return 0
    if not env.repository:
        raise ActionError("GITHUB_REPOSITORY is not set", "run changebot audit inside a GitHub Actions job")
    target = env.input("evidence", "")
    period = audits.week_period(now)
    try:
        gov, failure = audits.read_governance(env.workspace, None, now), None
    except audits.AuditFailed as exc:
        gov, failure = None, exc
    login = audits.resolve_login(env.input("bot-login", ACTIONS_BOT_LOGIN), gov, on_actions=True)
    client = GitHubClient(_token(env), env.api_url, bot_login=login)
    try:
        source = AuditSource(client, env.repository, login)
        if gov is None or failure is not None:
            failure = failure or audits.AuditFailed("could not audit")
            if mode == "publish":
                audits.publish_failure(source, period, failure)
            raise failure
        result = audits.run_audit(source, gov, period, now, 14, evidence=bool(target))
        note = ""
        if target:
            path = evidence.write(env.workspace / target, evidence.statement(env.repository, period, result), None)
            actions.set_outputs(env, {"evidence": str(path)})
            note += f"\nEvidence written to `{target}`.\n"
        if mode == "publish":
            published = audits.publish_audit(source, period, result)
            note += f"\nAudit issue [#{published.number}]({published.url}) {published.action}.\n"
    finally:
        client.close()
    for merge in result.report.unauthorised:
        print(
            command(
                "error",
                f"#{merge.pr.number} {merge.pr.title} was merged during a freeze without an override",
                title="changebot: freeze audit",
            )
        )
    actions.append_summary(env, truncate_bytes(render_audit_markdown(result.report) + note, SUMMARY_MAX_BYTES))
    return 1 if result.report.unauthorised and env.input("fail-on", "fail") != "never" else 0


def dispatch(env: ActionsEnv, now: datetime) -> int:
    """Handle the event named by ``GITHUB_EVENT_NAME``."""
    if env.event_name in PR_EVENTS:
        return _pull_request(env, actions.read_event(env), now)
    if env.event_name == "schedule":
        return max(_branch(env, now), _refresh_open(env, now), _audit(env, now))
    if env.event_name == "workflow_dispatch":
        return _branch(env, now)
    if env.event_name == "issue_comment":
        return _comment(env, actions.read_event(env), now)
    if env.event_name == "push":
        return _push(env, actions.read_event(env), now)
    if env.event_name == "merge_group":
        return _merge_group(env, actions.read_event(env), now)
    raise ActionError(
        f"changebot does not handle the {env.event_name or '(unset)'} event",
        "trigger the workflow on pull_request, pull_request_target, pull_request_review, issue_comment, push, "
        "merge_group, schedule or workflow_dispatch",
    )


def report_failure(env: ActionsEnv, exc: ChangebotError, now: datetime | None = None) -> None:
    """Say what failed, the likely cause and the fix: as an ``::error::``, in the summary, and on stderr."""
    from changebot.adapters.github.calls import GitHubError  # noqa: PLC0415 - imports PyGithub lazily itself

    hint = exc.hint
    if isinstance(exc, GitHubError) and exc.status in (403, 404) and env.event_name == "pull_request":
        hint = (hint or "") + (
            "\nfor pull requests from forks, GITHUB_TOKEN is read-only on 'pull_request': "
            "use 'pull_request_target' (changebot never executes the PR's files)"
        )
    unreachable = isinstance(exc, GitHubError) and (exc.status is None or exc.status >= 500)
    if unreachable and hint is None:
        hint = (
            "GitHub did not answer, or answered with a server error: it is unreachable from the runner or having "
            "an incident (https://www.githubstatus.com). Re-run the job; nothing was changed on the pull request."
        )
    print(command("error", f"{exc}\n{hint or ''}".strip(), title="changebot could not evaluate"))
    print(f"changebot: error: {exc}" + (f"\nhint: {hint}" if hint else ""), file=sys.stderr)
    lines = ["## :boom: changebot could not evaluate", "", f"**What failed:** {exc}", ""]
    if hint:
        lines += ["**Likely cause and fix:**", "", "```", hint, "```", ""]
    lines.append(f"See {actions.DOCS}")
    local = _local_plan(env, now or datetime.now(UTC)) if unreachable else None
    if local is not None:
        lines += ["", "## The plan computed locally (not posted: GitHub did not answer)", "", render_markdown(local)]
    actions.append_summary(env, "\n".join(lines) + "\n")
    actions.set_outputs(env, {"verdict": "error", "cost": ""})


def _local_plan(env: ActionsEnv, now: datetime) -> Plan | None:
    """The pull request's plan from the workflow checkout alone (the event carries both SHAs), when GitHub did
    not answer; ``None`` when the event or the commits are not at hand."""
    if env.event_name not in PR_EVENTS:
        return None
    from changebot.github.router import pull_request_event  # noqa: PLC0415 - imports PyGithub

    try:
        event = pull_request_event(actions.read_event(env), env.run_id or "action", repo=env.repository)
        co = planning.checkout(env.workspace, event.base_sha, event.head_sha)
        pr = PullRequest(
            number=event.number,
            base_branch=event.base_ref,
            head_branch=event.head_ref,
            base_sha=event.base_sha,
            head_sha=event.head_sha,
        )
        plan = planning.plan(planning.context(co, pr, now), event.base_sha, event.head_sha)
    except ChangebotError as exc:
        log.info("no local plan either: %s", exc)
        return None
    for gate in plan.gates:
        for f in gate.findings[:MAX_COMMANDS]:
            where = {"file": f.path, "line": f.line, "col": f.column}
            print(command(_KIND[f.severity], f.message, **where, title=f"{gate.id}: {f.code}"))
    print(f"changebot: local plan (not posted): verdict {plan.verdict}", file=sys.stderr)
    return plan


def run(args: argparse.Namespace) -> int:
    """Entry point of ``changebot action``."""
    env = actions.read_env()
    now: datetime | None = None
    try:
        now = parse_now(args.now)
        return dispatch(env, now)
    except ChangebotError as exc:
        report_failure(env, exc, now)
        return 2
