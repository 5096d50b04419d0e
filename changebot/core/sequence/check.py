"""Patch series -> checks, dependency graph, and the outcome of trial-applying each patch. Pure.

A series is the ``NNNN-*.patch`` files of one directory ``.orchestrator/patches/<pr>/``. This module

1. takes series read by ``changebot.core.sequence.series`` (which also checks numbering and ``[PATCH n/m]``);
2. checks the series: unsafe paths
   (absolute, ``..``, ``.git``, through or to a symlink that leaves the repository), oversized patches,
   duplicate content (git's stable patch-id) and exact reverts;
3. builds the dependency graph (a patch depends on the nearest earlier patch touching each of its paths; both
   names of a rename count) and its connected components, the groups that could land independently;
4. walks the series in order against an ``Applier`` (the git adapter, ``changebot.adapters.git.apply``), which is
   the only thing that touches git: per patch ``applies`` / ``in-base`` / ``already-applied`` /
   ``conflicts`` / ``blocked`` (an earlier patch it depends on failed) / ``empty`` / ``invalid`` / ``refused``.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from changebot.core.sequence.patches import Patch
from changebot.core.sequence.series import ROOT, SequenceSettings, Series, read_series, series_directories
from changebot.model import Finding, error, notice, warning

__all__ = [
    "ROOT",
    "Applier",
    "Attempt",
    "Conflict",
    "PatchResult",
    "SequenceSettings",
    "Series",
    "SeriesResult",
    "read_series",
    "sequence_series",
    "series_directories",
]

SYMLINK = "120000"
#: Statuses after which the series cannot land as written.
FAILED = frozenset({"conflicts", "blocked", "invalid", "refused"})


@dataclass(frozen=True)
class Conflict:
    """Why git would not apply a patch: the file, the hunk's old start line as git reports it, a message."""

    file: str | None
    line: int | None
    message: str
    hunk: int | None = None
    patch_line: int | None = None


@dataclass(frozen=True)
class Attempt:
    """The result of one ``git apply``. ``paths`` is git's own list of what it touched (when it says)."""

    ok: bool
    conflicts: tuple[Conflict, ...] = ()
    three_way: bool = False
    paths: tuple[str, ...] | None = None


class Applier(Protocol):
    """What the sequencer needs from git; ``changebot.adapters.git.apply.TrialIndex`` implements it."""

    def apply(self, raw: bytes) -> Attempt: ...  # pragma: no cover - protocol
    def apply_many(self, raws: list[bytes]) -> Attempt: ...  # pragma: no cover - protocol
    def apply_three_way(self, raw: bytes) -> Attempt: ...  # pragma: no cover - protocol
    def reverse_applies(self, raw: bytes, on_base: bool) -> bool: ...  # pragma: no cover - protocol
    def patch_ids(self, diffs: list[bytes]) -> list[str | None]: ...  # pragma: no cover - protocol
    def base_patch_ids(self, paths: list[str], depth: int) -> dict[str, str]: ...  # pragma: no cover
    def base_symlinks(self) -> frozenset[str]: ...  # pragma: no cover - protocol


@dataclass(frozen=True)
class PatchResult:
    """What happened to one patch."""

    patch: Patch
    status: str
    depends_on: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    three_way: bool = False
    patch_id: str | None = None
    duplicate_of: str | None = None
    reverts: str | None = None
    base_commit: str | None = None


@dataclass(frozen=True)
class SeriesResult:
    """A sequenced series: per-patch results in order, landing order, independent groups, findings."""

    series: Series
    results: tuple[PatchResult, ...]
    order: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def applies(self) -> bool:
        """True when every patch applies or is redundant (already in base, already applied, empty)."""
        return not self.series.refused and not any(r.status in FAILED for r in self.results)


# -- pure checks ---------------------------------------------------------------------------------------------


def unsafe_reason(path: str) -> str | None:
    """Why a path in a patch may not be applied, or ``None`` when it is a plain repository path."""
    if path.startswith("/") or re.match(r"^[A-Za-z]:[/\\]", path):
        return "is absolute"
    parts = path.replace("\\", "/").split("/")
    if ".." in parts:
        return "leaves the repository ('..')"
    if any(part.lower().rstrip(". ") == ".git" for part in parts):
        return "writes inside .git"
    if "" in parts or "." in parts:
        return "is not a normalised path"
    return None


def _symlink_escapes(link: str, target: str) -> bool:
    if target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link), target))
    return joined == ".." or joined.startswith("../")


def path_findings(patch: Patch, symlinks: set[str]) -> list[Finding]:
    """Unsafe paths in one patch; ``symlinks`` (paths that are links so far) is updated as links are added."""
    findings: list[Finding] = []
    for change in patch.changes:
        for path in change.paths:
            reason = unsafe_reason(path)
            if reason:
                findings.append(error("unsafe-path", f"{path!r} {reason}: refused", patch.path, change.line))
                continue
            parents = ["/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)]
            through = next((p for p in parents if p in symlinks), None)
            if through:
                findings.append(
                    error(
                        "unsafe-path",
                        f"{path!r} is inside {through!r}, a symbolic link: refused",
                        patch.path,
                        change.line,
                    )
                )
        if change.new_mode == SYMLINK and change.new_path:
            target = change.hunks[-1].added[0].rstrip("\n") if change.hunks and change.hunks[-1].added else ""
            if _symlink_escapes(change.new_path, target):
                findings.append(
                    error(
                        "unsafe-symlink",
                        f"{change.new_path!r} becomes a symbolic link to {target!r}, outside the repository: refused",
                        patch.path,
                        change.line,
                    )
                )
            symlinks.add(change.new_path)
        elif change.new_path in symlinks and change.new_mode != SYMLINK:
            symlinks.discard(change.new_path)
        if change.kind in ("delete", "rename") and change.old_path:
            symlinks.discard(change.old_path)
    return findings


def size_findings(patch: Patch, settings: SequenceSettings) -> list[Finding]:
    """A patch that touches more files than the settings allow."""
    if len(patch.changes) > settings.max_patch_files:
        return [
            warning(
                "patch-too-many-files",
                f"the patch changes {len(patch.changes)} files; the limit is "
                f"{settings.max_patch_files} (sequence.max_patch_files)",
                patch.path,
            )
        ]
    return []


def dependencies(patches: Sequence[Patch]) -> list[tuple[str, ...]]:
    """For each patch, the nearest earlier patch touching each of its paths (file names, in series order)."""
    last: dict[str, int] = {}
    out: list[tuple[str, ...]] = []
    for i, patch in enumerate(patches):
        deps = sorted({last[p] for p in patch.paths if p in last})
        out.append(tuple(patches[d].name for d in deps))
        for path in patch.paths:
            last[path] = i
    return out


def groups(patches: Sequence[Patch], depends_on: Sequence[Sequence[str]]) -> tuple[tuple[str, ...], ...]:
    """Connected components of the dependency graph: sets of patches that could land independently."""
    parent = {p.name: p.name for p in patches}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for patch, deps in zip(patches, depends_on, strict=True):
        for dep in deps:
            parent[find(patch.name)] = find(dep)
    components: dict[str, list[str]] = {}
    for patch in patches:
        components.setdefault(find(patch.name), []).append(patch.name)
    return tuple(tuple(names) for names in components.values())


def _locate(patch: Patch, conflict: Conflict) -> Conflict:
    """Attach the hunk number and the patch-file line to a conflict git reported by file and old line."""
    for change in patch.changes:
        if conflict.file not in change.paths:
            continue
        for number, hunk in enumerate(change.hunks, start=1):
            if conflict.line is not None and hunk.old_start == conflict.line:
                return Conflict(conflict.file, conflict.line, conflict.message, number, hunk.line)
        return Conflict(conflict.file, conflict.line, conflict.message, None, change.line)
    return conflict


# -- the walk ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    """A patch after the checks that need no applying: its result so far, and whether it may be applied."""

    common: PatchResult
    unsafe: bool


def _check(
    patches: Sequence[Patch],
    deps: Sequence[tuple[str, ...]],
    ids: Sequence[str | None],
    symlinks: set[str],
    settings: SequenceSettings,
) -> tuple[list[_Checked], list[Finding]]:
    """Unsafe paths, size, duplicate content (patch-id) and exact reverts, for every patch in order."""
    checked: list[_Checked] = []
    findings: list[Finding] = []
    first_id: dict[str, str] = {}
    signatures: dict[tuple[object, ...], str] = {}
    for patch, depends_on, patch_id in zip(patches, deps, ids, strict=True):
        unsafe = path_findings(patch, symlinks)
        findings.extend(unsafe)
        findings.extend(size_findings(patch, settings))
        duplicate_of = first_id.get(patch_id) if patch_id else None
        if patch_id and duplicate_of is None:
            first_id[patch_id] = patch.name
        if duplicate_of:
            findings.append(
                warning(
                    "patch-duplicate",
                    f"same content as {duplicate_of} (git patch-id "
                    f"{(patch_id or '')[:12]}): one of them is probably redundant",
                    patch.path,
                )
            )
        reverts = signatures.get(patch.reverse_signature()) if patch.changes else None
        if reverts:
            findings.append(
                warning("patch-reverts", f"exactly undoes {reverts}: together they change nothing", patch.path)
            )
        if patch.changes:
            signatures.setdefault(patch.signature(), patch.name)
        common = PatchResult(patch, "", depends_on, patch_id=patch_id, duplicate_of=duplicate_of, reverts=reverts)
        checked.append(_Checked(common, bool(unsafe)))
    return checked, findings


def _chunk_breaks(patch: Patch, touched: dict[str, bool]) -> bool:
    """True when ``patch`` must not share one ``git apply`` call with the patches in ``touched``.

    git applies several patches in one call as a series, but not through a rename, copy, addition,
    deletion or mode change made earlier in the same call; ``touched`` maps each path of the chunk so far to
    whether such a change touched it.
    """
    for change in patch.changes:
        plain = change.kind == "modify" and not change.binary and change.old_mode == change.new_mode
        for path in change.paths:
            if path in touched and (touched[path] or not plain):
                return True
    return False


class _Walk:
    """Trial-applies checked patches in order: in chunks of one git call where that is safe, else one by one."""

    def __init__(self, checked: list[_Checked], applier: Applier, settings: SequenceSettings) -> None:
        self.checked = checked
        self.applier = applier
        self.settings = settings
        self.results: list[PatchResult] = []
        self.findings: list[Finding] = []
        self.status_of: dict[str, str] = {}
        self.unreadable: str | None = None
        self._base_ids: dict[str, str] | None = None

    def base_ids(self) -> Mapping[str, str]:
        """Patch-ids in base history, asked of git only when a patch fails to apply."""
        if self._base_ids is None:
            paths = sorted({p for c in self.checked for p in c.common.patch.paths if unsafe_reason(p) is None})
            self._base_ids = self.applier.base_patch_ids(paths, self.settings.history_depth)
        return self._base_ids

    def settled(self, item: _Checked) -> PatchResult | None:
        """The result of a patch that is not to be applied (invalid, refused, blocked, empty), else ``None``."""
        patch, common = item.common.patch, item.common
        blocker = self.unreadable or next((d for d in common.depends_on if self.status_of.get(d) in FAILED), None)
        if not patch.valid:
            return replace(common, status="invalid")
        if item.unsafe:
            return replace(common, status="refused")
        if blocker:
            return replace(common, status="blocked")
        if patch.empty:
            return replace(common, status="empty")
        return None

    def record(self, result: PatchResult, found: Sequence[Finding] = ()) -> None:
        patch = result.patch
        self.findings.extend(found)
        if result.status == "invalid":
            self.unreadable = self.unreadable or patch.name
        elif result.status == "blocked":
            blocker = self.unreadable or next(d for d in result.depends_on if self.status_of.get(d) in FAILED)
            self.findings.append(
                warning("patch-blocked", f"not tried: it depends on {blocker}, which does not apply", patch.path)
            )
        elif result.status == "empty":
            self.findings.append(
                notice("patch-empty", "the patch changes no file (an empty commit): nothing to apply", patch.path)
            )
        self.status_of[patch.name] = result.status
        self.results.append(result)

    def chunk(self, start: int) -> list[int]:
        """Indexes from ``start`` that can go to git in one call (empty patches ride along)."""
        members: list[int] = []
        touched: dict[str, bool] = {}
        for index in range(start, len(self.checked)):
            item = self.checked[index]
            settled = self.settled(item)
            if settled is not None and settled.status != "empty":
                break
            if settled is None:
                patch = item.common.patch
                if _chunk_breaks(patch, touched):
                    break
                for change in patch.changes:
                    heavy = change.kind != "modify" or change.binary or change.old_mode != change.new_mode
                    for path in change.paths:
                        touched[path] = touched.get(path, False) or heavy
            members.append(index)
        return members

    def run(self) -> None:
        index = 0
        while index < len(self.checked):
            settled = self.settled(self.checked[index])
            if settled is not None:
                self.record(settled)
                index += 1
                continue
            members = self.chunk(index)
            if len(members) > 1 and self._apply_chunk(members):
                index = members[-1] + 1
                continue
            for member in members or [index]:
                item = self.checked[member]
                settled = self.settled(item)
                if settled is not None:
                    self.record(settled)
                else:
                    self.record(*_try(item.common.patch, self.applier, self.settings, self.base_ids, item.common))
            index = (members or [index])[-1] + 1

    def _apply_chunk(self, members: list[int]) -> bool:
        items = [self.checked[m] for m in members]
        applying = [i for i in items if not i.common.patch.empty]
        attempt = self.applier.apply_many([i.common.patch.raw for i in applying])
        ours = {c.path for i in applying for c in i.common.patch.changes}
        if not attempt.ok or (attempt.paths is not None and set(attempt.paths) != ours):
            return False  # nothing changed (git apply is atomic): go one by one
        for item in items:
            status = "empty" if item.common.patch.empty else "applies"
            self.record(replace(item.common, status=status))
        return True


def sequence_series(series: Series, applier: Applier, settings: SequenceSettings) -> SeriesResult:
    """Check and trial-apply one series, in order, through ``applier``."""
    if series.refused:
        return SeriesResult(series, (), (), (), series.findings)
    patches = series.patches
    deps = dependencies(patches)
    ids = applier.patch_ids([p.raw if p.valid else b"" for p in patches])
    checked, found = _check(patches, deps, ids, set(applier.base_symlinks()), settings)
    walk = _Walk(checked, applier, settings)
    walk.run()
    findings = [*series.findings, *found, *walk.findings]
    order = tuple(r.patch.name for r in walk.results if r.status == "applies")
    return SeriesResult(series, tuple(walk.results), order, groups(patches, deps), tuple(findings))


def _try(
    patch: Patch,
    applier: Applier,
    settings: SequenceSettings,
    base_ids: Callable[[], Mapping[str, str]],
    common: PatchResult,
) -> tuple[PatchResult, list[Finding]]:
    attempt = applier.apply(patch.raw)
    if attempt.ok:
        ours = {c.path for c in patch.changes}
        if attempt.paths is not None and set(attempt.paths) != ours:
            return replace(common, status="invalid"), [
                error(
                    "patch-parse-mismatch",
                    f"git reads this patch as changing {sorted(attempt.paths)}, "
                    f"changebot as {sorted(ours)}: refusing to guess",
                    patch.path,
                )
            ]
        return replace(common, status="applies"), []
    if applier.reverse_applies(patch.raw, on_base=True):
        return replace(common, status="in-base"), [
            warning(
                "patch-in-base",
                "already in the base branch (it applies in reverse there): drop it from the series",
                patch.path,
            )
        ]
    patch_id = common.patch_id
    if patch_id and patch_id in base_ids():
        commit = base_ids()[patch_id]
        return replace(common, status="in-base", base_commit=commit), [
            warning(
                "patch-in-base",
                f"already in the base branch as commit {commit[:12]} (same git patch-id): drop it from the series",
                patch.path,
            )
        ]
    if applier.reverse_applies(patch.raw, on_base=False):
        return replace(common, status="already-applied"), [
            warning(
                "patch-already-applied",
                "an earlier patch of the series already made this change (it applies in "
                "reverse after them): drop it, or git am will stop here",
                patch.path,
            )
        ]
    conflicts = tuple(_locate(patch, c) for c in attempt.conflicts)
    if settings.three_way:
        merged = applier.apply_three_way(patch.raw)
        if merged.ok:
            return replace(common, status="applies", three_way=True), [
                notice("patch-three-way", "applies only with a 3-way merge (its context has moved)", patch.path)
            ]
    findings = [
        error("patch-conflicts", _conflict_message(c), patch.path, c.patch_line)
        for c in conflicts or (Conflict(None, None, "git apply refused the patch"),)
    ]
    return replace(common, status="conflicts", conflicts=conflicts), findings


def _conflict_message(conflict: Conflict) -> str:
    where = conflict.file or "the patch"
    if conflict.hunk is not None:
        where += f" hunk #{conflict.hunk} (at line {conflict.line})"
    elif conflict.line is not None:
        where += f" at line {conflict.line}"
    return f"does not apply to the base: {where}: {conflict.message}"
