"""The governance-approval rule, decided natively so that it holds whichever policy engine runs. Pure.

A pull request that edits governance config (``input.governance_changes``: rules, policies, freeze calendars,
CI budget, pipeline, changebot's settings) needs an approval from one of ``policy.governance_owners``;
approvals come from GitHub (or ``changebot plan --approved-by``). With no owners configured the edit only warns
(when the default library is on), so that adopting changebot does not block every governance change.

It used to be the default library's ``changebot.governance`` package, which an OPA server or the ``opa`` engine
without that library never ran: a pull request that emptied the calendar then passed with no word.
"""

from __future__ import annotations

from collections.abc import Sequence

from changebot.model import Finding, error, warning


def governance_findings(
    changed: Sequence[str], owners: Sequence[str], approvals: Sequence[str], warn_unowned: bool = True
) -> list[Finding]:
    """Findings for governance edits ``changed`` given the configured ``owners`` and the PR's ``approvals``."""
    if not changed:
        return []
    files = ", ".join(changed)
    if not owners:
        if not warn_unowned:
            return []
        message = (
            f"this pull request edits governance config ({files}) and no governance owners are configured to "
            "approve it (set policy.governance_owners in .maestro/changebot.yaml)"
        )
        return [warning("governance-unowned", message, changed[0])]
    if any(who in owners for who in approvals):
        return []
    who = ", ".join(owners)
    message = f"this pull request edits governance config ({files}) and needs an approval from one of {who}"
    return [error("governance-approval", message, changed[0])]
