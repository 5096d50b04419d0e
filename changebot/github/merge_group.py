"""The merge queue: evaluate a merge group's head SHA at the moment GitHub asks, and post its check run there.

GitHub's merge queue builds a temporary branch (base plus the queued pull requests) and sends
``merge_group`` ``checks_requested``; a required check must report on the group's ``head_sha`` or nothing
merges. changebot evaluates that commit with every gate, now: governance from ``base_sha``, proposals from
``head_sha``, the freeze decided at this instant (so a PR that passed on Thursday cannot merge on Saturday).

Overrides come only from changebot's own sticky comments on the pull requests in the group
(``core.overrides.group``): each PR's stored overrides are checked with the base branch's rules for that PR's
head, and an override of a gate holds for the group only when every PR in it has one in force. The rules gate
sees the group as one change: the union of the PRs' labels, the last PR's title and author. Only a check run is
written (named as for pull requests); comments and rule actions belong to the pull requests.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from changebot.adapters.git import reader as gitio
from changebot.core.overrides import rules as override_rules
from changebot.core.overrides.group import group_numbers, group_overrides
from changebot.github import decide as decisions
from changebot.github.decide import Evaluated, Existing
from changebot.github.publish import Published, read_check_runs
from changebot.github.router import MergeGroupEvent
from changebot.github.steps import Steps
from changebot.model import Override, PullRequest
from changebot.usecases import plan as planning

log = logging.getLogger("changebot.github.merge_group")


def evaluate(steps: Steps, event: MergeGroupEvent) -> tuple[Evaluated, Published]:
    """Evaluate the group's head and post the check run on it. Raises on anything that stops the evaluation."""
    repo = event.repo
    path = steps.tools.commits.prepare(repo, steps.token, event.base_sha, event.head_sha, None)
    messages = gitio.first_parent_messages(gitio.open_repo(path), event.base_sha, event.head_sha)
    numbers = group_numbers(event.head_ref, messages or [])
    co = planning.checkout(path, event.base_sha, event.head_sha)
    steps.settings = co.settings
    pr = PullRequest(
        event="merge_group",
        base_branch=event.base_branch,
        head_branch=event.head_ref.removeprefix("refs/heads/"),
        base_sha=event.base_sha,
        head_sha=event.head_sha,
    )
    ctx = planning.context(co, pr, steps.now)
    policies = override_rules.policies(ctx)
    per_pull: dict[int, list[Override]] = {}
    labels: dict[str, None] = {}
    for number in numbers or ():
        snapshot = steps.snapshot(number, "merge_group")
        stored = steps.existing(snapshot, steps.comments(snapshot)).stored
        per_pull[number] = override_rules.effective(stored, policies, ctx.now, snapshot.pr.head_sha)
        labels.update(dict.fromkeys(snapshot.pr.labels))
        pr = replace(pr, title=snapshot.pr.title, author=snapshot.pr.author)
    if numbers is None:
        log.info("%s: merge group %s: pull requests not known; no override holds", repo.full_name, event.head_ref)
    ctx = replace(ctx, pr=replace(pr, labels=tuple(labels), files=ctx.pr.files))
    ev = steps.evaluate(ctx, (), group_overrides(per_pull, event.head_sha))
    existing = Existing(repo.full_name, 0, event.head_sha)
    existing = replace(existing, check_runs=read_check_runs(steps.client, existing, event.head_sha, ev.check_name))
    published = steps.post(decisions.decide_merge_group(ev, existing))
    log.info("%s: merge group %s (PRs %s): %s", repo.full_name, event.head_sha[:12], numbers, ev.plan.verdict)
    return ev, published
