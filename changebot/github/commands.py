"""Answering ``/changebot`` commands in pull-request comments (the App's side; the grammar is core/commands.py).

Which comments reach this module is decided by ``app_router``: created (not edited) comments on pull
requests, written by people, whose first non-blank line is a command. For each one:

1. an ``eyes`` reaction acknowledges receipt;
2. ``help`` and malformed commands get the help text (with what was wrong);
3. ``plan`` re-evaluates and re-publishes; ``gate``, ``budget``, ``freeze``, ``sequence`` also reply with
   the verdict or that gate's findings;
4. ``override <gate>`` asks GitHub's collaborator-permission API for the commenter's role and checks it,
   the reason and the expiry against the base branch's rules (``core.override_rules``). A granted override
   is stored in the sticky comment and the PR is re-published with it; a refusal is answered with the reason.

Nothing else grants an override: labels, branch names, titles and ``author_association`` are never read here.
Replies carry a hidden marker naming the comment they answer, so a re-run edits nothing twice.
"""

from __future__ import annotations

import logging

from changebot.adapters.github.client import PullSnapshot
from changebot.core.commands import OVERRIDE, Command, Invalid, help_text
from changebot.core.overrides import rules as override_rules
from changebot.github.decide import Decision, Reply
from changebot.github.jobs import JobControl
from changebot.github.router import CommentEvent
from changebot.github.steps import Steps, describe, is_refused
from changebot.model import GateId
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


def _override(steps: Steps, event: CommentEvent, command: Command, snapshot: PullSnapshot) -> None:
    """Decide the override first (the commenter's role and the base branch's rules need no plan), then plan
    once with the overrides as they will be stored."""
    if command.gate is None:  # the grammar never produces this; refuse rather than guess
        _reply(steps, event, help_text("an override needs a gate"))
        return
    role = steps.client.permission(event.repo.full_name, event.actor)
    ctx, existing = steps.read(snapshot)
    policies = override_rules.policies(ctx)
    head = snapshot.pr.head_sha or ""
    decision = override_rules.decide(command, event.actor, role, policies[command.gate], ctx.now, head)
    if isinstance(decision, override_rules.Refusal):
        log.info("%s#%d: override by %s refused: %s", event.repo.full_name, event.number, event.actor, decision.message)
        _reply(steps, event, replies.override_refused(decision.message))
        return
    stored = override_rules.record(existing.stored, decision, ctx.now)
    steps.show(steps.evaluate(ctx, stored), existing, [_answer(steps, event, replies.override_granted(decision))])
    log.info("%s#%d: %s override granted to %s", event.repo.full_name, event.number, command.gate, event.actor)
