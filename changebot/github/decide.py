"""What to do on GitHub for an evaluation, decided from what GitHub shows now. Pure: no I/O, no clock.

``decide(evaluation, existing)`` returns a ``Decision``: the check run (create, or update which one; its
conclusion, output, annotation batches and ``external_id``), the sticky comment (create, edit or leave), the
rule actions still to do (labels missing, reviewers not yet requested, rule comments to create or edit), the
reactions and the replies. ``changebot.github.publish`` carries it out and does nothing else.

The rules it applies, so that running twice (a re-run, a redelivered webhook) changes nothing the second time:

* a result for a head that is no longer the PR's head leaves the comment and the rule actions alone
  (``stale``); its check run is per SHA, so it is still written;
* an older evaluation of the head the comment already shows writes nothing at all (``stale``);
* annotations are not sent again to a check run whose ``external_id`` fingerprints this exact list (GitHub
  appends annotations, it cannot replace them);
* an unchanged comment is left alone; labels already on the PR, reviewers already requested and rule
  comments already posted with the same text are not done again;
* a ``quiet`` decision (a refresh driven by the clock) writes nothing at all when the sticky comment already
  shows this head with the same verdict digest (``render.github.verdict_digest``).

``decide_merge_group`` is the merge queue's: only a check run, on the merge group's head SHA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from changebot.core import sticky
from changebot.core.next_change import Change
from changebot.core.settings import Settings
from changebot.model import Action, Override, Plan
from changebot.render import github as gh

DEFAULT_CHECK_NAME = "changebot"
FAILURE_TITLE = "changebot could not evaluate: {reason}"
_REASON_MAX = 200


def check_name(settings: Settings | None, default: str = DEFAULT_CHECK_NAME) -> str:
    """The check run's name: the base branch's ``github.check_name`` when set (and the settings could be read),
    else ``default``. Every path (success, failure, App, Action) names its check run with this."""
    value = settings.section("github").get("check_name") if settings is not None else None
    return value if isinstance(value, str) and value.strip() else default


@dataclass(frozen=True)
class ExistingComment:
    """A comment on the pull request, as read before deciding."""

    id: int
    author: str | None
    body: str


@dataclass(frozen=True)
class ExistingRun:
    """A check run on the head with changebot's name, as read before deciding."""

    id: int
    external_id: str | None


@dataclass(frozen=True)
class Existing:
    """What GitHub showed before deciding: the PR's head now, its comments, labels and requested reviewers, and
    the check runs on the evaluated head with the check name (``None`` when they were not read)."""

    repo: str
    number: int
    head_sha: str | None
    comments: tuple[ExistingComment, ...] = ()
    labels: tuple[str, ...] = ()
    requested: tuple[str, ...] = ()
    requested_teams: tuple[str, ...] = ()
    check_runs: tuple[ExistingRun, ...] | None = None
    bot_login: str | None = None
    #: ``external_id`` of changebot's check runs on the heads sticky-looking comments name (see
    #: ``core.sticky``: for ``github-actions[bot]`` only a recorded state is changebot's).
    records: tuple[str, ...] = ()

    @property
    def sticky(self) -> tuple[ExistingComment, tuple[Override, ...]] | None:
        """changebot's sticky comment and the overrides it stores."""
        return sticky.find(self.comments, self.bot_login, self.records)

    @property
    def stored(self) -> tuple[Override, ...]:
        """The overrides changebot's sticky comment stores (none before the first post)."""
        found = self.sticky
        return found[1] if found is not None else ()


@dataclass(frozen=True)
class Evaluated:
    """One evaluation to show: the plan, the check name, the overrides to store and those the gates applied, and
    when the verdict can next change from time alone (``core.next_change``)."""

    plan: Plan
    check_name: str
    stored: tuple[Override, ...]
    in_force: tuple[Override, ...]
    next_change: Change | None = None


@dataclass(frozen=True)
class CheckRunWrite:
    """Create (``update_id`` is ``None``) or update one check run; later batches of annotations follow."""

    name: str
    head_sha: str
    update_id: int | None
    fields: Mapping[str, Any]
    output: Mapping[str, str]
    annotation_batches: tuple[tuple[Mapping[str, Any], ...], ...] = ((),)


@dataclass(frozen=True)
class CommentWrite:
    """The sticky comment: ``create`` it, ``edit`` comment ``comment_id``, or ``leave`` it as it is."""

    action: Literal["create", "edit", "leave"]
    body: str = ""
    comment_id: int | None = None


@dataclass(frozen=True)
class RuleComment:
    """A rule's comment: create it (``edit_id`` ``None``; found again by ``marker`` after a 5xx) or edit it."""

    rule: str
    marker: str
    body: str
    edit_id: int | None = None


@dataclass(frozen=True)
class AddLabels:
    """Add labels the PR does not have yet."""

    labels: tuple[str, ...]


@dataclass(frozen=True)
class RequestReviews:
    """Request reviews from people and teams not requested yet."""

    reviewers: tuple[str, ...]
    teams: tuple[str, ...] = ()


RuleAction = AddLabels | RequestReviews | RuleComment


@dataclass(frozen=True)
class Reply:
    """changebot's answer to a comment, found again by ``marker`` (so it is posted once)."""

    marker: str
    body: str


@dataclass(frozen=True)
class Decision:
    """Everything to do on one pull request, in the order ``publish`` does it."""

    repo: str
    number: int
    reactions: tuple[tuple[int, str], ...] = ()
    check_run: CheckRunWrite | None = None
    comment: CommentWrite = CommentWrite("leave")
    rule_actions: tuple[RuleAction, ...] = ()
    replies: tuple[Reply, ...] = ()
    stale: bool = False
    done: tuple[str, ...] = field(default_factory=tuple)
    unchanged: bool = False


def shows_same(existing: Existing, head_sha: str, ev: Evaluated) -> bool:
    """Whether the sticky comment already shows ``head_sha`` with the verdict ``ev`` has (same digest)."""
    found = existing.sticky
    if found is None:
        return False
    shown = sticky.parse_head(found[0].body)
    digest = gh.verdict_digest(ev.plan, ev.in_force)
    return shown is not None and shown[0] == head_sha and sticky.parse_verdict(found[0].body) == digest


def shows_later(existing: Existing, head_sha: str, now: datetime) -> bool:
    """Whether the sticky comment already shows a later evaluation of ``head_sha`` than one made at ``now``."""
    found = existing.sticky
    shown = sticky.parse_head(found[0].body) if found is not None else None
    return shown is not None and shown[0] == head_sha and shown[1] > now


def _check_run(ev: Evaluated, head_sha: str, existing: Existing) -> CheckRunWrite:
    plan = ev.plan
    notes = gh.annotation_list(plan)
    fingerprint = gh.annotations_fingerprint(notes)
    runs = existing.check_runs or ()
    run = runs[0] if runs else None
    if run is not None and (run.external_id or "").split(":state-")[0] == fingerprint:
        notes = []  # these annotations are already on the check run
    fields = {
        "status": "completed",
        "conclusion": gh.conclusion(plan.verdict),
        "completed_at": plan.now,
        "external_id": f"{fingerprint}:{sticky.state_record(ev.stored)}",
    }
    return CheckRunWrite(
        name=ev.check_name,
        head_sha=head_sha,
        update_id=run.id if run is not None else None,
        fields=fields,
        output=gh.check_output(plan, ev.in_force, ev.next_change),
        annotation_batches=tuple(tuple(batch) for batch in gh.batches(notes)),
    )


def _comment(ev: Evaluated, head_sha: str, existing: Existing) -> CommentWrite:
    body = gh.sticky_body(ev.plan, head_sha, ev.stored, ev.in_force, ev.next_change)
    found = existing.sticky
    if found is None:
        return CommentWrite("create", body)
    if found[0].body == body:
        return CommentWrite("leave", body, found[0].id)
    return CommentWrite("edit", body, found[0].id)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int)]
    return []


def rule_actions(actions: Sequence[Action], existing: Existing) -> tuple[tuple[RuleAction, ...], tuple[str, ...]]:
    """The rule actions not done yet (given the PR's labels, requested reviewers and changebot's rule comments),
    in the rules' order, and what they do (``label:x``, ``comment:rule``, ``review:user``...) for logs."""
    todo: list[RuleAction] = []
    done: list[str] = []
    have = set(existing.labels)
    users, teams = set(existing.requested), set(existing.requested_teams)
    mine = {
        rule: c
        for c in existing.comments
        if c.author == existing.bot_login and (rule := gh.rule_of(c.body)) is not None
    }
    for action in actions:
        with_ = dict(action.with_)
        if action.do == "label":
            missing = [n for n in dict.fromkeys(_strings(with_.get("labels", with_.get("label")))) if n not in have]
            if missing:
                have.update(missing)
                todo.append(AddLabels(tuple(missing)))
                done.extend(f"label:{name}" for name in missing)
        elif action.do == "comment":
            text = with_.get("body")
            if not isinstance(text, str) or not text.strip():
                continue  # the rules gate reports a comment action without a body
            body = gh.rule_comment(action.rule, text)
            key = gh.rule_of(body) or action.rule
            posted = mine.get(key)
            if posted is None:
                todo.append(RuleComment(action.rule, gh.rule_marker(action.rule), body))
                done.append(f"comment:{action.rule}")
            elif posted.body != body:
                todo.append(RuleComment(action.rule, gh.rule_marker(action.rule), body, posted.id))
                done.append(f"comment-edited:{action.rule}")
            mine[key] = ExistingComment(posted.id if posted else 0, existing.bot_login, body)
        elif action.do == "request_review":
            new_users = [u for u in dict.fromkeys(_strings(with_.get("reviewers"))) if u not in users]
            new_teams = [
                t for t in dict.fromkeys(_strings(with_.get("team_reviewers", with_.get("teams")))) if t not in teams
            ]
            if new_users or new_teams:
                users.update(new_users)
                teams.update(new_teams)
                todo.append(RequestReviews(tuple(new_users), tuple(new_teams)))
                done.extend([*(f"review:{u}" for u in new_users), *(f"review:team/{t}" for t in new_teams)])
    return tuple(todo), tuple(done)


def decide(ev: Evaluated, existing: Existing, quiet: bool = False) -> Decision:
    """What to do on GitHub to show ``ev`` on PR ``number``, given what GitHub shows (``existing``); ``quiet``
    writes nothing when the verdict shown is the same."""
    plan = ev.plan
    repo, number = existing.repo, existing.number
    head_sha = plan.pr.head_sha or plan.head or ""
    if quiet and shows_same(existing, head_sha, ev):
        return Decision(repo, number, unchanged=True)
    if shows_later(existing, head_sha, plan.now):
        return Decision(repo, number, stale=True)  # an older evaluation of this very head: write nothing
    run = _check_run(ev, head_sha, existing)
    if existing.head_sha is not None and existing.head_sha != head_sha:
        return Decision(repo, number, check_run=run, stale=True)
    todo, done = rule_actions(plan.actions, existing)
    return Decision(repo, number, check_run=run, comment=_comment(ev, head_sha, existing), rule_actions=todo, done=done)


def decide_merge_group(ev: Evaluated, existing: Existing) -> Decision:
    """The check run of a merge group on its head SHA (``existing.check_runs``: those already on it)."""
    head_sha = ev.plan.pr.head_sha or ev.plan.head or ""
    return Decision(existing.repo, existing.number, check_run=_check_run(ev, head_sha, existing))


def failure_reason(message: str) -> str:
    """The first line of ``message``, short enough for a check run's title."""
    first = (message.strip().splitlines() or ["unknown error"])[0]
    return first if len(first) <= _REASON_MAX else first[: _REASON_MAX - 1] + "…"


def decide_failure(existing: Existing, name: str, head_sha: str, message: str, details: str, now: datetime) -> Decision:
    """A failing check run on ``head_sha`` saying why changebot could not evaluate (a PR changebot cannot judge
    never passes, and a required check never hangs without an explanation)."""
    title = FAILURE_TITLE.format(reason=failure_reason(message))
    output = {"title": title, "summary": gh.truncate_bytes(details, gh.CHECK_OUTPUT_MAX_BYTES)}
    runs = existing.check_runs or ()
    run = CheckRunWrite(
        name=name,
        head_sha=head_sha,
        update_id=runs[0].id if runs else None,
        fields={"status": "completed", "conclusion": "failure", "completed_at": now},
        output=output,
    )
    return Decision(existing.repo, existing.number, check_run=run)
