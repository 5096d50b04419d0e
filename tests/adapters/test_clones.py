"""Bare, blobless clones of a local "GitHub" repository, read by the service afterwards with no network."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from changebot.adapters.git import clones
from changebot.adapters.git.clones import CloneAuthError, CloneCache, git_hosts
from changebot.errors import RepositoryError
from changebot.model import PullRequest
from changebot.usecases import plan as planning
from tests.support.git_http_server import git_http
from tests.support.repos import GitRepo

NOW = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
TOKEN = "ghs_secretsecretsecret"


def serve_repo(repo: GitRepo) -> str:
    """Let the repository answer partial-clone requests like GitHub does; return its file:// URL."""
    repo.git("config", "uploadpack.allowFilter", "true")
    repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
    return f"file://{repo.path}"


def git(path: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(path), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def upstream(make_repo: Callable[..., GitRepo]) -> tuple[GitRepo, str, str]:
    repo = make_repo(
        {
            ".maestro/changebot.yaml": "version: 1\n",
            "release-policy.yml": "override: {allowed: true, reason_min_len: 20}\n",
            "src/big.bin": b"\0" * 200_000,
            "docs/guide.md": "# guide\n" * 100,
        }
    )
    base = repo.git("rev-parse", "HEAD")
    repo.branch("feature")
    head = repo.commit(
        {
            ".maestro/changes/20251220-fix.yaml": "area: payments\nintent: fix\n",
            "docs/guide.md": None,
            "docs/moved.md": "# guide\n" * 100,
        },
        "a change",
    )
    repo.checkout("main")
    return repo, base, head


def test_clone_fetches_the_pull_request_and_the_service_reads_it_offline(
    upstream: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, base, head = upstream
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    path = cache.prepare("octo/app", serve_repo(repo), TOKEN, base, head, 7)
    assert path == tmp_path / "cache" / "octo__app.git"
    assert git(path, "rev-parse", "--is-bare-repository").strip() == "true"
    assert git(path, "config", "remote.origin.partialclonefilter").strip() == "blob:none"
    # The big binary nobody reads was never fetched; the governed files were.
    objects = git(path, "cat-file", "--batch-all-objects", "--batch-check=%(objecttype) %(objectsize)")
    assert "blob 200000" not in objects
    # The token is nowhere on disk.
    config = (path / "config").read_text()
    assert TOKEN not in config
    assert git(path, "remote", "get-url", "origin").strip() == serve_repo(repo)
    # Offline: the upstream is gone, so any object the service still needed would fail the read.
    repo.path.rename(repo.path.with_name("gone"))
    co = planning.checkout(path, base, head)
    assert co.head.files[".maestro/changes/20251220-fix.yaml"] == b"area: payments\nintent: fix\n"
    assert co.base.files["release-policy.yml"].startswith(b"override:")
    assert "src/big.bin" in co.head.paths
    assert [(c.status, c.path, c.old_path) for c in co.changed] == [
        ("A", ".maestro/changes/20251220-fix.yaml", None),
        ("R", "docs/moved.md", "docs/guide.md"),
    ]
    ctx = planning.context(co, PullRequest(number=7, base_sha=base, head_sha=head), NOW)
    assert planning.plan(ctx).gates[0].id == "schema"


def test_second_prepare_reuses_the_clone_and_fetches_a_new_head(
    upstream: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, base, head = upstream
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    url = serve_repo(repo)
    path = cache.prepare("octo/app", url, TOKEN, base, head, 7)
    marker = path / "objects" / "marker"
    marker.write_text("kept")
    repo.checkout("feature")
    newer = repo.commit({".maestro/changes/20251221-more.yaml": "area: payments\n"}, "more")
    assert cache.prepare("octo/app", url, TOKEN, base, newer, 7) == path
    assert marker.read_text() == "kept"
    co = planning.checkout(path, base, newer)
    assert ".maestro/changes/20251221-more.yaml" in co.head.files


def test_fork_head_is_fetched_from_the_pull_request_ref(
    make_repo: Callable[..., GitRepo], upstream: tuple[GitRepo, str, str], tmp_path: Path
) -> None:
    repo, base, _ = upstream
    fork = make_repo(name="fork")
    fork.git("fetch", "-q", str(repo.path), "main")
    fork.git("reset", "-q", "--hard", "FETCH_HEAD")
    fork_head = fork.commit({".maestro/changes/20251222-fork.yaml": "area: from-a-fork\n"}, "fork change")
    # GitHub keeps a fork's head in the base repository under refs/pull/N/head; it is not on any branch there.
    fork.git("push", "-q", str(repo.path), f"{fork_head}:refs/pull/9/head")
    repo.git("config", "uploadpack.allowFilter", "true")  # no allowAnySHA1InWant: only reachable commits
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    path = cache.prepare("octo/app", f"file://{repo.path}", TOKEN, base, fork_head, 9)
    assert git(path, "cat-file", "-t", fork_head).strip() == "commit"
    co = planning.checkout(path, base, fork_head)
    assert co.head.files[".maestro/changes/20251222-fork.yaml"] == b"area: from-a-fork\n"


def test_missing_commit_is_a_clear_error_without_the_token(upstream: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, _ = upstream
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    with pytest.raises(RepositoryError) as exc:
        cache.prepare("octo/app", serve_repo(repo), TOKEN, base, "f" * 40, 7)
    assert TOKEN not in str(exc.value)
    assert str(exc.value).startswith("git fetch failed")


@pytest.mark.parametrize(
    ("repo_name", "url", "sha", "message"),
    [
        ("../etc", "https://github.com/x/y.git", "a" * 40, "repository name '../etc' is not of the form owner/name"),
        ("octo/.git", "https://github.com/x/y.git", "a" * 40, "repository name 'octo/.git' is not of the form"),
        ("octo/app", "https://github.com/x/y.git", "main", "'main' is not a full commit SHA"),
        ("octo/app", "https://user:pw@github.com/x/y.git", "a" * 40, "clone_url must not carry credentials"),
        ("octo/app", "https://x-access-token@github.com/x/y.git", "a" * 40, "clone_url must not carry credentials"),
        (
            "octo/app",
            "https://evil.example/x/y.git",
            "a" * 40,
            "clone_url host 'evil.example' is not the GitHub this App talks to (github.com): the token is not sent",
        ),
    ],
)
def test_bad_inputs_are_refused(repo_name: str, url: str, sha: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(RepositoryError) as exc:
        CloneCache(tmp_path, hosts=git_hosts("https://api.github.com")).prepare(repo_name, url, TOKEN, "a" * 40, sha, 1)
    assert str(exc.value).startswith(message)


def test_only_allowed_transports_are_used(upstream: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, head = upstream
    with pytest.raises(RepositoryError) as exc:
        CloneCache(tmp_path / "cache").prepare("octo/app", serve_repo(repo), TOKEN, base, head, 7)
    assert "git clone failed" in str(exc.value)
    assert not (tmp_path / "cache" / "octo__app.git").exists()


def test_token_travels_in_a_header_over_http(upstream: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    repo, base, head = upstream
    serve_repo(repo)
    with git_http(repo.path.parent, TOKEN) as server:
        url = f"{server.url}/{repo.path.name}"
        cache = CloneCache(tmp_path / "cache", protocols=("http",))
        path = cache.prepare("octo/app", url, TOKEN, base, head, 7)
        assert server.seen and all(ok for _, ok in server.seen)
        assert all(TOKEN not in p for p, _ in server.seen)
        assert TOKEN not in (path / "config").read_text()
        assert planning.checkout(path, base, head).head.files[".maestro/changes/20251220-fix.yaml"]
        # A wrong token fails at once (no prompt, no hang) and the message never shows it.
        with pytest.raises(RepositoryError) as exc:
            CloneCache(tmp_path / "other", protocols=("http",)).prepare("octo/app", url, "ghs_wrong", base, head, 7)
        assert "ghs_wrong" not in str(exc.value)
        assert str(exc.value).startswith("git clone failed")
        assert isinstance(exc.value, CloneAuthError)  # the App renews the token once on this


def test_clone_hosts_follow_the_api_url() -> None:
    assert git_hosts("https://api.github.com") == ("github.com",)
    assert git_hosts("https://ghe.example.com/api/v3") == ("ghe.example.com",)


def test_a_patch_series_is_trial_applied_offline_from_the_clone(
    make_repo: Callable[..., GitRepo], tmp_path: Path
) -> None:
    """The base blobs a series touches are fetched with it, so the sequence gate needs no network."""
    repo = make_repo({"src/app.py": "".join(f"line {i}\n" for i in range(50)), "src/other.py": "x = 1\n"})
    base = repo.git("rev-parse", "HEAD")
    repo.branch("work")
    repo.commit({"src/app.py": "".join(f"line {i}\n" for i in range(50)).replace("line 7\n", "line seven\n")})
    patch = repo.git("format-patch", "-1", "--stdout", "HEAD") + "\n"
    repo.checkout("main")
    repo.branch("feature")
    head = repo.commit({".orchestrator/patches/42/0001-seven.patch": patch}, "add a series")
    repo.checkout("main")
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    path = cache.prepare("octo/app", serve_repo(repo), TOKEN, base, head, 7)
    repo.path.rename(repo.path.with_name("gone"))  # offline from here on
    ctx = planning.context(
        planning.checkout(path, base, head), PullRequest(number=7, base_sha=base, head_sha=head), NOW
    )
    sequence = next(g for g in planning.plan(ctx).gates if g.id == "sequence")
    assert sequence.detail.to_json()["applies"] is True, sequence.findings
    assert [p["status"] for p in sequence.detail.to_json()["series"][0]["patches"]] == ["applies"]


def test_a_patch_series_over_the_read_cap_is_not_read_and_fails_closed(
    make_repo: Callable[..., GitRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PR's patches are read into memory only up to a cap (a push can carry gigabytes of them)."""
    monkeypatch.setattr(clones, "MAX_PATCH_READ_BYTES", 200, raising=False)
    repo = make_repo({"src/app.py": "".join(f"line {i}\n" for i in range(50)), "src/other.py": "x = 1\n"})
    base = repo.git("rev-parse", "HEAD")
    repo.branch("work")
    repo.commit({"src/app.py": "".join(f"line {i}\n" for i in range(50)).replace("line 7\n", "line seven\n")})
    patch = repo.git("format-patch", "-1", "--stdout", "HEAD") + "\n"
    assert len(patch) > 200
    repo.checkout("main")
    repo.branch("feature")
    head = repo.commit({".orchestrator/patches/42/0001-seven.patch": patch}, "add a series")
    repo.checkout("main")
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    path = cache.prepare("octo/app", serve_repo(repo), TOKEN, base, head, 7)
    repo.path.rename(repo.path.with_name("gone"))  # offline from here on
    ctx = planning.context(
        planning.checkout(path, base, head), PullRequest(number=7, base_sha=base, head_sha=head), NOW
    )
    sequence = next(g for g in planning.plan(ctx).gates if g.id == "sequence")
    assert sequence.status == "fail", sequence.summary
    assert [f.code for f in sequence.findings] == ["sequence-git-failed"]
    assert sequence.detail.to_json()["applies"] is not True


HOLD = """
import fcntl, sys, time
from pathlib import Path
with open(sys.argv[1], "a+b") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    Path(sys.argv[2]).write_text("locked")
    time.sleep(1.5)
    Path(sys.argv[3]).write_text("released")
"""


def test_another_server_holding_the_clone_waits_this_one(upstream: tuple[GitRepo, str, str], tmp_path: Path) -> None:
    """Two servers sharing one clone directory: the repository's lock file serialises their clone updates
    across processes (an rmtree-then-rename in one broke the other's fetch: 'index-pack failed')."""
    repo, base, head = upstream
    cache = CloneCache(tmp_path / "cache", protocols=("file",))
    (tmp_path / "cache").mkdir()
    lock = clones.lock_path(cache.path("octo/app"))
    locked, released = tmp_path / "locked", tmp_path / "released"
    other = subprocess.Popen([sys.executable, "-c", HOLD, str(lock), str(locked), str(released)])
    try:
        for _ in range(1000):  # bounded: the other process takes the lock at once
            if locked.exists() or other.poll() is not None:
                break
            time.sleep(0.01)
        assert locked.exists()
        cache.prepare("octo/app", serve_repo(repo), TOKEN, base, head, 7)
        assert released.exists(), "prepare ran while another process held the clone's lock"
    finally:
        other.wait(timeout=30)
