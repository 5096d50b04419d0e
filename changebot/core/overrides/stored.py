"""Overrides (break-glass) as stored on GitHub: a hidden, machine-readable block in the sticky PR comment.

The sticky comment is the one place changebot keeps state for a pull request, so overrides survive restarts of
the App and runs of the Action without a database. The block is an HTML comment, invisible when rendered::

    <!-- changebot:overrides [{"gate": "freeze", "actor": "alice", ...}] -->

``decode`` never trusts the block blindly: it is read only from a comment that the bot itself wrote (the GitHub
layer checks the author), and entries that do not parse are dropped, never widened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from changebot.model import GateId, Override

STICKY_MARKER = "<!-- changebot:sticky -->"
_BLOCK = re.compile(r"<!-- changebot:overrides (\[.*?\]) -->", re.DOTALL)


def is_sticky(author: str | None, body: str, bot_login: str | None) -> bool:
    """Whether a comment is changebot's sticky one: written by ``bot_login`` and ending with ``STICKY_MARKER``
    and its hidden blocks (see ``sticky_overrides``). A marker pasted into someone else's comment does not count,
    nor does one quoted back in changebot's own replies."""
    return author == bot_login and sticky_overrides(body) is not None


def _to_json(override: Override) -> dict[str, Any]:
    return {
        "gate": str(override.gate),
        "actor": override.actor,
        "reason": override.reason,
        "granted_at": override.granted_at.isoformat(),
        "expires_at": override.expires_at.isoformat() if override.expires_at else None,
        "head_sha": override.head_sha,
    }


def _from_json(item: Any) -> Override | None:
    if not isinstance(item, dict):
        return None
    try:
        granted = datetime.fromisoformat(item["granted_at"])
        expires = datetime.fromisoformat(item["expires_at"]) if item.get("expires_at") else None
        override = Override(
            gate=GateId(item["gate"]),
            actor=str(item["actor"]),
            reason=str(item["reason"]),
            granted_at=granted,
            expires_at=expires,
            head_sha=str(item["head_sha"]) if item.get("head_sha") else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
    if granted.tzinfo is None or (expires is not None and expires.tzinfo is None):
        return None
    return override


def encode(overrides: Iterable[Override]) -> str:
    """The hidden block for ``overrides`` (``--`` is escaped so the HTML comment cannot be closed early)."""
    payload = json.dumps([_to_json(o) for o in overrides], ensure_ascii=True, separators=(",", ":"))
    return "<!-- changebot:overrides " + payload.replace("--", "-\\u002d") + " -->"


def decode(body: str) -> list[Override]:
    """Overrides found in a comment body written by changebot; malformed entries are dropped."""
    match = _BLOCK.search(body)
    if match is None:
        return []
    try:
        items = json.loads(match.group(1))
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [o for o in (_from_json(item) for item in items) if o is not None]


_HIDDEN = re.compile(
    r"\s*(<!-- changebot:overrides \[.*?\] -->)?\s*(<!-- changebot:head \{[^<>]*\} -->)?\s*", re.DOTALL
)


def sticky_overrides(body: str) -> list[Override] | None:
    """The overrides stored in a sticky comment ``body``, or ``None`` when ``body`` is not a sticky comment.

    A sticky comment ends with ``STICKY_MARKER`` followed by nothing but its hidden blocks. changebot's other
    comments (replies to commands, rule comments) may quote text people wrote, markers included, but end with
    their own marker: they are not sticky comments. The block is read only from that hidden tail, never from
    the visible text above it.
    """
    _, marker, tail = body.rpartition(STICKY_MARKER)
    return decode(tail) if marker and _HIDDEN.fullmatch(tail) else None


def in_force(overrides: Iterable[Override], gate: GateId, now: datetime, head_sha: str | None) -> list[Override]:
    """The overrides of ``gate`` that apply at ``now`` to ``head_sha``."""
    return [o for o in overrides if o.gate is gate and o.in_force(now, head_sha)]
