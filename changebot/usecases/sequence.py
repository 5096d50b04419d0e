"""Use case: find the patch series a pull request proposes, trial-apply them, decide the ``sequence`` gate.

Wires the git adapter (``changebot.adapters.git.apply``) to the pure core (``changebot.core.sequence.check``,
``changebot.core.sequence.gate``). Series are read from the head (``.orchestrator/patches/<pr>/``, through the
``RepoFiles`` the context already holds, so under ``limits.max_file_bytes``) or from ``--series DIR``; they
are applied against the base commit, or against ``HEAD`` when the working tree is both sides. A plain
directory (no git) cannot be trial-applied: the gate is ``skipped`` and says so.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from changebot.core.sequence.detail import SequenceDetail
from changebot.errors import RepositoryError
from changebot.model import Finding, GateId, GateResult, Status, error, warning

if TYPE_CHECKING:
    from changebot.core.context import Context
    from changebot.core.sequence.series import SequenceSettings, Series

#: Where series live (``changebot.core.sequence.series.ROOT``), repeated here so that a repository without any series
#: costs no import of the parsing modules.
ROOT = ".orchestrator/patches/"


def settings_of(ctx: Context) -> SequenceSettings:
    """The ``sequence`` settings section (from base)."""
    from changebot.core.sequence.series import SequenceSettings  # noqa: PLC0415 - lazy, see ROOT

    return SequenceSettings.from_section(ctx.settings.section("sequence"))


def series_in_head(ctx: Context, settings: SequenceSettings) -> tuple[list[Series], list[Finding]]:
    """Every series directory under ``.orchestrator/patches`` on the head side, parsed."""
    from changebot.core.sequence.series import read_series, series_directories  # noqa: PLC0415 - lazy, see ROOT

    directories = series_directories(ctx.head.paths)
    extra: list[Finding] = []
    stray = sorted(p for p in ctx.head.paths if p.startswith(ROOT) and p.count("/") == 2)
    extra.extend(
        warning(
            "patch-misplaced",
            "expected .orchestrator/patches/<pr>/NNNN-subject.patch; this file is not in a series directory (ignored)",
            p,
        )
        for p in stray[:20]
    )
    nested = sorted(p for p in ctx.head.paths if p.startswith(ROOT) and p.count("/") > 3)
    extra.extend(
        error(
            "patch-misplaced",
            "a file in a subdirectory of a series directory is neither read nor applied: a series is the files "
            "directly in .orchestrator/patches/<pr>/; move it there or out of .orchestrator/patches",
            p,
        )
        for p in nested[:20]
    )
    if len(nested) > 20:
        extra.append(error("patch-misplaced", f"{len(nested) - 20} more file(s) in subdirectories", nested[20]))
    if len(directories) > settings.max_series:
        extra.append(
            error(
                "too-many-series",
                f"{len(directories)} series directories; the limit is "
                f"{settings.max_series} (sequence.max_series): only the first {settings.max_series} "
                "were evaluated",
                ROOT.rstrip("/"),
            )
        )
    limit = f"{ctx.settings.limits.max_file_bytes:,} bytes (limits.max_file_bytes)"
    too_large = frozenset(f.path for f in ctx.head.findings if f.path and f.code == "file-too-large")
    series = [
        read_series(pr, f"{ROOT}{pr}", files, ctx.head.files, settings, limit, too_large)
        for pr, files in list(directories.items())[: settings.max_series]
    ]
    return series, extra


def series_from_dir(directory: Path, root: Path, settings: SequenceSettings) -> Series:
    """One series read from a directory on disk (``--series DIR``); named relative to the repository if inside."""
    from changebot.adapters.git.patchdir import read_series_dir  # noqa: PLC0415 - lazy, see ROOT
    from changebot.core.sequence.series import read_series  # noqa: PLC0415

    resolved = directory.resolve()
    try:
        prefix = PurePosixPath(resolved.relative_to(root.resolve()).as_posix()).as_posix()
    except ValueError:
        prefix = resolved.as_posix()
    files = read_series_dir(resolved, prefix, settings.max_patches_per_series, settings.max_patch_bytes)
    limit = f"{settings.max_patch_bytes:,} bytes (sequence.max_patch_bytes)"
    return read_series(resolved.name, prefix, files.names, files.contents, settings, limit, files.too_large)


def base_commit(ctx: Context) -> str | None:
    """The commit to apply against: the base side's, or ``HEAD`` of the working tree's repository."""
    if ctx.base.commit is not None:
        return ctx.base.commit
    from changebot.adapters.git import reader as gitio  # noqa: PLC0415 - lazy: git is started only when a series exists
    from changebot.adapters.git.apply import resolve_commit  # noqa: PLC0415 - lazy: git is started only when a series exists

    root = Path(ctx.repo)
    if not gitio.is_repo(root):
        return None
    try:
        return resolve_commit(root, "HEAD")
    except RepositoryError:
        return None


def sequence_result(ctx: Context, series_dir: Path | None = None) -> GateResult:
    """The ``sequence`` gate for this context (optionally for one series directory on disk)."""
    if series_dir is None and not any(p.startswith(ROOT) for p in ctx.head.paths):
        reason = "no patch series under .orchestrator/patches/<pr>/"
        return GateResult(GateId.SEQUENCE, Status.SKIPPED, reason, (), SequenceDetail())
    from changebot.core.sequence.check import SeriesResult, sequence_series  # noqa: PLC0415 - lazy, see ROOT
    from changebot.core.sequence.gate import STATE_FILE, no_series, sequence_gate  # noqa: PLC0415

    settings = settings_of(ctx)
    if series_dir is not None:
        series, extra = [series_from_dir(series_dir, Path(ctx.repo), settings)], list[Finding]()
    else:
        series, extra = series_in_head(ctx, settings)
    if not series:
        return no_series("no patch series under .orchestrator/patches/<pr>/")
    base = base_commit(ctx)
    if base is None:
        return no_series(
            f"{ctx.repo} is not a git repository with a commit: patch series cannot be "
            "trial-applied (give --repo a git repository, or --base/--head)"
        )
    from changebot.adapters.git.apply import TrialIndex  # noqa: PLC0415 - lazy: git is started only when a series exists

    results = []
    for one in series:
        try:
            with TrialIndex(Path(ctx.repo), base, float(settings.timeout_seconds)) as trial:
                results.append(sequence_series(one, trial, settings))
        except RepositoryError as exc:  # fail closed: a series git could not evaluate is a failure, not a pass
            found = error("sequence-git-failed", f"git could not trial-apply this series: {exc}", one.directory)
            results.append(SeriesResult(replace(one, refused=True), (), (), (), (*one.findings, found)))
    return sequence_gate(results, ctx.proposal(STATE_FILE), extra)
