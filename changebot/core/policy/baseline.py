"""What the base branch already has, and where findings may point: the policy gate's last pass. Pure.

``inherit`` turns denials the base branch already produces word for word into warnings, as the schema gate
does for inherited schema errors: a pull request fails for what it causes, not for what it inherits.
``in_repository`` keeps annotations on files of the user's repository.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.model import Finding, Severity

INHERITED = " (already so on the base branch: not introduced by this pull request)"


def base_view(ctx: Context) -> Context:
    """The base branch judged as if it were the pull request: its own proposals, no changed files."""
    pr = replace(ctx.pr, files=())
    return Context(base=ctx.base, head=ctx.base, pr=pr, now=ctx.now, settings=ctx.settings, repo=ctx.repo)


def _inheritable(finding: Finding, changed: frozenset[str]) -> bool:
    """A denial about a proposal file (a bundle, a plan) that the pull request does not touch."""
    return (
        finding.severity is Severity.ERROR
        and finding.code == "policy-deny"
        and finding.path is not None
        and layout.is_proposal(finding.path)
        and finding.path not in changed
    )


def inherit(
    findings: Sequence[Finding], ctx: Context, judge_base: Callable[[Context], Sequence[Finding]]
) -> list[Finding]:
    """``findings`` with the denials the base branch already produces word for word (same package, same
    message, same file) as warnings ending in ``INHERITED``.

    Only a denial that points at a proposal file the pull request leaves alone can be inherited; a plain
    message (about the pull request itself: its labels, its title, a freeze) always fails. ``judge_base``
    evaluates the same policies on ``base_view(ctx)``, with the pull request's facts, no changed files and
    without the other gates' sections, so a denial that depends on this pull request never matches. It is
    called only when some denial could be inherited."""
    changed = ctx.changed_paths()
    if not any(_inheritable(f, changed) for f in findings):
        return list(findings)
    old = {
        (f.path, f.message)
        for f in judge_base(base_view(ctx))
        if f.severity is Severity.ERROR and f.code == "policy-deny"
    }
    return [
        replace(f, severity=Severity.WARNING, message=f.message + INHERITED)
        if _inheritable(f, changed) and (f.path, f.message) in old
        else f
        for f in findings
    ]


def in_repository(findings: Sequence[Finding], ctx: Context) -> list[Finding]:
    """A path a policy's message names that is in neither side of the repository carries no annotation: the
    message keeps the path, the finding loses it."""
    known = ctx.base.paths | ctx.head.paths | set(ctx.base.files) | set(ctx.head.files)
    return [
        replace(f, path=None, line=None, message=f"{f.message} (at {f.path}, not in this repository)")
        if f.path is not None and f.path not in known
        else f
        for f in findings
    ]
