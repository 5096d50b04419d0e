"""Real git repositories in temp dirs, built with the ``git`` command line; where the repository's data is."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "summit"
if not CORPUS.is_dir():  # a git worktree one level deeper (/work/wt/NAME) finds shared/ beside its parent
    CORPUS = REPO_ROOT.parent.parent / "shared" / "corpus" / "summit"
EXAMPLES = REPO_ROOT / "examples"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "2025-09-01T12:00:00Z",
    "GIT_COMMITTER_DATE": "2025-09-01T12:00:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
    "HOME": "/nonexistent",
}


class GitRepo:
    """A real git repository in a temp dir, driven through the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, **GIT_ENV}
        done = subprocess.run(["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True, env=env)
        return done.stdout.strip()

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        """Write (or, for ``None``, delete) files relative to the repository root."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")

    def commit(self, files: Mapping[str, str | bytes | None], message: str = "change") -> str:
        """Write files, stage everything, commit, and return the new commit's SHA."""
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)


def copy_tree(source: Path, target: Path) -> dict[str, bytes]:
    """Every file under ``source`` (skipping ``@<sha>`` history copies) as ``{relative path: bytes}``."""
    out: dict[str, bytes] = {}
    for path in sorted(source.rglob("*")):
        if path.is_file() and "@" not in path.name:
            out[path.relative_to(source).as_posix()] = path.read_bytes()
    for rel, data in out.items():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        (target / rel).write_bytes(data)
    return out
