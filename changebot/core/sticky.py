"""The sticky comment's machine-readable format: the one place that writes and reads it.

changebot keeps one comment per pull request (the "sticky" comment), edited in place. It is also where changebot
keeps state for the pull request, so overrides survive restarts of the App and runs of the Action without a
database. After the visible Markdown (made by ``render.github``) come three hidden HTML comments::

    <!-- changebot:sticky -->                             which comment is changebot's (with the bot's login)
    <!-- changebot:overrides [{"gate": "freeze", ...}] -->  the overrides granted on this PR
    <!-- changebot:head {"sha": "...", "at": "...", "verdict": "..."} -->
                                                          the head and instant this result is for, and a digest
                                                          of the verdict shown (``render.github.verdict_digest``)

The blocks are never trusted blindly: they are read only from a comment that the bot itself wrote and only
from the hidden tail after the last marker (changebot's replies may quote what people wrote, markers included);
override entries that do not parse are dropped, never widened. Pure: no I/O.

Who "the bot itself" is depends on the login. An App's ``<slug>[bot]`` posts only with the App's tokens. But
``github-actions[bot]`` is every workflow of the repository (a lint report or a welcome message quoting what a
user wrote is enough to plant a sticky-looking comment), and a person's login is whatever that person types.
For such shared logins (``needs_record``) a comment is changebot's state only when the check run changebot
wrote on the head the comment names records that state: its ``external_id`` ends with ``state_record`` of
the stored overrides. Comments can be posted by any workflow in passing; a check run with changebot's name
and a matching ``external_id`` has to be forged on purpose, by someone who can edit workflows.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from changebot.model import GateId, Override

STICKY_MARKER = "<!-- changebot:sticky -->"
#: Logins any workflow of a repository can post as.
SHARED_LOGINS = frozenset({"github-actions[bot]"})
_BLOCK = re.compile(r"<!-- changebot:overrides (\[.*?\]) -->", re.DOTALL)
_HEAD = re.compile(r"<!-- changebot:head (\{[^<>]*\}) -->")
_HIDDEN = re.compile(
    r"\s*(<!-- changebot:overrides \[.*?\] -->)?\s*(<!-- changebot:head \{[^<>]*\} -->)?\s*", re.DOTALL
)


class CommentLike(Protocol):
    """What the format needs to know of a comment: who wrote it and its text."""

    @property
    def author(self) -> str | None: ...

    @property
    def body(self) -> str: ...


C = TypeVar("C", bound=CommentLike)


def _to_json(override: Override) -> dict[str, Any]:
    out: dict[str, Any] = {
        "gate": str(override.gate),
        "actor": override.actor,
        "reason": override.reason,
        "granted_at": override.granted_at.isoformat(),
        "expires_at": override.expires_at.isoformat() if override.expires_at else None,
        "head_sha": override.head_sha,
    }
    if override.comment_id is not None:
        out["comment_id"] = override.comment_id
    return out


def _comment_id(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"comment_id {value!r}")
    return value


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
            comment_id=_comment_id(item.get("comment_id")),
        )
    except (KeyError, TypeError, ValueError):
        return None
    if granted.tzinfo is None or (expires is not None and expires.tzinfo is None):
        return None
    return override


def encode(overrides: Iterable[Override]) -> str:
    """The hidden overrides block (``--`` is escaped so the HTML comment cannot be closed early)."""
    payload = json.dumps([_to_json(o) for o in overrides], ensure_ascii=True, separators=(",", ":"))
    return "<!-- changebot:overrides " + payload.replace("--", "-\\u002d") + " -->"


def decode(body: str) -> list[Override]:
    """Overrides found in an overrides block in ``body``; malformed entries are dropped."""
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


def head_marker(head_sha: str, at: datetime, verdict: str | None = None) -> str:
    """The hidden marker naming the head and instant a sticky comment is for (and the verdict's digest)."""
    data = {"sha": head_sha, "at": at.isoformat(), **({"verdict": verdict} if verdict else {})}
    return f"<!-- changebot:head {json.dumps(data, separators=(',', ':'))} -->"


def parse_verdict(body: str) -> str | None:
    """The verdict digest a sticky comment's head marker carries, or ``None`` (older comments have none)."""
    match = _HEAD.search(body)
    if match is None:
        return None
    try:
        found = json.loads(match.group(1)).get("verdict")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def parse_head(body: str) -> tuple[str, datetime] | None:
    """``(sha, at)`` from a sticky comment's head marker, or ``None``."""
    match = _HEAD.search(body)
    if match is None:
        return None
    try:
        data = json.loads(match.group(1))
        at = datetime.fromisoformat(str(data["at"]))
    except (ValueError, KeyError, TypeError):
        return None
    if at.tzinfo is None:
        return None
    return str(data["sha"]), at


def tail(stored: Iterable[Override], head_sha: str, at: datetime, verdict: str | None = None) -> str:
    """The hidden end of a sticky comment, appended after its visible Markdown (never truncated)."""
    return "\n" + STICKY_MARKER + "\n" + encode(stored) + "\n" + head_marker(head_sha, at, verdict) + "\n"


def sticky_overrides(body: str) -> list[Override] | None:
    """The overrides stored in a sticky comment ``body``, or ``None`` when ``body`` is not a sticky comment.

    A sticky comment ends with ``STICKY_MARKER`` followed by nothing but its hidden blocks. changebot's other
    comments (replies to commands, rule comments) may quote text people wrote, markers included, but end with
    their own marker: they are not sticky comments.
    """
    _, marker, rest = body.rpartition(STICKY_MARKER)
    return decode(rest) if marker and _HIDDEN.fullmatch(rest) else None


def needs_record(bot_login: str | None) -> bool:
    """Whether comments by ``bot_login`` count as changebot's state only with a check run's record: true for
    ``github-actions[bot]`` and for people's logins, false for an App's own ``<slug>[bot]``."""
    return bot_login is None or bot_login.lower() in SHARED_LOGINS or not bot_login.lower().endswith("[bot]")


def state_record(stored: Iterable[Override]) -> str:
    """What changebot's check run records of the stored overrides (the end of its ``external_id``)."""
    return "state-" + hashlib.sha256(encode(stored).encode()).hexdigest()[:16]


def recorded(stored: Iterable[Override], records: Iterable[str] | None) -> bool:
    """Whether one of the check runs' ``external_id`` values ``records`` records exactly ``stored``."""
    mark = state_record(stored)
    return any(r.endswith(mark) for r in records or ())


def is_sticky(author: str | None, body: str, bot_login: str | None) -> bool:
    """Whether a comment is changebot's sticky one: written by ``bot_login``, in the sticky format. A marker
    pasted into someone else's comment does not count, nor does one quoted back in changebot's own replies."""
    return author == bot_login and sticky_overrides(body) is not None


def heads(comments: Iterable[C], bot_login: str | None) -> list[str]:
    """The heads named by sticky-looking comments of ``bot_login``: where their check run records are."""
    found = (parse_head(c.body) for c in comments if c.author == bot_login and sticky_overrides(c.body) is not None)
    return list(dict.fromkeys(h[0] for h in found if h is not None))


def find(
    comments: Iterable[C], bot_login: str | None, records: Iterable[str] | None = None
) -> tuple[C, tuple[Override, ...]] | None:
    """The bot's sticky comment among ``comments`` (the oldest, if a past bug made several) and the overrides
    it stores; ``None`` when there is none. For a shared login (``needs_record``) only a comment whose state
    one of the check runs' ``records`` records counts."""
    shared = needs_record(bot_login)
    kept = list(records or ())
    for comment in comments:
        stored = sticky_overrides(comment.body) if comment.author == bot_login else None
        if stored is not None and (not shared or recorded(stored, kept)):
            return comment, tuple(stored)
    return None
