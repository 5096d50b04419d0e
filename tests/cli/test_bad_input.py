"""Every bad input from the issue: a clear finding naming the file, a non-zero exit, nothing run or written."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from changebot.cli import main
from tests.support.repos import GitRepo

BUNDLE = ".maestro/changes/20250901-bad.yaml"
BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
    "i: [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
)


def _merge_bomb(levels: int) -> str:
    """Merge keys of merge keys, each anchor defined inside the merge that uses it (2**levels pairs)."""
    node = "&m0 {k: v}"
    for i in range(1, levels + 1):
        node = f"&m{i} {{<<: [{node}, *m{i - 1}]}}"
    return f"area: ledger\nintent: fix\nb: {{<<: {node}}}\n"


MERGE_BOMB = _merge_bomb(21)


def python_object(marker: Path) -> str:
    return (
        "area: ledger\nintent: fix\n"
        f"run: !!python/object/apply:os.system ['touch {marker}']\n"
        f"also: !!python/object/new:pathlib.Path ['{marker}']\n"
    )


CASES: dict[str, tuple[Callable[[Path], bytes], str, int | None, str]] = {
    "alias bomb": (lambda _: BOMB.encode(), "yaml-too-complex", None, "document expands to more than 200,000 values"),
    "merge-key bomb": (
        lambda _: MERGE_BOMB.encode(),
        "yaml-too-complex",
        None,
        "document expands to more than 200,000 values",
    ),
    "python object tag": (
        lambda marker: python_object(marker).encode(),
        "unsupported-tag",
        3,
        "unsupported YAML tag or construct 'tag:yaml.org,2002:python/object/apply:os.system'",
    ),
    "duplicate keys": (
        lambda _: b"area: ledger\nintent: fix\narea: payments\n",
        "duplicate-key",
        3,
        "duplicate key 'area' (first defined on line 1)",
    ),
    "a list, not a mapping": (
        lambda _: b"- area: ledger\n- intent: fix\n",
        "not-a-mapping",
        1,
        "$: expected a mapping, found a list of 2 item(s) (change bundle schema)",
    ),
    "a hexadecimal integer of more than 4,300 decimal digits": (
        lambda _: b"area: ledger\nintent: fix\nbudgets: {p95_ms: 0x" + b"f" * 5000 + b"}\n",
        "unreadable-number",
        3,
        "number '0xffffffffffffffffff...' cannot be read: more than 4,300 decimal digits",
    ),
    "a decimal integer of more than 4,300 digits": (
        lambda _: b"area: ledger\nintent: fix\nbudgets: {p95_ms: " + b"9" * 5000 + b"}\n",
        "unreadable-number",
        3,
        "number '99999999999999999999...' cannot be read: more than 4,300 decimal digits",
    ),
    "invalid UTF-8": (
        lambda _: b"area: ledger\nintent: caf\xe9\n",
        "not-utf8",
        2,
        "file is not valid UTF-8 (byte 0xe9 at offset 24)",
    ),
}


def _check(out: str, code: str, line: int | None, message: str) -> None:
    data = json.loads(out)
    schema_gate = next(g for g in data["gates"] if g["id"] == "schema")
    assert schema_gate["status"] == "fail"
    [finding] = [f for f in schema_gate["findings"] if f["severity"] == "error"]
    assert (finding["path"], finding["code"], finding["line"]) == (BUNDLE, code, line)
    assert finding["message"].startswith(message)


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bundle_in_a_pull_request(
    case: str, make_repo: Callable[..., GitRepo], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, code, line, message = CASES[case]
    marker = tmp_path / "executed"
    repo = make_repo({"README.md": "x\n"})
    repo.branch("feature")
    repo.commit({BUNDLE: make(marker)})
    before = repo.git("status", "--porcelain", "--ignored")
    status = main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 1
    assert err == ""
    _check(out, code, line, message)
    assert not marker.exists()
    assert repo.git("status", "--porcelain", "--ignored") == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_bundle_in_a_plain_directory(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, code, line, message = CASES[case]
    marker = tmp_path / "executed"
    root = tmp_path / "repo"
    (root / ".maestro/changes").mkdir(parents=True)
    (root / BUNDLE).write_bytes(make(marker))
    status = main(["validate", "--repo", str(root)])
    out = capsys.readouterr().out
    assert status == 1
    where = f"{BUNDLE}:{line}" if line else BUNDLE
    assert f"{where}" in out
    assert f"error[{code}] {message}" in out
    assert not marker.exists()
    assert sorted(p.name for p in root.rglob("*")) == [".maestro", "20250901-bad.yaml", "changes"]


def test_a_50_mb_file_is_not_read(make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]) -> None:
    huge = b"area: ledger\nintent: fix\nnotes: '" + b"x" * (50 * 1024 * 1024) + b"'\n"
    repo = make_repo({"README.md": "x\n"})
    repo.branch("feature")
    repo.commit({BUNDLE: huge})
    status = main(["plan", "--repo", str(repo.path), "--base", "main", "--head", "feature", "--format", "json"])
    _check(capsys.readouterr().out, "file-too-large", None, "file is 52,428,835 bytes; the limit is 1,048,576 bytes")
    assert status == 1
    status = main(["validate", "--repo", str(repo.path)])
    out = capsys.readouterr().out
    assert status == 1
    assert f"{BUNDLE}: error[file-too-large] file is 52,428,835 bytes" in out


PLAN_FLAGS = ["--base", "main", "--head", "feature", "--format", "json", "--now", "2025-09-05T12:00:00Z"]
MEMORY_CAP = 384 * 1024 * 1024


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.mark.parametrize("where", ["head bundle", "base settings"])
def test_a_merge_key_bomb_is_refused_within_a_memory_cap(where: str, make_repo: Callable[..., GitRepo]) -> None:
    """2**22 merged pairs from 460 bytes: refused before they expand, in a process capped at 384 MB of address space."""
    bomb = _merge_bomb(22)
    if where == "head bundle":
        repo = make_repo({"README.md": "x\n"})
        repo.branch("feature")
        repo.commit({BUNDLE: bomb})
        path = BUNDLE
    else:
        repo = make_repo({".maestro/changebot.yaml": bomb.replace("area: ledger\nintent: fix\n", "")})
        repo.branch("feature")
        repo.commit({"README.md": "y\n"})
        path = ".maestro/changebot.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "changebot", "plan", "--repo", str(repo.path), *PLAN_FLAGS],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    schema_gate = next(g for g in json.loads(done.stdout)["gates"] if g["id"] == "schema")
    assert [(f["path"], f["code"]) for f in schema_gate["findings"] if f["severity"] == "error"] == [
        (path, "yaml-too-complex")
    ]
