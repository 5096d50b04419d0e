"""Stored overrides (break-glass): which of them apply to a gate at an instant.

They are stored in the sticky PR comment; its format (and how they are encoded there) is ``core.sticky``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from changebot.model import GateId, Override


def in_force(overrides: Iterable[Override], gate: GateId, now: datetime, head_sha: str | None) -> list[Override]:
    """The overrides of ``gate`` that apply at ``now`` to ``head_sha``."""
    return [o for o in overrides if o.gate is gate and o.in_force(now, head_sha)]
