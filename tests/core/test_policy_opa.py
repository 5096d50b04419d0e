"""``changebot plan`` with each policy engine over real git repositories: the real OPA (binary and server), the
embedded engine, what each decides and what the gate says about the engine."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_policy_gate import codes, gate_of, plan
from tests.support.opa import OPA_VERSION, require_opa
from tests.support.opa_server import opa_server
from tests.support.repos import GitRepo

SUB_PACKAGE = 'package gate["sub"]\n\ndeny contains "always" if true\n'
MISSPELT = 'package typo\n\nimport rego.v1\n\ndenies contains "never read" if true\n'
NO_LIBRARY = "version: 1\npolicy:\n  default_library: false\n"
CALENDAR = json.dumps([{"name": "EOQ", "from": "2025-12-15T00:00:00Z", "to": "2026-01-05T00:00:00Z"}])


@pytest.fixture
def opa(monkeypatch: pytest.MonkeyPatch) -> str:
    """The pinned ``opa``, found by changebot through ``CHANGEBOT_OPA_PATH``."""
    path = require_opa()
    monkeypatch.setenv("CHANGEBOT_OPA_PATH", path)
    return path


@pytest.fixture(params=["embedded", "opa"])
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "opa":
        monkeypatch.setenv("CHANGEBOT_OPA_PATH", require_opa())
    yield request.param


def _pr(make_repo: Callable[..., GitRepo], base: dict[str, str], head: dict[str, str | None]) -> GitRepo:
    repo = make_repo(base)
    repo.branch("feature")
    repo.commit(head)
    return repo


def test_a_package_path_with_string_keys_is_queried(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    files = {".maestro/policies/sub.rego": SUB_PACKAGE, ".maestro/changebot.yaml": NO_LIBRARY}
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--policy-engine", engine)
    policy = gate_of(doc, "policy")
    assert code == 1
    assert [(f["severity"], f["message"], f["path"]) for f in policy["findings"]] == [
        ("error", "package gate.sub: always", ".maestro/policies/sub.rego")
    ]
    assert policy["packages"][0]["package"] == "gate.sub"


def test_a_package_whose_only_rule_is_misspelt_is_a_visible_warning(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    files = {".maestro/policies/typo.rego": MISSPELT, ".maestro/changebot.yaml": NO_LIBRARY}
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--policy-engine", engine)
    policy = gate_of(doc, "policy")
    assert (code, doc["verdict"], policy["status"]) == (0, "warn", "warn")
    assert [(f["severity"], f["code"]) for f in policy["findings"]] == [("warning", "policy-no-gate-rules")]
    assert "(it has denies): nothing in it is read" in policy["findings"][0]["message"]


@pytest.mark.parametrize("kind", ["opa", "opa-server"])
def test_governance_owners_hold_with_the_real_opa(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str, tmp_path: Path, kind: str
) -> None:
    settings = f"version: 1\npolicy:\n  engine: {kind}\n  governance_owners: [ana]\n"
    base = {".maestro/changebot.yaml": settings, ".maestro/freeze_windows.json": CALENDAR, "README.md": "x\n"}
    repo = _pr(make_repo, base, {".maestro/freeze_windows.json": "[]\n"})
    with opa_server(opa, tmp_path / "policies", {}) as url:
        extra = ("--opa-url", url) if kind == "opa-server" else ()
        code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", *extra)
        policy = gate_of(doc, "policy")
        assert code == 1
        assert [f["code"] for f in policy["findings"] if f["severity"] == "error"] == ["governance-approval"]
        assert policy["findings"][0]["message"] == (
            "this pull request edits governance config (.maestro/freeze_windows.json) "
            "and needs an approval from one of ana"
        )
        code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--approved-by", "ana", *extra)
        assert gate_of(doc, "policy")["status"] != "fail"


BROKEN = {
    "declared.rego": (
        "package declared\n\nimport rego.v1\n\ndeny contains m if {\n\tsome x\n\tx := 1\n\tm := x\n}\n",
        7,
    ),
    "count.rego": ('package count\n\nimport rego.v1\n\ndeny contains "n" if {\n\tcount(5) > 1\n}\n', 6),
    "unsafe.rego": ('package unsafe\n\nimport rego.v1\n\ndeny contains "u" if {\n\tnot input.x[y]\n}\n', 6),
}


def test_the_opa_engine_compiles_like_opa_check_with_file_and_line(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str
) -> None:
    files = {f".maestro/policies/{name}": source for name, (source, _) in BROKEN.items()}
    files[".maestro/policies/ok.rego"] = 'package ok\n\nimport rego.v1\n\nwarn contains "still evaluated" if true\n'
    repo = _pr(make_repo, {**files, ".maestro/changebot.yaml": NO_LIBRARY}, {"docs/a.md": "a\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--policy-engine", "opa")
    policy = gate_of(doc, "policy")
    assert code == 1
    errors = {(f["path"], f["line"]) for f in policy["findings"] if f["code"] == "policy-compile-error"}
    assert errors == {(f".maestro/policies/{name}", line) for name, (_, line) in BROKEN.items()}
    assert "package ok: still evaluated" in [f["message"] for f in policy["findings"]]
    assert (policy["engine"], policy["engine_version"]) == ("opa", f"OPA {OPA_VERSION.lstrip('v')}")
    assert policy["summary"].startswith(f"4 package(s) evaluated by the opa (OPA {OPA_VERSION.lstrip('v')}) engine")


def test_v0_and_v1_files_run_together_as_opa_runs_them(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str
) -> None:
    v0 = 'package legacy\n\ndeny[msg] {\n\tinput.pr.title == ""\n\tmsg := "a title is needed"\n}\n'
    v1 = 'package modern\n\nimport rego.v1\n\ndeny contains "no docs" if not "docs/a.md" in input.pr.files\n'
    files = {
        ".maestro/policies/legacy.rego": v0,
        ".maestro/policies/modern.rego": v1,
        ".maestro/changebot.yaml": NO_LIBRARY,
    }
    repo = _pr(make_repo, files, {"src/a.py": "a\n"})
    results = {}
    for name in ("embedded", "opa"):
        code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--title", "", "--policy-engine", name)
        results[name] = (code, [(f["message"], f["path"], f["line"]) for f in gate_of(doc, "policy")["findings"]])
    assert (
        results["opa"]
        == results["embedded"]
        == (
            1,
            [
                ("package legacy: a title is needed", ".maestro/policies/legacy.rego", 3),
                ("package modern: no docs", ".maestro/policies/modern.rego", 5),
            ],
        )
    )


def test_policies_reach_neither_network_nor_environment(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str
) -> None:
    leak = "package leak\n\nimport rego.v1\n\ndeny contains m if {\n\tm := opa.runtime().env.HOME\n}\n"
    call = 'package call\n\nimport rego.v1\n\ndeny contains m if {\n\tm := http.send({"method": "GET", "url": "http://127.0.0.1:9"})\n}\n'
    files = {
        ".maestro/policies/leak.rego": leak,
        ".maestro/policies/call.rego": call,
        ".maestro/changebot.yaml": NO_LIBRARY,
    }
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature", "--policy-engine", "opa")
    policy = gate_of(doc, "policy")
    assert code == 1
    found = {(f["path"], f["line"]) for f in policy["findings"] if f["code"] == "policy-compile-error"}
    assert found == {(".maestro/policies/leak.rego", 6), (".maestro/policies/call.rego", 6)}
    assert all("undefined function" in f["message"] for f in policy["findings"])


def test_engine_choice(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _pr(make_repo, {".maestro/policies/sub.rego": SUB_PACKAGE}, {"docs/a.md": "a\n"})
    args = ("--base", "main", "--head", "feature")
    monkeypatch.setenv("CHANGEBOT_OPA_PATH", "/nonexistent/opa")
    code, doc = plan(repo, capsys, *args, "--policy-engine", "auto")
    assert (code, gate_of(doc, "policy")["engine"]) == (1, "embedded")
    with pytest.raises(SystemExit):
        plan(repo, capsys, *args, "--policy-engine", "nope")
    monkeypatch.setenv("CHANGEBOT_POLICY_ENGINE", "opa")
    from changebot.cli import main  # noqa: PLC0415

    assert main(["plan", "--repo", str(repo.path), *args]) == 2
    assert "no opa binary" in capsys.readouterr().err
    monkeypatch.setenv("CHANGEBOT_OPA_PATH", require_opa())
    code, doc = plan(repo, capsys, *args)
    assert (code, gate_of(doc, "policy")["engine"]) == (1, "opa")
    code, doc = plan(repo, capsys, *args, "--policy-engine", "auto")
    assert (code, gate_of(doc, "policy")["engine"]) == (1, "opa")
    code, doc = plan(repo, capsys, *args, "--policy-engine", "embedded")  # the flag wins over the environment
    assert (code, gate_of(doc, "policy")["engine"]) == (1, "embedded")


def test_an_opa_server_with_the_repository_policies_decides_like_the_binary(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str, tmp_path: Path
) -> None:
    files = {".maestro/policies/sub.rego": SUB_PACKAGE, ".maestro/changebot.yaml": NO_LIBRARY}
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    args = ("--base", "main", "--head", "feature")
    decided: dict[str, Any] = {}
    with opa_server(opa, tmp_path / "policies", {"sub.rego": SUB_PACKAGE}) as url:
        for name in ("opa", "opa-server"):
            code, doc = plan(repo, capsys, *args, "--policy-engine", name, "--opa-url", url)
            decided[name] = (code, [f["message"] for f in gate_of(doc, "policy")["findings"]])
    assert decided["opa"] == decided["opa-server"] == (1, ["package gate.sub: always"])
    policy = gate_of(doc, "policy")
    assert codes(policy) == ["policy-deny"]
    assert (policy["engine"], policy["engine_version"]) == ("opa-server", f"OPA {OPA_VERSION.lstrip('v')}")


BAD_BUNDLE = "area: payments\nintent: ship\nrelease_tag: v1\n"


def test_a_denial_the_base_already_has_warns_and_a_new_one_fails(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], engine: str
) -> None:
    repo = _pr(make_repo, {".maestro/changes/20250101-a.yaml": BAD_BUNDLE}, {"docs/a.md": "a\n"})
    args = ("--base", "main", "--head", "feature", "--policy-engine", engine)
    code, doc = plan(repo, capsys, *args)
    policy = gate_of(doc, "policy")
    assert policy["status"] == "warn"
    assert [(f["severity"], f["path"]) for f in policy["findings"]] == [
        ("warning", ".maestro/changes/20250101-a.yaml"),
        ("warning", ".maestro/changes/20250101-a.yaml"),
    ]
    assert policy["findings"][0]["message"] == (
        "package changebot.bundles: release bundle v1 has no owners.DRI (expected the directly responsible "
        "individual) (already so on the base branch: not introduced by this pull request)"
    )
    repo.commit({".maestro/changes/20250102-b.yaml": BAD_BUNDLE.replace("v1", "v2")})
    code, doc = plan(repo, capsys, *args)
    policy = gate_of(doc, "policy")
    assert (code, policy["status"]) == (1, "fail")
    assert sorted((f["severity"], f["path"]) for f in policy["findings"]) == [
        ("error", ".maestro/changes/20250102-b.yaml"),
        ("error", ".maestro/changes/20250102-b.yaml"),
        ("warning", ".maestro/changes/20250101-a.yaml"),
        ("warning", ".maestro/changes/20250101-a.yaml"),
    ]


def test_a_pr_that_touches_a_violating_file_owns_its_denials(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _pr(
        make_repo,
        {".maestro/changes/20250101-a.yaml": BAD_BUNDLE},
        {".maestro/changes/20250101-a.yaml": BAD_BUNDLE + "objective: x\n"},
    )
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    assert (code, gate_of(doc, "policy")["status"]) == (1, "fail")


def test_a_package_key_that_is_not_an_identifier_is_queried_by_every_engine(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str], opa: str, tmp_path: Path
) -> None:
    source = 'package gate["release-train"].v2\n\ndeny contains "held" if true\n'
    files = {".maestro/policies/train.rego": source, ".maestro/changebot.yaml": NO_LIBRARY}
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    decided = {}
    with opa_server(opa, tmp_path / "policies", {"train.rego": source}) as url:
        for name in ("embedded", "opa", "opa-server"):
            code, doc = plan(
                repo, capsys, "--base", "main", "--head", "feature", "--policy-engine", name, "--opa-url", url
            )
            decided[name] = (code, [f["message"] for f in gate_of(doc, "policy")["findings"]])
    assert (
        decided["embedded"]
        == decided["opa"]
        == decided["opa-server"]
        == (
            1,
            ['package gate["release-train"].v2: held'],
        )
    )


def test_a_message_about_a_file_outside_the_repository_gets_no_annotation(
    make_repo: Callable[..., GitRepo], capsys: pytest.CaptureFixture[str]
) -> None:
    source = (
        'package elsewhere\n\nimport rego.v1\n\ndeny contains {"msg": "look there", "path": "rules/x.rego", "line": 3}'
        ' if true\n\ndeny contains {"msg": "and here", "path": "docs/a.md", "line": 1} if true\n'
    )
    files = {".maestro/policies/elsewhere.rego": source, ".maestro/changebot.yaml": NO_LIBRARY}
    repo = _pr(make_repo, files, {"docs/a.md": "a\n"})
    code, doc = plan(repo, capsys, "--base", "main", "--head", "feature")
    assert code == 1
    found = sorted(((f["path"] or "", f["line"], f["message"]) for f in gate_of(doc, "policy")["findings"]), key=str)
    assert found == [
        ("", None, "package elsewhere: look there (at rules/x.rego, not in this repository)"),
        ("docs/a.md", 1, "package elsewhere: and here"),
    ]
