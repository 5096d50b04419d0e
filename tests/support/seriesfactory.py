"""Real patch series for tests, made by ``git format-patch`` from real commits.

``summit_series`` reproduces the shape of the production series described in FORMATS.md: a duplicate pair
(0004 and 0010, same subject and content), an exact revert ("restore original workflow content"), an edited
file that is then renamed and edited again, a ``--binary`` patch with a mode change and a deletion, C-quoted
non-ASCII paths, a path with spaces, ``\\ No newline at end of file``, a folded subject, MIME headers, and an
empty commit (written with its mail header, as newer git does).
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.support.repos import GitRepo

WORKFLOW = "name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make test\n"
BASE_FILES: dict[str, str | bytes | None] = {
    ".github/workflows/ci.yml": WORKFLOW,
    "src/app.py": "".join(f"line {i}\n" for i in range(1, 41)),
    "src/util.py": "def util():\n    return 1\n",
    "scripts/tool.sh": "#!/bin/sh\necho tool\n",
    "data/old.txt": "obsolete\n",
    "README.md": "# project\n",
}
LONG_SUBJECT = "feat(deploy): add deployment gating and validation system with a subject long enough to be folded"


def tarball(size: int = 42_000, seed: int = 7) -> bytes:
    """Incompressible bytes standing in for the 42 KB tarball of the real series."""
    return random.Random(seed).randbytes(size)  # noqa: S311 - test data, not a secret


def build_commits(repo: GitRepo) -> None:
    """The series' commits, on the current branch."""
    app = BASE_FILES["src/app.py"]
    assert isinstance(app, str)
    repo.commit({"src/app.py": app.replace("line 3\n", "line three\n")}, "fix: spell out line three")
    repo.commit({"docs/my guide.md": "first\nsecond"}, "docs: add my guide")
    repo.commit({"docs/café.md": "crème brûlée\n"}, "docs: add café notes — naïve résumé")
    repo.commit({".github/workflows/ci.yml": WORKFLOW.replace("make test", "make test-all")}, "ci: tweak workflow")
    repo.commit({".github/workflows/ci.yml": WORKFLOW}, "ci: restore original workflow content")
    repo.commit({"src/util.py": "def util():\n    return 2\n"}, "fix: util returns 2")
    repo.git("mv", "src/util.py", "src/helpers.py")
    repo.commit({}, "refactor: rename util to helpers")
    repo.commit({"src/helpers.py": "def util():\n    return 3\n"}, "fix: helpers return 3")
    repo.write({"assets/bundle.tar.gz": tarball(), "data/old.txt": None})
    (repo.path / "scripts/tool.sh").chmod(0o755)
    repo.commit({f"pkg/mod{i}.py": f"VALUE = {i}\n" for i in range(8)}, LONG_SUBJECT)
    repo.commit({".github/workflows/ci.yml": WORKFLOW.replace("make test", "make test-all")}, "ci: tweak workflow")
    repo.commit({}, "chore: ci retrigger")


def format_patch(repo: GitRepo, base: str, head: str, out: Path) -> list[Path]:
    """``git format-patch --binary`` of ``base..head`` into ``out``; empty commits get their mail header."""
    repo.git("format-patch", "-q", "--binary", "-o", str(out), f"{base}..{head}")
    files = sorted(out.glob("*.patch"))
    commits = repo.git("rev-list", "--reverse", f"{base}..{head}").split()
    for number, (path, commit) in enumerate(zip(files, commits, strict=True), start=1):
        if path.stat().st_size == 0:  # git < 2.41 writes an empty commit as an empty file
            mail = repo.git("log", "-1", "--pretty=email", commit) + "\n"
            path.write_text(mail.replace("[PATCH]", f"[PATCH {number}/{len(files)}]"), encoding="utf-8")
    return files


def summit_series(repo: GitRepo, out: Path) -> list[Path]:
    """Build the summit-shaped series on branch ``feature`` from ``main`` and format it into ``out``."""
    repo.branch("feature", "main")
    build_commits(repo)
    files = format_patch(repo, "main", "feature", out)
    repo.checkout("main")
    return files


def publish(repo: GitRepo, files: list[Path], pr: str = "10179", branch: str = "head") -> str:
    """Commit the patch files under ``.orchestrator/patches/<pr>/`` on a new branch from main."""
    repo.branch(branch, "main")
    sha = repo.commit({f".orchestrator/patches/{pr}/{p.name}": p.read_bytes() for p in files}, f"series for {pr}")
    repo.checkout("main")
    return sha
