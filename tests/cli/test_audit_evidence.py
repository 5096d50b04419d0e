"""``changebot audit --evidence`` and ``changebot evidence verify`` end to end.

The GitHub double serves paged listings; the calendar is a Denver weekend freeze, so the scenario crosses both
DST weekends (2025-11-01/02, 49 hours; 2026-03-07/08, 47 hours) and puts merges on each edge of a window.
Keys are made by the ``openssl`` command, and signatures are checked with it over PAE bytes this file builds:
an implementation the signing code (``cryptography``) does not use.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from changebot.adapters import dsse
from changebot.cli import main
from changebot.core.sticky import STICKY_MARKER, encode
from changebot.model import GateId, Override
from tests.support.required import require

REPO = "octo/payments"
POLICY = """\
default_branch: main
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - name: "Weekend freeze"
      rrule: "FREQ=WEEKLY;BYDAY=SA,SU"
      active: true
"""
SINCE, NOW = "2025-10-27T00:00:00Z", "2026-03-11T12:00:00Z"
SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "freeze-audit-evidence.v1.schema.json").read_text())


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def sha(number: int, kind: str) -> str:
    return hashlib.sha1(f"{kind}{number}".encode(), usedforsecurity=False).hexdigest()


def merge(github: Any, number: int, when: str, branch: str = "main", state: str = "closed") -> None:
    github.add_pull(
        REPO,
        number,
        head_sha=sha(number, "head"),
        base_sha="b" * 40,
        base_ref=branch,
        title=f"Change {number}",
        state=state,
        merged_at=when if state == "closed" else None,
        merged_by=f"merger{number % 3}",
        updated_at=when,
        merge_commit_sha=sha(number, "merge") if state == "closed" else None,
    )


#: number -> (merged at, expected window or None). Denver weekends in UTC: fall 2025-11-01T06:00Z to
#: 2025-11-03T07:00Z (DST ends: 49 h); spring 2026-03-07T07:00Z to 2026-03-09T06:00Z (DST starts: 47 h).
EDGES = {
    1: ("2025-11-01T06:00:00Z", "Weekend freeze"),  # the window's exact start: frozen
    2: ("2025-11-03T07:00:00Z", None),  # its exact end: not frozen (ends are exclusive)
    3: ("2025-11-03T06:59:59Z", "Weekend freeze"),  # the 49th hour of the fall weekend (Sun 23:59 MST)
    4: ("2026-03-07T06:59:59Z", None),  # Fri 23:59:59 MST: before the spring weekend
    5: ("2026-03-07T07:00:00Z", "Weekend freeze"),  # spring start
    6: ("2026-03-09T05:59:59Z", "Weekend freeze"),  # last second of the 47-hour weekend
    7: ("2026-03-09T06:00:00Z", None),  # Mon 00:00 MDT: spring end
}


@pytest.fixture
def scene(make_repo: Callable[..., Any], github: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    repo = make_repo({"release-policy.yml": POLICY, "README.md": "payments\n"})
    for number, (when, _) in EDGES.items():
        merge(github, number, when)
    merge(github, 8, "2025-11-01T12:00:00Z", branch="release/1.x")  # frozen moment, ungoverned branch
    merge(github, 9, "2025-10-25T12:00:00Z")  # a frozen Saturday before the period
    merge(github, 10, "2025-11-02T12:00:00Z", state="open")  # never merged
    start = at("2025-11-04T15:00:00Z")  # Tuesday afternoons, never frozen: enough merges to page the listing
    for i in range(130):
        when = start + timedelta(days=7 * (i % 18), minutes=i)
        merge(github, 100 + i, when.isoformat().replace("+00:00", "Z"))
    granted = at("2026-03-07T06:00:00Z")
    ok = Override(GateId.FREEZE, "release-captain", "payment outage hotfix INC-981", granted, None, sha(5, "head"))
    github.add_comment(REPO, 5, "### changebot\n" + STICKY_MARKER + "\n" + encode([ok]), github.bot_login)
    github.check_runs[REPO] = [
        {
            "id": github.new_id(),
            "name": "changebot",
            "head_sha": sha(5, "head"),
            "status": "completed",
            "conclusion": "neutral",
            "external_id": None,
            "output": {"title": "overridden", "summary": "", "text": None},
            "_annotations": [],
        }
    ]
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    monkeypatch.setenv("CHANGEBOT_BOT_LOGIN", github.bot_login)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return {"repo": repo, "api": github.base_url}


def audit(scene: dict[str, Any], *extra: str) -> list[str]:
    checkout = str(scene["repo"].path)
    return ["audit", "--repo", REPO, "--checkout", checkout, "--ref", "HEAD", "--api-url", scene["api"],
            "--since", SINCE, "--now", NOW, "--format", "json", *extra]  # fmt: skip


def openssl(*args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=False)


def keypair(tmp_path: Path, kind: str, name: str = "key") -> tuple[Path, Path]:
    require(shutil.which("openssl") is not None, "the openssl command (the independent DSSE verifier)")
    private, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
    spec = (
        ["-algorithm", "ed25519"] if kind == "ed25519" else ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
    )
    assert openssl("genpkey", *spec, "-out", str(private)).returncode == 0
    assert openssl("pkey", "-in", str(private), "-pubout", "-out", str(public)).returncode == 0
    return private, public


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding, written from the spec for this test."""
    kind = payload_type.encode()
    return b" ".join([b"DSSEv1", str(len(kind)).encode(), kind, str(len(payload)).encode(), payload])


def test_the_statement_lists_every_governed_merge_of_the_period_and_validates(
    scene: dict[str, Any], github: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evidence.json"
    assert main(audit(scene, "--evidence", str(out))) == 1  # PRs 1, 3 and 6 were merged frozen, unauthorised
    statement = json.loads(out.read_text())
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(statement)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://changebot.dev/attestation/freeze-audit/v1"
    predicate = statement["predicate"]
    records = {m["number"]: m for m in predicate["merges"]}
    assert sorted(records) == [*EDGES, *range(100, 230)]  # not 8 (ungoverned), 9 (before), 10 (unmerged)
    assert len(statement["subject"]) == len(records)
    assert {"name": f"{REPO}#3", "digest": {"gitCommit": sha(3, "merge")}} in statement["subject"]
    for number, (when, window) in EDGES.items():
        record = records[number]
        assert at(record["merged_at"]) == at(when)
        assert (record["window"] or {}).get("name") == window, number
    # Each weekend day is one occurrence of the rule: the Sundays the clocks change last 25 and 23 hours.
    assert (records[3]["window"]["start"], records[3]["window"]["end"]) == (
        "2025-11-02T00:00:00-06:00",
        "2025-11-03T00:00:00-07:00",
    )
    assert (records[6]["window"]["start"], records[6]["window"]["end"]) == (
        "2026-03-08T00:00:00-07:00",
        "2026-03-09T00:00:00-06:00",
    )
    assert [records[n]["authorisation"] for n in (1, 2, 3, 5)] == [
        "unauthorised",
        "not-frozen",
        "unauthorised",
        "override",
    ]
    assert records[5]["override"]["actor"] == "release-captain"
    assert records[5]["override"]["comment_url"].endswith(f"#issuecomment-{github.comments[REPO][5][0]['id']}")
    assert records[5]["check"] == {"name": "changebot", "conclusion": "neutral"}
    assert records[1]["check"] == {"name": "changebot", "conclusion": None}
    assert records[101]["merged_by"] == "merger2"  # read per merge: the list API does not say who merged
    assert predicate["totals"] == {"merges": 137, "in_freeze": 4, "unauthorised": 3}
    blob = scene["repo"].git("rev-parse", "HEAD:release-policy.yml").strip()
    commit = scene["repo"].git("rev-parse", "HEAD").strip()
    assert predicate["calendar"] == [{"path": "release-policy.yml", "ref": commit, "blob": blob}]
    assert predicate["period"]["since"] == "2025-10-27T00:00:00+00:00"
    listings = github.calls("GET", "/repos/{owner}/{repo}/pulls")
    assert len([c for c in listings if c.query.get("state") == ["closed"]]) == 2  # 139 closed PRs: two pages
    assert "evidence written to" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["ed25519", "ecdsa-p256"])
def test_a_signed_statement_verifies_with_openssl_and_with_changebot(
    scene: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    private, public = keypair(tmp_path, kind)
    out = tmp_path / "evidence.dsse.json"
    assert main(audit(scene, "--evidence", str(out), "--sign-key", str(private))) == 1
    envelope = json.loads(out.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    payload = base64.b64decode(envelope["payload"])
    assert json.loads(payload)["_type"] == "https://in-toto.io/Statement/v1"
    (signature,) = envelope["signatures"]
    der = openssl("pkey", "-pubin", "-in", str(public), "-outform", "DER").stdout
    assert signature["keyid"] == hashlib.sha256(der).hexdigest()
    (tmp_path / "pae.bin").write_bytes(pae(envelope["payloadType"], payload))
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(signature["sig"]))
    if kind == "ed25519":
        check = openssl("pkeyutl", "-verify", "-pubin", "-inkey", str(public), "-rawin",
                        "-in", str(tmp_path / "pae.bin"), "-sigfile", str(tmp_path / "sig.bin"))  # fmt: skip
    else:
        check = openssl("dgst", "-sha256", "-verify", str(public), "-signature", str(tmp_path / "sig.bin"),
                        str(tmp_path / "pae.bin"))  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    capsys.readouterr()
    assert main(["evidence", "verify", str(out), "--key", str(public)]) == 0
    printed = capsys.readouterr().out
    assert f"OK: signed by key {signature['keyid']}" in printed
    assert "137 merge(s), 4 during a freeze, 3 unauthorised" in printed


def _tampered(envelope: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    statement = json.loads(base64.b64decode(envelope["payload"]))
    change(statement)
    return {**envelope, "payload": base64.b64encode(json.dumps(statement).encode()).decode()}


def _drop_subject(statement: dict[str, Any]) -> None:
    del statement["subject"][0]


def _launder_record(statement: dict[str, Any]) -> None:
    record = next(m for m in statement["predicate"]["merges"] if m["authorisation"] == "unauthorised")
    record["authorisation"], record["window"] = "not-frozen", None


def test_tampering_fails_verification_and_nothing_prints_a_traceback(
    scene: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keypair(tmp_path, "ed25519")
    _, other = keypair(tmp_path, "ecdsa-p256", "other")
    out = tmp_path / "evidence.dsse.json"
    assert main(audit(scene, "--evidence", str(out), "--sign-key", str(private))) == 1
    envelope = json.loads(out.read_text())
    cases: dict[str, tuple[dict[str, Any] | bytes, Path, int, str]] = {
        "dropped-subject": (_tampered(envelope, _drop_subject), public, 1, "no signature verifies"),
        "laundered-record": (_tampered(envelope, _launder_record), public, 1, "no signature verifies"),
        "other-key": (envelope, other, 1, "no signature verifies"),
        "not-an-envelope": ({"hello": "world"}, public, 1, "not a DSSE envelope"),
        "not-json": (b"{nope", public, 2, "is not JSON"),
    }
    for name, (content, key, status, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
        capsys.readouterr()
        assert main(["evidence", "verify", str(path), "--key", str(key)]) == status, name
        err = capsys.readouterr().err
        assert message in err, (name, err)
        assert "Traceback" not in err
    (tmp_path / "garbage.pem").write_text("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    for argv, message in (
        (["evidence", "verify", str(tmp_path / "missing.json"), "--key", str(public)], "cannot read evidence file"),
        (["evidence", "verify", str(out), "--key", str(tmp_path / "garbage.pem")], "is not a PEM public key"),
        (["evidence", "verify", str(out), "--key", str(tmp_path / "nokey.pem")], "cannot read key"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_a_validly_signed_statement_that_breaks_its_schema_is_invalid(
    scene: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    private, public = keypair(tmp_path, "ed25519")
    out = tmp_path / "evidence.json"
    assert main(audit(scene, "--evidence", str(out))) == 1
    statement = json.loads(out.read_text())
    statement["predicate"]["totals"]["unauthorised"] = 0  # signed by the right key, but it lies about its records
    signer = dsse.signer_from_pem(private.read_bytes())
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(dsse.envelope(json.dumps(statement).encode(), signer)))
    capsys.readouterr()
    assert main(["evidence", "verify", str(forged), "--key", str(public)]) == 1
    assert "breaks its schema: $.predicate.totals" in capsys.readouterr().err
    unsigned = main(["evidence", "verify", str(out), "--key", str(public)])
    assert unsigned == 1
    assert "unsigned statement" in capsys.readouterr().err


def test_a_bad_signing_key_is_refused_before_anything_is_read(
    scene: dict[str, Any], github: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rsa = tmp_path / "rsa.pem"
    require(shutil.which("openssl") is not None, "the openssl command")
    assert openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(rsa)).returncode == 0
    out = tmp_path / "evidence.json"
    assert main(audit(scene, "--evidence", str(out), "--sign-key", str(rsa))) == 2
    assert "is not an Ed25519 or ECDSA P-256 key" in capsys.readouterr().err
    assert not out.exists()
    assert github.requests == []
    assert main(audit(scene, "--sign-key", str(rsa))) == 2
    assert "give --evidence FILE too" in capsys.readouterr().err
