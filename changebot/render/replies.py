"""Replies to slash commands, as Markdown. Pure.

Every reply ends with a hidden marker naming the comment it answers, so a reply is found again instead of
posted twice (``reply_marker``), and quotes who asked.
"""

from __future__ import annotations

from changebot.model import GateId, Override, Plan
from changebot.render.md import escape_cell, findings_table


def reply_marker(comment_id: int) -> str:
    """The hidden marker of changebot's reply to comment ``comment_id``."""
    return f"<!-- changebot:reply {int(comment_id)} -->"


def with_marker(body: str, comment_id: int, actor: str) -> str:
    """``body`` addressed to ``actor``, ending with the reply marker."""
    return f"@{actor} {body.rstrip()}\n\n{reply_marker(comment_id)}\n"


def gates_reply(plan: Plan) -> str:
    """``/changebot gate``: the verdict and one line per gate."""
    lines = [f"changebot's verdict for `{(plan.pr.head_sha or '')[:12]}`: **{plan.verdict}**", ""]
    lines += ["| gate | status | summary |", "|---|---|---|"]
    lines += [f"| {g.id} | {g.status} | {escape_cell(g.summary)} |" for g in plan.gates]
    return "\n".join(lines) + "\n"


def gate_reply(plan: Plan, gate: GateId) -> str:
    """``/changebot freeze`` (budget, sequence): one gate's status, summary and findings."""
    result = next((g for g in plan.gates if g.id is gate), None)
    if result is None:
        return f"the {gate} gate was not evaluated for `{(plan.pr.head_sha or '')[:12]}`\n"
    lines = [f"**{gate}** gate for `{(plan.pr.head_sha or '')[:12]}`: **{result.status}**: {result.summary}", ""]
    if result.findings:
        lines += findings_table(result.findings)
    return "\n".join(lines) + "\n"


def override_granted(override: Override) -> str:
    """The reply to a granted override."""
    expires = override.expires_at.isoformat() if override.expires_at else "never"
    return (
        f"override of the **{override.gate}** gate granted for `{(override.head_sha or '')[:12]}` until "
        f"{expires}: {escape_cell(override.reason)}\n\nIt lapses when that time passes"
        + (" or when a new commit is pushed." if override.head_sha else ".")
    )


def override_refused(message: str) -> str:
    """The reply to a refused override, with the reason."""
    return f"override refused: {message}\n"


def error_reply(message: str) -> str:
    """The reply when changebot could not evaluate the pull request."""
    return f"changebot could not evaluate this pull request: {message}\n"
