"""The what-if's answer: what a governance change means, and what it would have done. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only types: the renderers import this module without the gates behind it
    from changebot.core.freeze.windows import Window
    from changebot.core.whatif.meaning import Meaning
    from changebot.core.whatif.replay import Consequence


@dataclass(frozen=True)
class WhatIf:
    """Base and head governance side by side.

    ``files`` are the governance files the head changes; ``changes`` the governance diff in meaning;
    ``merges`` how many merges since ``since`` were replayed
    (``open_prs`` how many open pull requests); ``consequences`` what would decide otherwise; ``before`` and
    ``after`` the freeze windows of the coming weeks under each version (the Gantt charts). The what-if never
    changes a verdict.
    """

    base: str
    head: str
    branch: str
    now: datetime
    since: datetime
    files: tuple[str, ...] = ()
    changes: tuple[Meaning, ...] = ()
    merges: int = 0
    open_prs: int = 0
    consequences: tuple[Consequence, ...] = ()
    before: tuple[Window, ...] = ()
    after: tuple[Window, ...] = ()

    @property
    def governance_changed(self) -> bool:
        """True when the head changes, adds or deletes a governance file."""
        return bool(self.files)

    def to_json(self) -> dict[str, Any]:
        """The ``whatif`` object of the JSON contract (``schemas/plan.schema.json``, ``$defs/whatif``)."""
        return {
            "base": self.base,
            "head": self.head,
            "branch": self.branch,
            "now": self.now.isoformat(),
            "since": self.since.isoformat(),
            "files": list(self.files),
            "changes": [c.to_json() for c in self.changes],
            "merges_checked": self.merges,
            "open_prs_checked": self.open_prs,
            "consequences": [c.to_json() for c in self.consequences],
            "windows_before": [w.to_json() for w in self.before],
            "windows_after": [w.to_json() for w in self.after],
        }
