"""Carry out a ``Decision`` (``changebot.github.decide``) through the GitHub client: nothing else is decided here.

Order: reactions, the check run (created or updated, then any further batches of 50 annotations), the sticky
comment (created once, edited in place), the rule actions in the rules' order, then the replies. Creating a
comment after a 5xx looks for it first (by the sticky format or a hidden marker, in the adapter), so every step
is idempotent.

Calls for a ``pull_request`` run with no rule actions and at most 50 annotations: list comments, list check
runs (the reads before deciding), create-or-update the check run, create-or-update the comment (4), plus the
snapshot (2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from changebot.adapters.github.client import CheckRun, Comment, GitHubClient, PullSnapshot
from changebot.core import sticky
from changebot.errors import ChangebotError
from changebot.github.decide import (
    DEFAULT_CHECK_NAME,
    AddLabels,
    CheckRunWrite,
    CommentWrite,
    Decision,
    Evaluated,
    Existing,
    ExistingComment,
    ExistingRun,
    RequestReviews,
    RuleAction,
    decide,
    shows_later,
)
from changebot.model import Override, Plan

__all__ = ["DEFAULT_CHECK_NAME", "Published", "existing_state", "publish", "publish_plan", "read_check_runs"]


@dataclass(frozen=True)
class Published:
    """What ``publish`` did. ``check_run`` is ``None`` and ``stale`` true when a later evaluation of the same
    head is already shown; ``done`` lists the rule actions carried out, for logs and tests."""

    check_run: CheckRun | None
    comment: Comment | None
    stale: bool = False
    done: tuple[str, ...] = field(default_factory=tuple)
    unchanged: bool = False


def _has(marker: str) -> Callable[[Comment], bool]:
    return lambda c: marker in c.body


def _check_run(client: GitHubClient, repo: str, write: CheckRunWrite) -> CheckRun:
    batches = write.annotation_batches or ((),)
    first = {**write.fields, "output": {**write.output, "annotations": list(batches[0])}}
    if write.update_id is not None:
        run = client.update_check_run(repo, write.update_id, first)
    else:
        run = client.create_check_run(repo, write.name, write.head_sha, first)
    for batch in batches[1:]:
        run = client.update_check_run(repo, run.id, {"output": {**write.output, "annotations": list(batch)}})
    return run


def _sticky(client: GitHubClient, repo: str, number: int, shown: CommentWrite) -> Comment | None:
    if shown.action == "create":
        login = client.bot_login
        return client.create_comment(
            repo, number, shown.body, exists=lambda c: sticky.is_sticky(c.author, c.body, login)
        )
    if shown.comment_id is None:
        return None
    if shown.action == "edit":
        return client.edit_comment(repo, shown.comment_id, shown.body)
    return Comment(shown.comment_id, client.bot_login or "", shown.body)


def _rule_action(client: GitHubClient, repo: str, number: int, action: RuleAction) -> None:
    if isinstance(action, AddLabels):
        client.add_labels(repo, number, action.labels)
    elif isinstance(action, RequestReviews):
        client.request_reviews(repo, number, action.reviewers, action.teams)
    elif action.edit_id is None:
        client.create_comment(repo, number, action.body, exists=_has(action.marker))
    else:
        client.edit_comment(repo, action.edit_id, action.body)


def publish(client: GitHubClient, decision: Decision) -> Published:
    """Do what ``decision`` lists, in order."""
    repo, number = decision.repo, decision.number
    for comment_id, content in decision.reactions:
        client.add_reaction(repo, comment_id, content)
    run = _check_run(client, repo, decision.check_run) if decision.check_run is not None else None
    comment = _sticky(client, repo, number, decision.comment)
    for action in decision.rule_actions:
        _rule_action(client, repo, number, action)
    for reply in decision.replies:
        client.create_comment(repo, number, reply.body, exists=_has(reply.marker))
    return Published(run, comment, decision.stale, decision.done, decision.unchanged)


def existing_state(
    client: GitHubClient,
    repo: str,
    number: int,
    comments: Sequence[Comment],
    snapshot: PullSnapshot | None = None,
    head_sha: str | None = None,
    check_name: str = DEFAULT_CHECK_NAME,
) -> Existing:
    """``Existing`` from what was read: the comments, and the snapshot's head, labels and requested reviewers.
    For a shared login (``core.sticky.needs_record``), the check runs named ``check_name`` on each head a
    sticky-looking comment names are read too (1 call per head), for the state they record."""
    login = client.bot_login
    records: list[str] = []
    if sticky.needs_record(login):
        for head in sticky.heads(comments, login):
            records.extend(r.external_id or "" for r in client.check_runs(repo, head, check_name))
    return Existing(
        repo=repo,
        number=number,
        head_sha=head_sha if head_sha is not None else (snapshot.pr.head_sha if snapshot else None),
        comments=tuple(ExistingComment(c.id, c.author, c.body) for c in comments),
        labels=tuple(snapshot.pr.labels) if snapshot else (),
        requested=tuple(snapshot.requested_reviewers) if snapshot else (),
        requested_teams=tuple(snapshot.requested_teams) if snapshot else (),
        bot_login=login,
        records=tuple(records),
    )


def read_check_runs(client: GitHubClient, existing: Existing, head_sha: str, name: str) -> tuple[ExistingRun, ...]:
    """The check runs named ``name`` on ``head_sha`` (1 call)."""
    return tuple(ExistingRun(r.id, r.external_id) for r in client.check_runs(existing.repo, head_sha, name))


def publish_plan(
    client: GitHubClient,
    repo: str,
    number: int,
    plan: Plan,
    *,
    check_name: str = DEFAULT_CHECK_NAME,
    overrides: Sequence[Override] | None = None,
    comments: Sequence[Comment] | None = None,
    snapshot: PullSnapshot | None = None,
    latest_head_sha: str | None = None,
    in_force: Sequence[Override] | None = None,
) -> Published:
    """Read what GitHub shows, decide and publish ``plan`` on PR ``number`` (check run, sticky comment, rule
    actions). ``overrides`` replaces the stored overrides (``None`` keeps what the sticky comment stores);
    ``snapshot`` gives the labels and requested reviewers (else ``plan.pr``'s labels); ``latest_head_sha`` is
    the PR's head now; ``in_force`` is what the gates applied (by default, the stored overrides in force)."""
    head_sha = plan.pr.head_sha or plan.head
    if not head_sha:
        raise ChangebotError("cannot publish a plan without the head commit SHA", "pass the pull request's head SHA")
    if comments is None:
        comments = client.comments(repo, number)
    existing = existing_state(client, repo, number, comments, snapshot, latest_head_sha, check_name)
    if snapshot is None:
        existing = replace(existing, labels=tuple(plan.pr.labels))
    stored = existing.stored if overrides is None else tuple(overrides)
    shown = tuple(in_force) if in_force is not None else tuple(o for o in stored if o.in_force(plan.now, head_sha))
    if not shows_later(existing, head_sha, plan.now):
        runs = read_check_runs(client, existing, head_sha, check_name)
        existing = replace(existing, check_runs=runs)
    return publish(client, decide(Evaluated(plan, check_name, stored, shown), existing))
