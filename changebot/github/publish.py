"""Publish a plan to a pull request: one check run, one sticky comment, and the rules' actions.

Every step is idempotent, so running twice (a re-run, a redelivered webhook) changes nothing the second time:

* the check run is found by head SHA + name and updated, or created once (a 5xx on create is checked for
  before creating again, in the adapter); annotations go in batches of 50, and are not sent again to a check
  run that already shows this exact result (GitHub appends annotations, it cannot replace them);
* the sticky comment is the bot's own comment carrying ``STICKY_MARKER``: edited in place, created once. A
  marker in anybody else's comment is ignored. Stored overrides are read back from it and written again. A
  result for an older head, or an older evaluation of the same head, never overwrites a newer one;
* rule actions add only labels that are missing, request only reviewers not yet requested, and post a rule's
  comment once (found again by a hidden per-rule marker, edited when its text changed).

Calls for a ``pull_request`` run with no rule actions and at most 50 annotations: list comments, list check
runs, create-or-update the check run, create-or-update the comment (4), plus the snapshot (2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from changebot.adapters.github.client import CheckRun, Comment, GitHubClient, PullSnapshot
from changebot.core.overrides.stored import is_sticky, sticky_overrides
from changebot.errors import ChangebotError
from changebot.model import Action, Override, Plan
from changebot.render import github as gh

log = logging.getLogger("changebot.github.publish")

DEFAULT_CHECK_NAME = "changebot"


@dataclass(frozen=True)
class Sticky:
    """changebot's comment on a PR (``comment`` is ``None`` before the first post) and what it stores."""

    comment: Comment | None
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Published:
    """What ``publish_plan`` did. ``check_run`` is ``None`` and ``stale`` true when a later evaluation of the
    same head is already shown; ``done`` lists the rule actions carried out, for logs and tests."""

    check_run: CheckRun | None
    comment: Comment | None
    stale: bool = False
    done: tuple[str, ...] = field(default_factory=tuple)


def find_sticky(comments: Sequence[Comment], bot_login: str) -> Sticky:
    """The bot's sticky comment among ``comments`` (the oldest, if a past bug made several).

    Only a comment written by ``bot_login`` counts: a marker pasted into someone else's comment is ignored, and
    so are the overrides stored in it.
    """
    for comment in comments:
        stored = sticky_overrides(comment.body) if comment.author == bot_login else None
        if stored is not None:
            return Sticky(comment, tuple(stored))
    return Sticky(None)


def read_sticky(client: GitHubClient, repo: str, number: int) -> tuple[Sticky, tuple[Comment, ...]]:
    """The sticky comment and every comment on the PR (1 call per 100 comments)."""
    comments = client.comments(repo, number)
    return find_sticky(comments, client.bot_login), comments


def _publish_check(
    client: GitHubClient, repo: str, head_sha: str, name: str, plan: Plan, in_force: Sequence[Override]
) -> CheckRun:
    output = gh.check_output(plan, in_force)
    notes = gh.annotation_list(plan)
    existing = client.check_runs(repo, head_sha, name)
    # external_id fingerprints the annotations sent, because GitHub appends annotations and cannot replace them.
    fingerprint = gh.annotations_fingerprint(notes)
    fields: dict[str, Any] = {
        "status": "completed",
        "conclusion": gh.conclusion(plan.verdict),
        "completed_at": plan.now,
        "external_id": fingerprint,
    }
    if existing:
        run = existing[0]
        if run.external_id == fingerprint:
            notes = []  # these annotations are already on the check run
        batches = gh.batches(notes)
        run = client.update_check_run(repo, run.id, {**fields, "output": {**output, "annotations": batches[0]}})
    else:
        batches = gh.batches(notes)
        run = client.create_check_run(repo, name, head_sha, {**fields, "output": {**output, "annotations": batches[0]}})
    for batch in batches[1:]:
        run = client.update_check_run(repo, run.id, {"output": {**output, "annotations": batch}})
    return run


def _is_stale(sticky: Sticky, head_sha: str, plan: Plan, latest_head_sha: str | None) -> bool:
    if latest_head_sha is not None and latest_head_sha != head_sha:
        log.info("not updating the comment: the PR's head moved from %s to %s", head_sha[:12], latest_head_sha[:12])
        return True
    if sticky.comment is not None:
        shown = gh.parse_head(sticky.comment.body)
        if shown is not None and shown[0] == head_sha and shown[1] > plan.now:
            log.info("not updating the comment: it already shows a later evaluation of %s", head_sha[:12])
            return True
    return False


def publish_comment(
    client: GitHubClient,
    repo: str,
    number: int,
    plan: Plan,
    sticky: Sticky,
    overrides: Sequence[Override],
    in_force: Sequence[Override],
    head_sha: str,
) -> Comment:
    """Create or edit the sticky comment (1 call; none when the text is unchanged)."""
    body = gh.sticky_body(plan, head_sha, overrides, in_force)
    if sticky.comment is None:
        login = client.bot_login
        return client.create_comment(repo, number, body, exists=lambda c: is_sticky(c.author, c.body, login))
    if sticky.comment.body == body:
        return sticky.comment
    return client.edit_comment(repo, sticky.comment.id, body)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def _has(marker: str) -> Callable[[Comment], bool]:
    return lambda c: marker in c.body


def run_actions(
    client: GitHubClient,
    repo: str,
    number: int,
    actions: Sequence[Action],
    comments: Sequence[Comment],
    labels: Sequence[str],
    requested: Sequence[str] = (),
    requested_teams: Sequence[str] = (),
) -> tuple[str, ...]:
    """Carry out rule actions idempotently; returns what was done (``label:x``, ``comment:rule``, ...)."""
    done: list[str] = []
    have = set(labels)
    mine = {gh.rule_of(c.body): c for c in comments if c.author == client.bot_login and gh.rule_of(c.body)}
    for action in actions:
        with_ = dict(action.with_)
        if action.do == "label":
            missing = [name for name in _strings(with_.get("labels", with_.get("label"))) if name not in have]
            if missing:
                client.add_labels(repo, number, missing)
                have.update(missing)
                done.extend(f"label:{name}" for name in missing)
        elif action.do == "comment":
            text = with_.get("body")
            if not isinstance(text, str) or not text.strip():
                log.warning("rule %s: a comment action needs a non-empty 'body'; skipped", action.rule)
                continue
            body = gh.rule_comment(action.rule, text)
            existing = mine.get(gh.rule_of(body))
            if existing is None:
                posted = client.create_comment(repo, number, body, exists=_has(gh.rule_marker(action.rule)))
                mine[gh.rule_of(body)] = posted
                done.append(f"comment:{action.rule}")
            elif existing.body != body:
                mine[gh.rule_of(body)] = client.edit_comment(repo, existing.id, body)
                done.append(f"comment-edited:{action.rule}")
        elif action.do == "request_review":
            users = [u for u in _strings(with_.get("reviewers")) if u not in requested]
            teams = [t for t in _strings(with_.get("team_reviewers", with_.get("teams"))) if t not in requested_teams]
            if users or teams:
                client.request_reviews(repo, number, users, teams)
                requested = [*requested, *users]
                requested_teams = [*requested_teams, *teams]
                done.extend([*(f"review:{u}" for u in users), *(f"review:team/{t}" for t in teams)])
    return tuple(done)


def publish_plan(
    client: GitHubClient,
    repo: str,
    number: int,
    plan: Plan,
    *,
    check_name: str = DEFAULT_CHECK_NAME,
    overrides: Sequence[Override] | None = None,
    sticky: Sticky | None = None,
    comments: Sequence[Comment] | None = None,
    snapshot: PullSnapshot | None = None,
    latest_head_sha: str | None = None,
    in_force: Sequence[Override] | None = None,
) -> Published:
    """Show ``plan`` on PR ``number``: check run + sticky comment + rule actions, all idempotent.

    ``overrides`` replaces the stored overrides (a slash command granted one); ``None`` keeps what the sticky
    comment stores. Pass ``sticky``/``comments`` when already read, and ``snapshot`` for the PR's labels and
    requested reviewers (otherwise ``plan.pr``'s labels are used). ``latest_head_sha`` is the PR's head now:
    when it differs from the plan's, the comment is left alone (``stale``); the check run is per-SHA anyway.
    ``in_force`` is what the gates applied (e.g. ``override_rules.effective``); by default, the stored overrides
    that are unexpired and were granted for this head.
    """
    head_sha = plan.pr.head_sha or plan.head
    if not head_sha:
        raise ChangebotError("cannot publish a plan without the head commit SHA", "pass the pull request's head SHA")
    if comments is None:
        comments = client.comments(repo, number)
    if sticky is None:
        sticky = find_sticky(comments, client.bot_login)
    stored = tuple(sticky.overrides if overrides is None else overrides)
    shown = list(in_force) if in_force is not None else [o for o in stored if o.in_force(plan.now, head_sha)]
    stale = _is_stale(sticky, head_sha, plan, latest_head_sha)
    on_show = gh.parse_head(sticky.comment.body) if sticky.comment is not None else None
    older = on_show is not None and on_show[0] == head_sha and on_show[1] > plan.now
    # An older evaluation of this very head must not overwrite the check run either; a moved head's may.
    run = None if older else _publish_check(client, repo, head_sha, check_name, plan, shown)
    comment = sticky.comment if stale else publish_comment(client, repo, number, plan, sticky, stored, shown, head_sha)
    done: tuple[str, ...] = ()
    if plan.actions and not stale:
        done = run_actions(
            client,
            repo,
            number,
            plan.actions,
            comments,
            snapshot.pr.labels if snapshot else plan.pr.labels,
            snapshot.requested_reviewers if snapshot else (),
            snapshot.requested_teams if snapshot else (),
        )
    return Published(run, comment, stale, done)
