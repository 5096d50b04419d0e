"""Every bad input from the issue: a clear finding naming the file, a non-zero exit, nothing run or written."""

from __future__ import annotations

import json
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


def python_object(marker: Path) -> str:
    return (
        "area: ledger\nintent: fix\n"
        f"run: !!python/object/apply:os.system ['touch {marker}']\n"
        f"also: !!python/object/new:pathlib.Path ['{marker}']\n"
    )


CASES: dict[str, tuple[Callable[[Path], bytes], str, int | None, str]] = {
    "alias bomb": (lambda _: BOMB.encode(), "yaml-too-complex", None, "document expands to more than 200,000 values"),
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
