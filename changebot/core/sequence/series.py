"""Patch-series directories -> ``Series`` values, with the numbering checks. Pure.

A series is the files of one directory ``.orchestrator/patches/<pr>/``, named ``NNNN-*.patch``. Every file in
it is read as a patch whatever its name (``0002-x.PATCH``, ``0002-x``): one that is not a patch is an error,
never skipped, so a patch cannot leave the trial-apply by its name. Files are handed in
as bytes (read by the adapters under the size limits); a listed file without bytes was over the read cap.
Checks here need nothing but the files: numbering gaps and duplicates, and ``[PATCH n/m]`` against the files
present. The ``sequence`` settings section is modelled here too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from changebot.core.sequence.patches import Patch, file_number, parse_patch
from changebot.model import Finding, error, notice, warning

ROOT = ".orchestrator/patches/"


@dataclass(frozen=True)
class SequenceSettings:
    """The ``sequence`` section of ``.maestro/changebot.yaml`` (every key optional; see the schema)."""

    max_patch_bytes: int = 1024 * 1024
    max_inflated_patch_bytes: int = 32 * 1024 * 1024
    max_inflated_series_bytes: int = 128 * 1024 * 1024
    max_patch_files: int = 500
    max_patches_per_series: int = 1000
    max_series: int = 50
    history_depth: int = 1000
    three_way: bool = True
    timeout_seconds: int = 120

    @classmethod
    def from_section(cls, section: Mapping[str, Any]) -> SequenceSettings:
        """Settings from the raw mapping; wrong types fall back to defaults (the schema gate reports them)."""
        base = cls()
        values: dict[str, Any] = {}
        for name in (
            "max_patch_bytes",
            "max_inflated_patch_bytes",
            "max_inflated_series_bytes",
            "max_patch_files",
            "max_patches_per_series",
            "max_series",
            "history_depth",
            "timeout_seconds",
        ):
            value = section.get(name)
            least = 0 if name == "history_depth" else 1
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= least
            values[name] = value if ok else getattr(base, name)
        three_way = section.get("three_way")
        values["three_way"] = three_way if isinstance(three_way, bool) else base.three_way
        return cls(**values)


@dataclass(frozen=True)
class Series:
    """The patches of one directory, in apply order, and what was found reading them."""

    pr: str
    directory: str
    patches: tuple[Patch, ...]
    findings: tuple[Finding, ...] = ()
    refused: bool = False  # the series as a whole is not evaluated (e.g. too many files)


# -- collecting ----------------------------------------------------------------------------------------------


def _series_key(path: str) -> tuple[str, str] | None:
    """``(pr, file name)`` for ``.orchestrator/patches/<pr>/<file>``; ``None`` for anything else."""
    if not path.startswith(ROOT):
        return None
    parts = path[len(ROOT) :].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def series_directories(paths: frozenset[str] | set[str]) -> dict[str, list[str]]:
    """Patch-series directories under ``.orchestrator/patches`` and the files in each, sorted."""
    out: dict[str, list[str]] = {}
    for path in paths:
        key = _series_key(path)
        if key is not None:
            out.setdefault(key[0], []).append(path)
    return {pr: sorted(files) for pr, files in sorted(out.items())}


def _subject_line(raw: bytes) -> int | None:
    found = re.search(rb"^Subject:", raw, re.MULTILINE)
    return raw.count(b"\n", 0, found.start()) + 1 if found else None


def read_series(
    pr: str,
    directory: str,
    files: Sequence[str],
    contents: Mapping[str, bytes],
    settings: SequenceSettings,
    read_limit: str = "the read limit",
    too_large: frozenset[str] | None = None,
) -> Series:
    """Parse the files of one series directory. ``contents`` holds the bytes of the files that were read.

    A listed file missing from ``contents`` was not read: over the reader's size cap (``read_limit`` names it
    for people) when it is in ``too_large`` (``None``: every unread file was too large), otherwise because it
    is not a regular file (a symbolic link, say), which is never followed."""
    findings: list[Finding] = []
    if len(files) > settings.max_patches_per_series:
        findings.append(
            error(
                "series-too-many-files",
                f"the series directory holds {len(files):,} files; the limit is "
                f"{settings.max_patches_per_series:,} (sequence.max_patches_per_series): nothing in it was read",
                directory,
            )
        )
        return Series(pr, directory, (), tuple(findings), refused=True)
    patches: list[Patch] = []
    inflated_total = 0
    for path in files:
        name = path.rsplit("/", 1)[-1]
        if name.startswith("0000-cover-letter"):
            findings.append(notice("patch-cover-letter", "cover letter, not a patch (ignored)", path))
            continue
        raw = contents.get(path)
        if raw is None:
            if too_large is None or path in too_large:
                findings.append(
                    error(
                        "patch-too-large",
                        f"the patch is larger than {read_limit} and was not read: "
                        "it cannot be checked; split it or raise the limit",
                        path,
                    )
                )
            else:
                findings.append(
                    error(
                        "patch-not-a-file",
                        "expected a regular file, found a subdirectory, a symbolic link or other special file: "
                        "not read, not applied",
                        path,
                    )
                )
            patches.append(
                Patch(path, 0, file_number(path), None, None, "", None, None, None, "", (), b"", valid=False)
            )
            continue
        parsed = parse_patch(path, raw, settings.max_patch_bytes)
        findings.extend(parsed.findings)
        patch = parsed.patch
        inflated = sum(c.inflated for c in patch.changes)
        refusal = _inflation_refusal(path, inflated, inflated_total, settings)
        if refusal is not None:
            findings.append(refusal)
            patch = replace(patch, valid=False)
        else:
            inflated_total += inflated
        patches.append(patch)
    patches.sort(key=lambda p: (p.number is None, p.number or 0, p.name))
    findings.extend(numbering_findings(patches))
    return Series(pr, directory, tuple(patches), tuple(findings))


def _inflation_refusal(path: str, inflated: int, before: int, settings: SequenceSettings) -> Finding | None:
    """Why a patch whose binary data inflates to ``inflated`` bytes is not applied (``before``: the series'
    patches so far, in file order), or ``None``. git would allocate these sizes; nothing is inflated here."""
    if inflated > settings.max_inflated_patch_bytes:
        return error(
            "patch-inflates-too-much",
            f"the binary data in this patch inflates to {inflated:,} bytes; the limit is "
            f"{settings.max_inflated_patch_bytes:,} bytes (sequence.max_inflated_patch_bytes): it is not applied",
            path,
        )
    if before + inflated > settings.max_inflated_series_bytes:
        return error(
            "series-inflates-too-much",
            f"with this patch the series' binary data inflates to {before + inflated:,} bytes; the limit is "
            f"{settings.max_inflated_series_bytes:,} bytes (sequence.max_inflated_series_bytes): it is not applied",
            path,
        )
    return None


def numbering_findings(patches: Sequence[Patch]) -> list[Finding]:
    """Gaps and duplicates in file numbering, and ``[PATCH n/m]`` that disagrees with the files present."""
    findings: list[Finding] = []
    seen: dict[int, str] = {}
    for patch in patches:
        if patch.number is None:
            findings.append(
                warning(
                    "patch-unnumbered",
                    f"expected a name like 0001-subject.patch, found "
                    f"{patch.name!r}; applied after the numbered patches",
                    patch.path,
                )
            )
            continue
        if patch.number in seen:
            findings.append(
                error(
                    "patch-number-duplicate",
                    f"number {patch.number:04d} is used by both {seen[patch.number]} and {patch.name}",
                    patch.path,
                )
            )
        seen.setdefault(patch.number, patch.name)
    if seen:
        missing = [n for n in range(1, max(seen) + 1) if n not in seen]
        if missing:
            shown = ", ".join(f"{n:04d}" for n in missing[:10]) + (" ..." if len(missing) > 10 else "")
            first_after = next(p for p in patches if p.number is not None and p.number > missing[0])
            findings.append(
                error(
                    "patch-number-gap",
                    f"the series numbers 1 to {max(seen)} but {len(missing)} patch(es) are missing: {shown}",
                    first_after.path,
                )
            )
    present = len(patches)
    reported: set[int] = set()
    for patch in patches:
        line = _subject_line(patch.raw)
        if patch.total is not None and patch.total != present and patch.total not in reported:
            reported.add(patch.total)  # once per wrong total, on the first patch that says it
            same = sum(1 for p in patches if p.total == patch.total)
            findings.append(
                error(
                    "patch-count-mismatch",
                    f"the subject says [PATCH {patch.index}/{patch.total}] but the directory holds {present} "
                    f"patch(es)" + (f" ({same} patches say /{patch.total})" if same > 1 else ""),
                    patch.path,
                    line,
                )
            )
        if patch.index is not None and patch.number is not None and patch.index != patch.number:
            findings.append(
                warning(
                    "patch-number-mismatch",
                    f"the file is numbered {patch.number:04d} but its subject says [PATCH {patch.index}/{patch.total}]",
                    patch.path,
                    line,
                )
            )
    return findings


def touched_paths(
    files: Mapping[str, bytes], max_patch_bytes: int = SequenceSettings.max_patch_bytes
) -> frozenset[str]:
    """Every repository path the series in ``files`` read from the base (pre-images of modified, renamed,
    copied and deleted files). A partial clone must hold these blobs at the base for the trial-apply."""
    out: set[str] = set()
    for path, raw in files.items():
        if path.startswith(ROOT) and path.count("/") == 3:
            for change in parse_patch(path, raw, max_patch_bytes).patch.changes:
                if change.old_path is not None:
                    out.add(change.old_path)
    return frozenset(out)
