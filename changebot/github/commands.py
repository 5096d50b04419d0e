"""Answering ``/changebot`` commands in pull-request comments (the App's side; the grammar is core/commands.py).

Which comments reach this module is decided by ``app_router``: created (not edited) comments on pull
requests, written by people, whose first non-blank line is a command. For each one:

1. an ``eyes`` reaction acknowledges receipt;
2. ``help`` and malformed commands get the help text (with what was wrong);
3. ``plan`` re-evaluates and re-publishes; ``gate``, ``budget``, ``freeze``, ``sequence`` also reply with
   the verdict or that gate's findings;
4. ``override <gate>`` asks GitHub's collaborator-permission API for the commenter's role and checks it,
   the reason and the expiry against the base branch's rules (``core.override_rules``), then binds it to a
   head: the commit ``--sha`` names, which must still be the head, or else the head when the comment was
   written (``created_at``): no commit of the pull request may be dated after it. Each comment grants once: a
   command already answered (changebot's reply to it, or an override stored with its comment id) is not
   carried out again, whatever delivery brings it. A granted override is stored in the sticky comment and the
   PR is re-published with it; a refusal is answered with the reason.

Nothing else grants an override: labels, branch names, titles and ``author_association`` are never read here.
Replies carry a hidden marker naming the comment they answer, so a re-run edits nothing twice.
"""

from __future__ import annotations

import logging

from changebot.adapters.github.client import PullSnapshot
from changebot.core.commands import OVERRIDE, Command, Invalid, help_text
from changebot.core.overrides import rules as override_rules
from changebot.github.decide import Decision, Existing, Reply
from changebot.github.jobs import JobControl
from changebot.github.router import CommentEvent
from changebot.github.steps import Steps, describe, is_refused
from changebot.model import GateId, Override
from changebot.render import replies

log = logging.getLogger("changebot.github.commands")

ACK_REACTION = "eyes"


def _answer(steps: Steps, event: CommentEvent, body: str) -> Reply:
    return steps.reply(event.number, event.comment_id, event.actor, body)


def _reply(steps: Steps, event: CommentEvent, body: str) -> None:
    steps.post(Decision(event.repo.full_name, event.number, replies=(_answer(steps, event, body),)))


def answer(steps: Steps, event: CommentEvent, control: JobControl) -> None:
    """Acknowledge and carry out one command. A command whose evaluation cannot finish is answered with why
    (a refused token is left to the ``Clients`` to renew)."""
    steps.post(Decision(event.repo.full_name, event.number, reactions=((event.comment_id, ACK_REACTION),)))
    command = event.command
    if isinstance(command, Invalid):
        _reply(steps, event, help_text(command.problem))
        return
    if command.verb == "help":
        _reply(steps, event, help_text())
        return
    try:
        snapshot = steps.snapshot(event.number, "issue_comment")
        if command.verb == OVERRIDE:
            _override(steps, event, command, snapshot)
        else:
            _evaluate_and_answer(steps, event, command, snapshot, control)
    except Exception as exc:
        if is_refused(exc):
            raise
        log.warning("%s#%d: could not evaluate: %s", event.repo.full_name, event.number, exc)
        _reply(steps, event, replies.error_reply(describe(exc)[1]))


def _evaluate_and_answer(
    steps: Steps, event: CommentEvent, command: Command, snapshot: PullSnapshot, control: JobControl
) -> None:
    ctx, existing = steps.read(snapshot)
    ev = steps.evaluate(ctx, existing.stored)
    answers: list[Reply] = []
    if command.verb == "gate":
        answers.append(_answer(steps, event, replies.gates_reply(ev.plan)))
    elif command.verb in ("budget", "freeze", "sequence"):
        answers.append(_answer(steps, event, replies.gate_reply(ev.plan, GateId(command.verb))))
    if control.is_current():
        steps.show(ev, existing, answers)
    elif answers:
        steps.post(Decision(event.repo.full_name, event.number, replies=tuple(answers)))


def answered(existing: Existing, comment_id: int) -> bool:
    """Whether the command in comment ``comment_id`` was carried out already: an override stored with its id, or
    changebot's own reply to it."""
    if any(o.comment_id == comment_id for o in existing.stored):
        return True
    marker = replies.reply_marker(comment_id)
    return any(c.author == existing.bot_login and marker in c.body for c in existing.comments)


def bind(steps: Steps, event: CommentEvent, command: Command, snapshot: PullSnapshot) -> override_rules.Refusal | None:
    """``None`` when the override may bind to the current head, else why not."""
    head = snapshot.pr.head_sha or ""
    if command.sha is not None:
        if head.startswith(command.sha):
            return None
        return override_rules.Refusal(
            f"the command names commit {command.sha}, but the head is now {head[:12]}; an override is for the "
            "commit it names: write the command again if it should apply to the new head"
        )
    if event.created_at is None:
        return override_rules.Refusal(
            "GitHub did not say when the comment was written, so changebot cannot tell which head it was for; "
            f"name the head with --sha {head[:12]}"
        )
    later = steps.committed_after(snapshot, event.created_at)
    if later:
        return override_rules.Refusal(
            f"the head changed after the command was written ({event.created_at.isoformat()}): commit "
            f"{later[0][:12]} is newer. An override is for the head it was written for: write the command again, "
            f"or name the head with --sha {head[:12]}"
        )
    return None


def _override(steps: Steps, event: CommentEvent, command: Command, snapshot: PullSnapshot) -> None:
    """Decide the override first (the commenter's role and the base branch's rules need no plan), then plan
    once with the overrides as they will be stored."""
    if command.gate is None:  # the grammar never produces this; refuse rather than guess
        _reply(steps, event, help_text("an override needs a gate"))
        return
    role = steps.client.permission(event.repo.full_name, event.actor)
    ctx, existing = steps.read(snapshot)
    if answered(existing, event.comment_id):
        log.info(
            "%s#%d: comment %d was answered already; a comment grants once",
            event.repo.full_name,
            event.number,
            event.comment_id,
        )
        return
    policies = override_rules.policies(ctx)
    head = snapshot.pr.head_sha or ""
    decision: Override | override_rules.Refusal = override_rules.decide(
        command, event.actor, role, policies[command.gate], ctx.now, head, event.comment_id, event.created_at
    )
    if not isinstance(decision, override_rules.Refusal):
        decision = bind(steps, event, command, snapshot) or decision
    if isinstance(decision, override_rules.Refusal):
        log.info("%s#%d: override by %s refused: %s", event.repo.full_name, event.number, event.actor, decision.message)
        _reply(steps, event, replies.override_refused(decision.message))
        return
    stored = override_rules.record(existing.stored, decision, ctx.now)
    steps.show(steps.evaluate(ctx, stored), existing, [_answer(steps, event, replies.override_granted(decision))])
    log.info("%s#%d: %s override granted to %s", event.repo.full_name, event.number, command.gate, event.actor)
