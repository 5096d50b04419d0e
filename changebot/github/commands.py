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

from changebot.adapters.git.clones import CloneAuthError
from changebot.adapters.github.calls import GitHubError
from changebot.adapters.github.client import PullSnapshot
from changebot.app.jobs import JobControl
from changebot.core.commands import OVERRIDE, Command, Invalid, help_text
from changebot.core.overrides import rules as override_rules
from changebot.errors import ChangebotError
from changebot.github.handlers import Session
from changebot.github.router import CommentEvent
from changebot.model import GateId
from changebot.render import replies

log = logging.getLogger("changebot.github.commands")

ACK_REACTION = "eyes"


def reply(session: Session, event: CommentEvent, body: str) -> None:
    """Post changebot's answer to ``event`` once (found again by its marker after a 5xx)."""
    marker = replies.reply_marker(event.comment_id)
    session.client.create_comment(
        event.repo.full_name,
        event.number,
        replies.with_marker(body, event.comment_id, event.actor),
        exists=lambda c: marker in c.body,
    )


def answer(session: Session, event: CommentEvent, control: JobControl) -> None:
    """Acknowledge and carry out one command."""
    session.client.add_reaction(event.repo.full_name, event.comment_id, ACK_REACTION)
    command = event.command
    if isinstance(command, Invalid):
        reply(session, event, help_text(command.problem))
        return
    if command.verb == "help":
        reply(session, event, help_text())
        return
    snapshot = session.snapshot(event.number, "issue_comment")
    try:
        _evaluate_and_answer(session, event, command, snapshot, control)
    except (GitHubError, CloneAuthError):
        raise  # the App renews the token on a 401; other GitHub errors fail the job
    except ChangebotError as exc:
        log.warning("%s#%d: could not evaluate: %s", event.repo.full_name, event.number, exc)
        reply(session, event, replies.error_reply(exc.diagnostics()))


def _evaluate_and_answer(
    session: Session, event: CommentEvent, command: Command, snapshot: PullSnapshot, control: JobControl
) -> None:
    if command.verb == OVERRIDE:
        _override(session, event, command, snapshot)
        return
    ev = session.evaluate(snapshot)
    if control.is_current():
        session.publish(ev)
    if command.verb == "gate":
        reply(session, event, replies.gates_reply(ev.plan))
    elif command.verb in ("budget", "freeze", "sequence"):
        reply(session, event, replies.gate_reply(ev.plan, GateId(command.verb)))


def _override(session: Session, event: CommentEvent, command: Command, snapshot: PullSnapshot) -> None:
    if command.gate is None:  # the grammar never produces this; refuse rather than guess
        reply(session, event, help_text("an override needs a gate"))
        return
    role = session.client.permission(event.repo.full_name, event.actor)
    ev = session.evaluate(snapshot)
    head = snapshot.pr.head_sha or ""
    decision = override_rules.decide(command, event.actor, role, ev.policies[command.gate], ev.ctx.now, head)
    if isinstance(decision, override_rules.Refusal):
        log.info("%s#%d: override by %s refused: %s", event.repo.full_name, event.number, event.actor, decision.message)
        reply(session, event, replies.override_refused(decision.message))
        return
    stored = override_rules.record(ev.sticky.overrides, decision, ev.ctx.now)
    session.publish(session.replan(ev, stored), overrides=stored)
    log.info("%s#%d: %s override granted to %s", event.repo.full_name, event.number, command.gate, event.actor)
    reply(session, event, replies.override_granted(decision))
