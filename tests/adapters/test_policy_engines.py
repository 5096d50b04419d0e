"""Both policy engines on real-world style policies: the embedded one isolated, the OPA one over loopback HTTP."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from changebot.adapters.engines.opa import OpaServer
from changebot.adapters.engines.rego import EmbeddedRego, library_modules
from changebot.core.policy.decisions import Module
from changebot.core.policy.gate import PolicyOutcome, package_of, run_policies
from changebot.model import Finding, Status
from tests.support.opa import require_opa
from tests.support.opa_double import opa_double
from tests.support.opa_server import opa_server
from tests.support.rego_suite import (
    IMPORT_FIRST,
    LOOPS,
    NO_SUCH_BUILTIN,
    REGEX_LITERAL,
    SUITE,
    suite_input,
)

EMBEDDED = EmbeddedRego(timeout_seconds=2.0)
MODULES = [Module(p, s) for p, s in SUITE.items()]


def summary(outcome: PolicyOutcome) -> list[tuple[str, str, str, str | None, int | None]]:
    return [(str(f.severity), f.code, f.message, f.path, f.line) for f in outcome.findings]


EXPECTED_SUITE = [
    (
        "error",
        "policy-deny",
        "package legacy.merge: secrets/key.pem must not be committed",
        ".maestro/policies/legacy.rego",
        7,
    ),
    (
        "warning",
        "policy-warn",
        "package legacy.merge: the pull request has no title",
        ".maestro/policies/legacy.rego",
        13,
    ),
    (
        "error",
        "policy-deny",
        "package maestro.gate: .maestro/changes/r.yaml: release bundle needs owners.DRI",
        ".maestro/policies/gate.rego",
        27,
    ),
    (
        "error",
        "policy-deny",
        "package maestro.gate: CI estimate is 120% of the hard cap",
        ".maestro/policies/gate.rego",
        27,
    ),
    ("warning", "policy-warn", "package maestro.gate: large PR: 4 files", ".maestro/policies/gate.rego", 27),
    (
        "error",
        "policy-deny",
        "package team.shared: draft pull requests cannot merge",
        ".maestro/policies/shared_a.rego",
        5,
    ),
    ("error", "policy-deny", "package team.shared: labelled do-not-merge", ".maestro/policies/shared_a.rego", 5),
]
SUITE_INPUT = suite_input(files=["secrets/key.pem", "a", "b", "c"], title="", draft=True, labels=["do-not-merge"])


def test_embedded_engine_decides_the_real_world_shapes() -> None:
    outcome = run_policies(MODULES, SUITE_INPUT, EMBEDDED)
    assert outcome.status is Status.FAIL
    assert summary(outcome) == EXPECTED_SUITE
    assert [p.package for p in outcome.packages] == ["legacy.merge", "maestro.gate", "team.shared"]
    assert outcome.packages[2].files == (".maestro/policies/shared_a.rego", ".maestro/policies/shared_b.rego")


def test_a_clean_input_passes() -> None:
    clean = suite_input(title="ok")
    clean["bundles"] = []
    clean["budget"] = None
    assert run_policies(MODULES, clean, EMBEDDED).findings == ()


def test_files_that_do_not_compile_are_reported_and_the_rest_still_run() -> None:
    broken = [
        Module("p/import_first.rego", IMPORT_FIRST),
        Module("p/builtin.rego", NO_SUCH_BUILTIN),
        Module("p/regex.rego", REGEX_LITERAL),
    ]
    outcome = run_policies([*broken, *MODULES], SUITE_INPUT, EMBEDDED)
    by_code: dict[str, list[Finding]] = {}
    for f in outcome.findings:
        by_code.setdefault(f.code, []).append(f)
    compile_errors = {(f.path, f.line) for f in by_code["policy-compile-error"]}
    assert compile_errors == {("p/import_first.rego", 1), ("p/builtin.rego", 6), ("p/regex.rego", 6)}
    assert "expecting `package`" in by_code["policy-compile-error"][0].message
    builtin = next(f for f in by_code["policy-compile-error"] if f.path == "p/builtin.rego")
    assert "calls no_such_builtin, which the embedded engine (regorus) does not have" in builtin.message
    assert "policy-eval-error" not in by_code  # found at load time, not when the branch runs
    assert len(by_code["policy-deny"]) == 5  # the good policies still decided
    assert outcome.status is Status.FAIL


def test_a_policy_that_loops_is_stopped_and_the_rest_still_run() -> None:
    started = time.monotonic()
    outcome = run_policies([Module("p/loop.rego", LOOPS), *MODULES], SUITE_INPUT, EmbeddedRego(timeout_seconds=1.0))
    assert time.monotonic() - started < 6
    timeouts = [f for f in outcome.findings if f.code == "policy-timeout"]
    assert [(f.path, f.message) for f in timeouts] == [
        ("p/loop.rego", "package slow.loop: evaluation did not finish within 1 s (stopped)")
    ]
    assert len([f for f in outcome.findings if f.code == "policy-deny"]) == 5


def test_an_engine_crash_is_a_failing_finding_not_a_crash_of_changebot() -> None:
    hog = "package mem.hog\n\nimport rego.v1\n\nsize := count([x | some x in numbers.range(1, 100000000)])\n"
    engine = EmbeddedRego(timeout_seconds=10.0, address_space=300 * 1024 * 1024)
    outcome = run_policies([Module("p/hog.rego", hog), *MODULES], SUITE_INPUT, engine)
    crashed = [f for f in outcome.findings if f.code == "policy-crashed"]
    assert [f.path for f in crashed] == ["p/hog.rego"]
    assert re.search(r"the Rego engine crashed \(the evaluator was killed by signal SIG\w+\)", crashed[0].message)
    assert len([f for f in outcome.findings if f.code == "policy-deny"]) == 5


def test_undefined_and_empty_packages_fail_closed() -> None:
    only_allow = 'package only.allow\n\nimport rego.v1\n\nallow if input.pr.title == "yes"\n'
    outcome = run_policies([Module("p/allow.rego", only_allow)], suite_input(), EMBEDDED)
    assert summary(outcome) == [
        (
            "error",
            "policy-undefined",
            "package only.allow: data.only.allow is empty (no deny, warn or decision is defined): failing closed",
            "p/allow.rego",
            None,
        )
    ]
    outcome = run_policies([Module("p/allow.rego", only_allow)], suite_input(), EMBEDDED, ["no.such"])
    assert outcome.findings[0].code == "policy-undefined"


def test_allow_false_and_bad_shapes() -> None:
    allow_false = "package a.b\n\nimport rego.v1\n\ndefault allow := false\n"
    bad_decision = 'package c.d\n\nimport rego.v1\n\ndecision := {"allow": "yes"}\n'
    bad_deny = "package e.f\n\nimport rego.v1\n\ndeny := 3\n"
    modules = [Module("a.rego", allow_false), Module("c.rego", bad_decision), Module("e.rego", bad_deny)]
    assert summary(run_policies(modules, suite_input(), EMBEDDED)) == [
        ("error", "policy-deny", "package a.b: allow is false", "a.rego", 5),
        ("error", "policy-bad-result", "package c.d: 'decision' must be an object with a boolean 'allow'", "c.rego", 5),
        ("error", "policy-bad-result", "package e.f: 'deny' must be a set of messages, found int", "e.rego", 5),
    ]


# --- the default library, tested with its own *_test.rego through the engine -------------------------------

LIBRARY_ROOT = Path(__file__).resolve().parents[2] / "rules"
LIBRARY_TESTS = sorted(LIBRARY_ROOT.rglob("*_test.rego"))


def _rego_tests(modules: list[Module]) -> dict[str, dict[str, object]]:
    tests = [m for m in modules if m.path.endswith("_test.rego")]
    packages = [package_of(m.source) or "" for m in tests]
    evaluation = EMBEDDED.evaluate(modules, packages, {})
    assert dict(evaluation.compile_errors) == {}
    out: dict[str, dict[str, object]] = {}
    for module, package, result in zip(tests, packages, evaluation.results, strict=True):
        assert result.kind == "ok", result
        names = re.findall(r"^(test_\w+)", module.source, re.MULTILINE)
        assert names, f"{module.path} has no tests"
        out[package] = {name: result.value.get(name) for name in names}
    return out


def test_default_library_rego_tests_pass() -> None:
    modules = [
        Module(p.relative_to(LIBRARY_ROOT).as_posix(), p.read_text(encoding="utf-8"))
        for p in sorted(LIBRARY_ROOT.rglob("*.rego"))
    ]
    results = _rego_tests(modules)
    assert set(results) == {"changebot.bundles_test"}
    failing = {f"{pkg}.{name}" for pkg, tests in results.items() for name, value in tests.items() if value is not True}
    assert failing == set()


def test_a_failing_rego_test_is_detected() -> None:
    modules = [Module(p.name, p.read_text(encoding="utf-8")) for p in sorted(LIBRARY_ROOT.rglob("bundles*.rego"))]
    wrong = (
        "package changebot.bundles_wrong_test\n\nimport rego.v1\n\nimport data.changebot.bundles\n\n"
        'test_wrong if {\n\tcount(bundles.deny) == 1 with input as {"bundles": []}\n}\n'
    )
    results = _rego_tests([*modules, Module("wrong_test.rego", wrong)])
    assert results["changebot.bundles_wrong_test"] == {"test_wrong": None}


def test_every_library_policy_has_tests() -> None:
    policies = {p.name.removesuffix(".rego") for p in LIBRARY_ROOT.rglob("*.rego") if not p.name.endswith("_test.rego")}
    assert policies == {p.name.removesuffix("_test.rego") for p in LIBRARY_TESTS}
    assert len(library_modules()) == len(policies)


# --- OPA over HTTP ------------------------------------------------------------------------------------------


@contextmanager
def real_opa(tmp_path: Path) -> Iterator[str]:
    """``opa run --server`` (the pinned OPA) on a free loopback port with the suite loaded. The suite mixes v0
    syntax and v1 files that ``import rego.v1``, which OPA 1.x reads together with ``--v0-compatible``."""
    policies = {Path(path).name: source for path, source in SUITE.items()}
    with opa_server(require_opa(), tmp_path, policies, v0_compatible=True) as url:
        yield url


@pytest.mark.parametrize("server_kind", ["double", "opa-binary"])
def test_http_path_gives_identical_decisions(server_kind: str, tmp_path: Path) -> None:
    if server_kind == "double":
        with opa_double(SUITE) as server:
            over_http = run_policies(MODULES, SUITE_INPUT, OpaServer(server.url, timeout_seconds=5))
    else:
        with real_opa(tmp_path) as url:
            over_http = run_policies(MODULES, SUITE_INPUT, OpaServer(url, timeout_seconds=5))
    embedded = run_policies(MODULES, SUITE_INPUT, EMBEDDED)
    assert summary(over_http) == summary(embedded) == EXPECTED_SUITE
    assert over_http.packages == embedded.packages


def test_http_path_asks_for_configured_packages() -> None:
    with opa_double(SUITE) as server:
        outcome = run_policies([], SUITE_INPUT, OpaServer(server.url), ["team.shared"])
    assert [f.message for f in outcome.findings] == [
        "package team.shared: draft pull requests cannot merge",
        "package team.shared: labelled do-not-merge",
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("mode", "code", "text"),
    [
        ("500", "policy-http-status", 'answered HTTP 500: {"code": "internal_error"} (after 3 attempt(s))'),
        ("html", "policy-not-json", "answered text/html, not JSON: '<html><body>502 Bad Gateway</body></html>'"),
        ("empty", "policy-undefined", "data.team.shared is undefined (no decision): failing closed"),
        ("list", "policy-bad-result", "answered JSON list, expected an object"),
        ("hang", "policy-timeout", "OPA health check at"),
        ("hang-post", "policy-timeout", "/v1/data/team/shared: no answer within 1 s"),
        ("trickle", "policy-timeout", "/v1/data/team/shared: no answer within 1 s"),
    ],
)
def test_misbehaving_opa_servers_fail_closed(mode: str, code: str, text: str) -> None:
    started = time.monotonic()
    with opa_double(SUITE, mode=mode) as server:
        outcome = run_policies(MODULES[2:], SUITE_INPUT, OpaServer(server.url, timeout_seconds=1.0, retries=2))
        requests = server.requests
    assert time.monotonic() - started < 5
    assert outcome.status is Status.FAIL
    (finding,) = outcome.findings
    assert finding.code == code
    assert text in finding.message
    assert finding.path == ".maestro/policies/shared_a.rego"
    if mode == "500":
        assert requests == 3  # one try and two retries with backoff


def test_a_5xx_is_retried() -> None:
    with opa_double(SUITE, mode="flaky") as server:
        outcome = run_policies(MODULES[2:], SUITE_INPUT, OpaServer(server.url, retries=1))
        assert server.requests == 2
    assert [f.code for f in outcome.findings] == ["policy-deny", "policy-deny"]


def test_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    outcome = run_policies(MODULES[2:], SUITE_INPUT, OpaServer(url, timeout_seconds=2.0))
    assert time.monotonic() - started < 3
    (finding,) = outcome.findings
    assert finding.code == "policy-unreachable"
    assert finding.message.startswith(f"package team.shared: OPA health check at {url}/health failed: cannot connect")
    assert OpaServer(url, timeout_seconds=1.0).health() is not None


def test_health_check() -> None:
    with opa_double(SUITE) as server:
        assert OpaServer(server.url).health() is None


def test_two_files_defining_allow_in_one_package() -> None:
    first = 'package merge.allow\n\nimport rego.v1\n\ndefault allow := false\n\nallow if input.pr.title == "release"\n'
    second = 'package merge.allow\n\nimport rego.v1\n\nallow if "hotfix" in input.pr.labels\n'
    modules = [Module("a.rego", first), Module("b.rego", second)]
    assert run_policies(modules, suite_input(title="release"), EMBEDDED).findings == ()
    assert run_policies(modules, suite_input(title="x", labels=["hotfix"]), EMBEDDED).findings == ()
    assert summary(run_policies(modules, suite_input(title="x"), EMBEDDED)) == [
        ("error", "policy-deny", "package merge.allow: allow is false", "a.rego", 5)
    ]
