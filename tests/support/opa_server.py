"""A real OPA server (``opa run --server``) on a free loopback port, with the given policies loaded."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from changebot.adapters.engines.opa import OpaServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def opa_server(binary: str, root: Path, policies: Mapping[str, str], v0_compatible: bool = False) -> Iterator[str]:
    """``opa run --server`` on 127.0.0.1 with ``policies`` (name -> Rego) written under ``root``; yields its URL
    once ``GET /health`` answers 200 (within 10 s), and stops it after."""
    root.mkdir(parents=True, exist_ok=True)
    for name, source in policies.items():
        (root / name).write_text(source, encoding="utf-8")
    port = free_port()
    args = [binary, "run", "--server", "--disable-telemetry", "--addr", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(
        [*args, *(["--v0-compatible"] if v0_compatible else []), str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while OpaServer(url, timeout_seconds=0.5, retries=0).health() is not None:
            assert proc.poll() is None, f"opa run --server exited with status {proc.returncode}"
            assert time.monotonic() < deadline, "opa did not become healthy within 10 s"
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(5)
