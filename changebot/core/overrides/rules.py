"""Who may grant an override, for how long, and which stored overrides are in force. Pure.

The rules come from the base branch: ``overrides:`` in ``.maestro/changebot.yaml``, one mapping per gate::

    overrides:
      freeze: {who: [maintain, admin], reason_min_len: 20, expires_max: 72h, lapse_on_push: true}

A key left out falls back to the calendar's own ``override:`` block where the gate has one
(``release-policy.yml``: ``override: {allowed, require_reason, reason_min_len}``, for the freeze gate), then to
the defaults below. ``who`` lists repository roles as GitHub's collaborator-permission API reports them
(``role_name``: read, triage, write, maintain, admin, or a custom role's name). Nothing else grants an
override: not labels, branch names, titles or ``author_association``.

What binds an override: the gate (only the gates in ``OVERRIDABLE`` take one; a command for another gate is
refused, never "granted" without effect), the head commit (the one the command names with ``--sha``, else the
head when the comment was written: the GitHub layer checks that), the comment that granted it (each comment grants
once) and its expiry, counted from when the comment was written. A reason is measured in visible characters.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from changebot.core.commands import Command, format_duration, parse_duration
from changebot.core.context import Context
from changebot.core.documents import layout
from changebot.model import GateId, Override

#: The gates whose result an override changes (the freeze gate warns instead of failing, naming who and why).
#: Overrides of the other gates are refused with the reason: granting one would change nothing.
OVERRIDABLE: frozenset[GateId] = frozenset({GateId.FREEZE})

#: Unicode categories that print nothing: controls, format characters (zero-width spaces and joiners, bidi
#: marks, word joiners), surrogates, private use, unassigned, combining marks, separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Mn", "Me", "Zs", "Zl", "Zp"})
#: Letters and symbols that render blank: Hangul fillers, the Braille blank, Khmer inherent vowels.
_BLANK = frozenset("\u115f\u1160\u3164\uffa0\u2800\u17b4\u17b5")

DEFAULT_WHO = ("maintain", "admin")
DEFAULT_REASON_MIN_LEN = 20
DEFAULT_EXPIRES_MAX = timedelta(hours=72)


@dataclass(frozen=True)
class OverridePolicy:
    """The effective rules for overriding one gate, and where each came from (for refusal messages)."""

    gate: GateId
    allowed: bool = True
    who: tuple[str, ...] = DEFAULT_WHO
    reason_min_len: int = DEFAULT_REASON_MIN_LEN
    expires_max: timedelta = DEFAULT_EXPIRES_MAX
    lapse_on_push: bool = True
    source: str = "defaults"


@dataclass(frozen=True)
class Refusal:
    """Why an override was not granted, in words for the reply."""

    message: str


def visible_length(text: str) -> int:
    """How many characters of ``text`` a reader sees: invisible, combining and blank characters do not count; the
    ASCII space does (the command grammar has already folded every run of whitespace into one)."""
    return sum(
        1 for ch in text if ch == " " or (ch not in _BLANK and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES)
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def policy_for(
    gate: GateId, section: Mapping[str, Any], calendar_override: Mapping[str, Any] | None = None
) -> OverridePolicy:
    """The rules for ``gate`` from the settings ``overrides`` section and the calendar's ``override:`` block.

    Malformed values are ignored (the schema gate reports them) and the default is used, never something
    looser than what was written.
    """
    policy = OverridePolicy(gate)
    sources: list[str] = []
    if calendar_override:
        allowed = calendar_override.get("allowed")
        min_len = _int(calendar_override.get("reason_min_len"))
        require = calendar_override.get("require_reason")
        policy = OverridePolicy(
            gate,
            allowed=allowed if isinstance(allowed, bool) else policy.allowed,
            reason_min_len=min_len if min_len is not None else (1 if require is False else policy.reason_min_len),
        )
        sources.append("release-policy.yml override:")
    raw = section.get(str(gate))
    if isinstance(raw, Mapping):
        who = raw.get("who")
        min_len = _int(raw.get("reason_min_len"))
        expires = parse_duration(raw["expires_max"]) if isinstance(raw.get("expires_max"), str) else None
        allowed = raw.get("allowed")
        lapse = raw.get("lapse_on_push")
        policy = OverridePolicy(
            gate,
            allowed=allowed if isinstance(allowed, bool) else policy.allowed,
            who=tuple(str(w).lower() for w in who) if isinstance(who, list) else policy.who,
            reason_min_len=min_len if min_len is not None else policy.reason_min_len,
            expires_max=expires if expires is not None else policy.expires_max,
            lapse_on_push=lapse if isinstance(lapse, bool) else policy.lapse_on_push,
        )
        sources.append(f".maestro/changebot.yaml overrides.{gate}")
    return OverridePolicy(**{**policy.__dict__, "source": " and ".join(sources) or "defaults"})


def decide(
    command: Command,
    actor: str,
    role: str | None,
    policy: OverridePolicy,
    now: datetime,
    head_sha: str,
    comment_id: int | None = None,
    written_at: datetime | None = None,
) -> Override | Refusal:
    """Grant the override ``command`` asks for, or say why not. ``role`` is the actor's repository role;
    ``head_sha`` the head the override binds to; ``written_at`` when the command was written (the expiry counts
    from then, so a late or replayed job never extends it)."""
    if command.gate is None or command.reason is None:
        return Refusal("only '/changebot override <gate> --reason \"...\"' grants an override")
    gate = command.gate
    if gate not in OVERRIDABLE:
        takes = ", ".join(sorted(str(g) for g in OVERRIDABLE))
        return Refusal(
            f"the {gate} gate cannot be overridden: an override would not change its result (only the {takes} "
            "gate takes overrides). Fix the change, or have an owner change the base branch's configuration"
        )
    if not policy.allowed:
        return Refusal(f"overrides of the {gate} gate are not allowed here ({policy.source})")
    who = ", ".join(policy.who) or "nobody"
    if role is None or role.lower() not in policy.who:
        return Refusal(
            f"@{actor} has the repository role {role or 'none'!r}; overriding the {gate} gate needs one of: "
            f"{who} ({policy.source})"
        )
    visible = visible_length(command.reason)
    if visible < policy.reason_min_len:
        return Refusal(
            f"the reason is {visible} visible characters long; overriding the {gate} gate needs at least "
            f"{policy.reason_min_len} ({policy.source})"
        )
    expires = command.expires if command.expires is not None else policy.expires_max
    if expires > policy.expires_max:
        return Refusal(
            f"--expires {format_duration(expires)} is longer than the {format_duration(policy.expires_max)} "
            f"allowed for the {gate} gate ({policy.source})"
        )
    granted_at = written_at if written_at is not None and written_at <= now else now
    if now >= granted_at + expires:
        return Refusal(
            f"the command was written at {granted_at.isoformat()} and its {format_duration(expires)} would already "
            "have run out; write it again"
        )
    return Override(gate, actor, command.reason, granted_at, granted_at + expires, head_sha, comment_id)


def record(stored: Iterable[Override], granted: Override, now: datetime) -> list[Override]:
    """The overrides to store after ``granted``: it replaces any earlier one of its gate; expired ones go."""
    kept = [o for o in stored if o.gate is not granted.gate and (o.expires_at is None or now < o.expires_at)]
    return [*kept, granted]


def effective(
    stored: Iterable[Override], policies: Mapping[GateId, OverridePolicy], now: datetime, head_sha: str | None
) -> list[Override]:
    """The stored overrides in force at ``now`` for ``head_sha``.

    Expired overrides never apply. An override granted for another head applies only where the gate's policy
    says ``lapse_on_push: false``, and is then returned carried over to ``head_sha`` (so every consumer that
    checks ``Override.in_force`` for this head agrees); a gate whose overrides are no longer allowed, or that
    takes none (``OVERRIDABLE``), gets none.
    """
    out: list[Override] = []
    for override in stored:
        policy = policies.get(override.gate, OverridePolicy(override.gate))
        if not policy.allowed or override.gate not in OVERRIDABLE:
            continue
        if policy.lapse_on_push and (head_sha is None or override.head_sha != head_sha):
            continue
        if not override.in_force(now, None):
            continue
        carried = head_sha is not None and override.head_sha != head_sha
        out.append(replace(override, head_sha=head_sha) if carried else override)
    return out


def calendar_override_block(ctx: Context) -> Mapping[str, Any] | None:
    """``override:`` of ``release-policy.yml`` on the base branch, when it is a mapping."""
    policy = ctx.mapping("base", layout.RELEASE_POLICY)
    block = policy.get("override") if policy is not None else None
    return block if isinstance(block, Mapping) else None


def policies(ctx: Context) -> dict[GateId, OverridePolicy]:
    """The override rules of every gate, as the base branch sets them."""
    section = ctx.settings.section("overrides")
    calendar = calendar_override_block(ctx)
    return {gate: policy_for(gate, section, calendar if gate is GateId.FREEZE else None) for gate in GateId}
