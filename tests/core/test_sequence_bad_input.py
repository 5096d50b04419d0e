"""Bad series: each is a finding, the exit status is 1, and nothing is written anywhere.

"Nothing written" is checked, not assumed: the repository's index file (bytes), ``git status``, every ref,
the object store, the directory around the repository, and the temporary directory are the same after the
run as before it.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from changebot.cli import main
from changebot.core.sequence.series import SequenceSettings
from tests.support import seriesfactory as sf
from tests.support.repos import GitRepo

SERIES = ".orchestrator/patches"


def snapshot(repo: GitRepo) -> dict[str, Any]:
    index = (repo.path / ".git" / "index").read_bytes()
    return {
        "index": index,
        "status": repo.git("--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
        "refs": repo.git("for-each-ref"),
        "objects": sorted(str(p) for p in (repo.path / ".git" / "objects").rglob("*")),
        "around": sorted(str(p) for p in repo.path.parent.iterdir()),
        "outside": (repo.path.parent / "outside").exists(),
        "tmp": sorted(p.name for p in Path(tempfile.gettempdir()).glob("changebot-apply-*")),
    }


@pytest.fixture
def source(tmp_path: Path) -> tuple[GitRepo, list[Path]]:
    repo = GitRepo(tmp_path / "repo")
    repo.commit(sf.BASE_FILES, "initial")
    return repo, sf.summit_series(repo, tmp_path / "out")


def unsafe(patch: bytes, old: str, new: str) -> bytes:
    """A real patch with its path rewritten (how an attacker would make one)."""
    return patch.replace(f"a/{old}".encode(), f"a/{new}".encode()).replace(f"b/{old}".encode(), f"b/{new}".encode())


def bad_series(files: list[Path]) -> dict[str, bytes]:
    first = files[0].read_bytes().replace(b"[PATCH 01/11]", b"[PATCH]")  # edits src/app.py
    lines = first.splitlines(keepends=True)
    hunk = next(i for i, x in enumerate(lines) if x.startswith(b"@@"))
    return {
        f"{SERIES}/1/0001-truncated.patch": b"".join(lines[: hunk + 3]),
        f"{SERIES}/2/0001-notes.patch": b"remember to buy milk\n",
        f"{SERIES}/3/0001-crlf.patch": first.replace(b"\n", b"\r\n"),
        f"{SERIES}/4/0001-outside.patch": unsafe(first, "src/app.py", "../outside/pwned.txt"),
        f"{SERIES}/5/0001-git-config.patch": unsafe(first, "src/app.py", ".git/config"),
    }


def run(repo: GitRepo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["sequence", "--repo", str(repo.path), "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def by_pr(doc: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for finding in doc["findings"]:
        pr = finding["path"].split("/")[2]
        out.setdefault(pr, []).append((finding["code"], finding["severity"]))
    return out


def test_bad_patches_at_a_ref_are_findings_and_nothing_is_written(
    source: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, files = source
    repo.branch("head", "main")
    repo.commit(bad_series(files), "bad series")
    repo.checkout("main")
    before = snapshot(repo)
    code, doc = run(repo, capsys, "--base", "main", "--head", "head")
    assert snapshot(repo) == before
    assert code == 1 and doc["status"] == "fail" and doc["applies"] is False
    found = by_pr(doc)
    assert found["1"] == [("patch-truncated", "error")]
    assert found["2"] == [("not-a-patch", "error")]
    assert found["3"] == [("patch-crlf", "error")]
    assert found["4"] == [("unsafe-path", "error")]
    assert found["5"] == [("unsafe-path", "error")]
    messages = {f["path"].split("/")[2]: f["message"] for f in doc["findings"]}
    assert messages["4"] == "'../outside/pwned.txt' leaves the repository ('..'): refused"
    assert messages["5"] == "'.git/config' writes inside .git: refused"
    statuses = {s["pr"]: s["patches"][0]["status"] for s in doc["series"]}
    assert statuses == {"1": "invalid", "2": "invalid", "3": "invalid", "4": "refused", "5": "refused"}


def test_symlink_out_of_the_repository_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"README.md": "x\n", "docs/a.txt": "a\n"}, "initial")
    repo.branch("feature", "main")
    (repo.path / "escape").symlink_to("../outside")
    repo.commit({}, "add a link")
    repo.commit({"docs/a.txt": "b\n"}, "edit a")
    files = sf.format_patch(repo, "main", "feature", tmp_path / "out")
    second = unsafe(files[1].read_bytes(), "docs/a.txt", "escape/pwned.txt")
    repo.checkout("main")
    repo.branch("head", "main")
    repo.commit({f"{SERIES}/9/{files[0].name}": files[0].read_bytes(), f"{SERIES}/9/{files[1].name}": second}, "s")
    repo.checkout("main")
    before = snapshot(repo)
    code, doc = run(repo, capsys, "--base", "main", "--head", "head")
    assert snapshot(repo) == before
    assert code == 1
    assert [(f["code"], f["message"]) for f in doc["findings"]] == [
        ("unsafe-symlink", "'escape' becomes a symbolic link to '../outside', outside the repository: refused"),
        ("unsafe-path", "'escape/pwned.txt' is inside 'escape', a symbolic link: refused"),
    ]
    assert [p["status"] for p in doc["series"][0]["patches"]] == ["refused", "refused"]


def test_huge_patch_and_crowded_directory_in_the_working_tree(
    source: tuple[GitRepo, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, files = source
    repo.write(bad_series(files))
    repo.write({".maestro/changebot.yaml": "sequence:\n  max_patches_per_series: 100\n"})
    huge = repo.path / SERIES / "6" / "0001-huge.patch"
    huge.parent.mkdir(parents=True)
    with huge.open("wb") as handle:  # 100 MB, sparse: costs nothing to make, and must not be read
        handle.truncate(100 * 1024 * 1024)
    crowd = repo.path / SERIES / "7"
    crowd.mkdir()
    for i in range(101):
        (crowd / f"{i + 1:04d}-p.patch").write_bytes(b"")
    before = snapshot(repo)
    code, doc = run(repo, capsys)
    assert snapshot(repo) == before
    assert code == 1
    found = by_pr(doc)
    assert found["6"] == [("patch-too-large", "error")]
    assert found["7"] == [("series-too-many-files", "error")]
    messages = {f["path"].split("/")[2]: f["message"] for f in doc["findings"]}
    assert messages["6"] == (
        "the patch is larger than 1,048,576 bytes (limits.max_file_bytes) and was not read: it cannot be checked; "
        "split it or raise the limit"
    )
    assert messages["7"] == (
        "the series directory holds 101 files; the limit is 100 (sequence.max_patches_per_series): "
        "nothing in it was read"
    )
    assert {s["pr"]: s["applies"] for s in doc["series"]} == {str(n): False for n in range(1, 8)}


def test_huge_patch_and_10000_files_on_disk_are_not_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"README.md": "x\n"}, "initial")
    outgoing = tmp_path / "outgoing"
    outgoing.mkdir()
    with (outgoing / "0001-huge.patch").open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)
    os.mkfifo(outgoing / "0002-fifo.patch")  # never opened: only regular files are read, the rest reported
    before = snapshot(repo)
    code, doc = run(repo, capsys, "--series", str(outgoing))
    assert snapshot(repo) == before
    assert code == 1
    assert [(f["code"], f["message"]) for f in doc["findings"]] == [
        (
            "patch-too-large",
            "the patch is larger than 1,048,576 bytes (sequence.max_patch_bytes) and was not read: it cannot be "
            "checked; split it or raise the limit",
        ),
        (
            "patch-not-a-file",
            "expected a regular file, found a subdirectory, a symbolic link or other special file: not read, "
            "not applied",
        ),
    ]
    # pytest's shared tmp_path root is slow to fill with 10,000 entries on a busy machine; a private one is not
    with tempfile.TemporaryDirectory(prefix="changebot-test-crowd-") as tmp:
        crowd = Path(tmp) / "10179"
        crowd.mkdir()
        for i in range(10_000):
            os.mknod(crowd / f"{i + 1:05d}-p.patch")  # an empty regular file, in one system call
        before = snapshot(repo)
        code, doc = run(repo, capsys, "--series", str(crowd))
        assert snapshot(repo) == before
    assert code == 1 and doc["applies"] is False
    assert [(f["code"], f["message"]) for f in doc["findings"]] == [
        (
            "series-too-many-files",
            "the series directory holds 10,000 files; the limit is 1,000 (sequence.max_patches_per_series): "
            "nothing in it was read",
        )
    ]


def test_settings_defaults_match_the_schema() -> None:
    schema = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "changebot.schema.json").read_text())
    documented = {k: v["default"] for k, v in schema["properties"]["sequence"]["properties"].items()}
    assert documented == {f.name: getattr(SequenceSettings(), f.name) for f in fields(SequenceSettings)}
    assert SequenceSettings.from_section({"max_patch_bytes": 0, "three_way": "no", "history_depth": 0}) == (
        SequenceSettings(history_depth=0)
    )


def test_symlinked_patch_file_is_not_followed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit({"README.md": "x\n"}, "initial")
    secret = tmp_path / "secret.patch"
    secret.write_text("diff --git a/x b/x\n", encoding="utf-8")
    (repo.path / SERIES / "3").mkdir(parents=True)
    (repo.path / SERIES / "3" / "0001-link.patch").symlink_to(secret)
    before = snapshot(repo)
    code, doc = run(repo, capsys)
    assert snapshot(repo) == before
    assert code == 1
    assert [(f["code"], f["path"]) for f in doc["findings"]] == [("patch-not-a-file", f"{SERIES}/3/0001-link.patch")]
    assert doc["series"][0]["patches"][0]["status"] == "invalid"


def test_missing_objects_in_a_blobless_clone_fail_closed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = GitRepo(tmp_path / "source")
    source.git("config", "uploadpack.allowFilter", "true")
    source.commit({"a.txt": "a\n"}, "initial")
    source.commit({"a.txt": "b\n"}, "change")
    patch = source.git("format-patch", "-1", "--stdout").encode() + b"\n"
    source.git("reset", "-q", "--hard", "HEAD~1")
    source.commit({f"{SERIES}/8/0001-change.patch": patch}, "series")
    clone = tmp_path / "clone"
    source.git("clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{source.path}", str(clone))
    source.git("-C", str(clone), "cat-file", "-e", f"HEAD:{SERIES}/8/0001-change.patch")  # fetch the patch only
    (tmp_path / "source").rename(tmp_path / "gone")  # the promisor remote is now unreachable, as offline
    code = main(["sequence", "--repo", str(clone), "--base", "HEAD~1", "--head", "HEAD", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["applies"] is False
    assert [f["code"] for f in doc["findings"]] == ["sequence-git-failed"]
    assert "could not read the objects it needs" in doc["findings"][0]["message"]
