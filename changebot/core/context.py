"""One immutable view of a pull request that every gate evaluates against.

``Context`` pairs the two sides of the change (``base`` for governance, ``head`` for proposals, per
CONTRIBUTING.md, "Trust") with the pull-request facts, the settings read from base, and ``now``. Files are parsed on
first use and memoised, so each file is loaded at most once per side however many gates read it, and once in
all when both sides hold the same bytes (the working tree is both sides; most governance files are unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from changebot.core.documents import layout
from changebot.core.documents.load import Loaded, load_any
from changebot.core.settings import DEFAULT_SETTINGS, Settings
from changebot.model import PullRequest, RepoFiles

Side = Literal["base", "head"]


@dataclass(frozen=True)
class Context:
    """Everything a gate may look at. Build it with ``make_context``."""

    base: RepoFiles
    head: RepoFiles
    pr: PullRequest
    now: datetime
    settings: Settings = DEFAULT_SETTINGS
    repo: str = "."
    _cache: dict[tuple[Side, str], Loaded] = field(default_factory=dict, compare=False, repr=False)

    def files(self, side: Side) -> RepoFiles:
        """The files of one side."""
        return self.base if side == "base" else self.head

    def load(self, side: Side, path: str) -> Loaded | None:
        """The parsed file at ``path`` on ``side``, or ``None`` when that side does not have it. A base file
        that was listed but not read (over a size limit) loads as no document with the finding saying why."""
        key = (side, path)
        if key not in self._cache:
            raw = self.files(side).files.get(path)
            if raw is None:
                # A governance file the base has but that was not read (too large) fails closed, never "absent".
                unread = tuple(f for f in self.base.findings if f.path == path) if side == "base" else ()
                if not unread:
                    return None
                self._cache[key] = Loaded(None, unread)
                return self._cache[key]
            other: Side = "head" if side == "base" else "base"
            twin = self._cache.get((other, path))
            if twin is not None and self.files(other).files.get(path) == raw:
                self._cache[key] = twin  # the same bytes parse to the same result: share it
            else:
                self._cache[key] = load_any(path, raw, self.settings.limits)
        return self._cache[key]

    def governance(self, path: str) -> Loaded | None:
        """A governance file as the base branch has it."""
        return self.load("base", path)

    def proposal(self, path: str) -> Loaded | None:
        """A proposal file as the head has it."""
        return self.load("head", path)

    def mapping(self, side: Side, path: str) -> Mapping[str, Any] | None:
        """The data of the file at ``path`` on ``side`` when it parsed to a mapping, else ``None``."""
        loaded = self.load(side, path)
        if loaded is None or loaded.document is None or not isinstance(loaded.document.data, Mapping):
            return None
        return loaded.document.data

    def paths(self, side: Side, pattern: str) -> list[str]:
        """Paths read on ``side`` that match ``pattern``, sorted."""
        return sorted(p for p in self.files(side).files if layout.matches(p, (pattern,)))

    def changed_paths(self) -> frozenset[str]:
        """Every path the pull request touches (both names of a rename)."""
        out: set[str] = set()
        for changed in self.pr.files:
            out.add(changed.path)
            if changed.old_path:
                out.add(changed.old_path)
        return frozenset(out)


def make_context(
    base: RepoFiles, head: RepoFiles, pr: PullRequest, now: datetime, settings: Settings, repo: str = "."
) -> Context:
    """Assemble a ``Context``; ``now`` must be timezone-aware."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return Context(base=base, head=head, pr=pr, now=now, settings=settings, repo=repo)
