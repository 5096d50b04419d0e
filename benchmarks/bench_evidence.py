"""Audit evidence for a 90-day period with 1,000 merges, against the GitHub double answering in 50 ms a call.

Prints the API calls by kind and the wall time of ``changebot audit --evidence --sign-key`` (Ed25519), and the
cost of signing and verifying the statement with ``cryptography`` (what changebot uses) and, when installed,
securesystemslib. Usage: python benchmarks/bench_evidence.py [--merges 1000] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from changebot.cli import main  # noqa: E402
from tests.support.github_double import GitHubDouble  # noqa: E402

START = datetime(2025, 9, 1, tzinfo=UTC)
NOW = START + timedelta(days=90)
POLICY = """\
freeze:
  enabled: true
  timezone: America/Denver
  windows:
    - {name: "Weekend freeze", rrule: "FREQ=WEEKLY;BYDAY=SA,SU", active: true}
"""


class SlowDouble(GitHubDouble):
    """The double, answering each request after ``latency`` seconds (as a distant API would)."""

    latency = 0.05

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        time.sleep(self.latency)
        return super().handle(method, target, headers, raw)


def git(path: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@x"}  # fmt: skip
    subprocess.run(["git", "-C", str(path), *args], check=True, env=env)


def sign_costs(payload: bytes, key_pem: bytes) -> list[str]:
    from changebot.adapters import dsse  # noqa: PLC0415

    out: list[str] = []
    signer = dsse.signer_from_pem(key_pem)
    started = time.perf_counter()
    for _ in range(100):
        env = dsse.envelope(payload, signer)
    per = (time.perf_counter() - started) / 100
    public = signer.key.public_key()
    started = time.perf_counter()
    for _ in range(100):
        dsse.open_envelope(env, public)
    out.append(f"cryptography: sign {per * 1000:.2f} ms, verify {(time.perf_counter() - started) * 10:.2f} ms")
    try:
        started = time.perf_counter()
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from securesystemslib.signer import CryptoSigner  # noqa: PLC0415

        imported = time.perf_counter() - started
        key: Any = serialization.load_pem_private_key(key_pem, password=None)
        ssl_signer = CryptoSigner(key)
        started = time.perf_counter()
        for _ in range(100):
            sig = ssl_signer.sign(dsse.pae(dsse.PAYLOAD_TYPE, payload))
        per = (time.perf_counter() - started) / 100
        started = time.perf_counter()
        for _ in range(100):
            ssl_signer.public_key.verify_signature(sig, dsse.pae(dsse.PAYLOAD_TYPE, payload))
        out.append(
            f"securesystemslib: import {imported * 1000:.0f} ms, sign {per * 1000:.2f} ms, "
            f"verify {(time.perf_counter() - started) * 10:.2f} ms"
        )
    except ImportError:
        out.append("securesystemslib: not installed")
    return out


def run(merges: int, latency: float) -> None:
    double = SlowDouble(token="bench-token")  # noqa: S106 - the double's fixed token
    double.latency = latency
    step = timedelta(days=90) / merges
    for n in range(1, merges + 1):
        at = (START + step * n).isoformat().replace("+00:00", "Z")
        double.add_pull("bench/repo", n, head_sha=f"{n:040x}", base_sha="b" * 40, state="closed", merged_at=at,
                        merged_by="maria", updated_at=at, merge_commit_sha=f"{n + 10**6:040x}")  # fmt: skip
    server = double.serve()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp)
            (path / "release-policy.yml").write_text(POLICY)
            git(path, "init", "-q", "-b", "main")
            git(path, "add", "-A")
            git(path, "commit", "-qm", "calendar")
            subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(path / "k.pem")], check=True)
            os.environ.update({"GITHUB_TOKEN": "bench-token", "CHANGEBOT_BOT_LOGIN": double.bot_login})
            devnull = open(os.devnull, "w")  # noqa: PTH123, SIM115
            stdout, sys.stdout = sys.stdout, devnull
            started = time.perf_counter()
            try:
                status = main(["audit", "--repo", "bench/repo", "--checkout", tmp, "--ref", "HEAD",
                               "--api-url", double.base_url, "--since", START.isoformat(), "--now", NOW.isoformat(),
                               "--format", "json", "--evidence", str(path / "e.json"),
                               "--sign-key", str(path / "k.pem")])  # fmt: skip
            finally:
                sys.stdout = stdout
                devnull.close()
            elapsed = time.perf_counter() - started
            size = (path / "e.json").stat().st_size
            import base64  # noqa: PLC0415
            import json  # noqa: PLC0415

            payload = base64.b64decode(json.loads((path / "e.json").read_text())["payload"])
            costs = sign_costs(payload, (path / "k.pem").read_bytes())
    finally:
        server.stop()
    kinds = collections.Counter(c.template for c in double.requests)
    print(f"evidence for {merges} merges over 90 days, {latency * 1000:.0f} ms per call: exit {status}, "
          f"{elapsed:.1f} s, {len(double.requests)} API calls, envelope {size / 1024:.0f} KiB")  # fmt: skip
    for template, count in kinds.most_common():
        print(f"  {count:5d}  GET {template}")
    for line in costs:
        print(f"  {line}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--merges", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()
    run(args.merges, args.latency_ms / 1000)
