"""A loopback server speaking OPA's REST Data API, backed by the embedded engine (or misbehaving on purpose).

``POST /v1/data/<path>`` with ``{"input": ...}`` answers ``{"result": value}``, or ``{}`` when the document is
undefined, exactly as OPA does; ``GET /health`` answers 200. ``mode`` makes it misbehave:

``hang`` never answers; ``hang-post`` is healthy but never answers a query; ``trickle`` sends a body one byte
at a time; ``500`` always answers a server error (``requests`` counts them); ``flaky`` answers 500 to the first
request, then normally; ``html`` answers a 200 HTML page; ``empty`` answers ``{}``; ``list`` a JSON list.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from changebot.adapters.engines.rego import EmbeddedRego
from changebot.core.policy.decisions import Module


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    modules: Sequence[Module] = ()
    mode = "normal"
    requests = 0
    stop = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.server.mode == "hang":
            self.server.stop.wait(30)
            return
        self._send(200 if self.path == "/health" else 404, b"{}")

    def do_POST(self) -> None:
        self.server.requests += 1
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        mode = self.server.mode
        if mode == "hang-post":
            self.server.stop.wait(30)
            return
        if mode == "trickle":  # headers at once, then one byte every 0.2 s: each read is quick, the whole is not
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(50):
                if self.server.stop.wait(0.2):
                    return
                self.wfile.write(b" ")
                self.wfile.flush()
            return
        if mode == "500" or (mode == "flaky" and self.server.requests == 1):
            self._send(500, b'{"code": "internal_error"}')
            return
        if mode == "html":
            self._send(200, b"<html><body>502 Bad Gateway</body></html>", "text/html")
            return
        if mode in ("empty", "list"):
            self._send(200, b"{}" if mode == "empty" else b"[]")
            return
        if not self.path.startswith("/v1/data/"):
            self._send(404, b'{"code": "not_found"}')
            return
        package = self.path.removeprefix("/v1/data/").strip("/").replace("/", ".")
        evaluation = EmbeddedRego(5.0).evaluate(self.server.modules, [package], body.get("input"))
        result = evaluation.results[0]
        if result.kind == "ok":
            self._send(200, json.dumps({"result": result.value}).encode())
        elif result.kind == "undefined":
            self._send(200, b"{}")
        else:
            self._send(500, json.dumps({"code": "internal_error", "message": result.message}).encode())


@contextmanager
def opa_double(modules: Mapping[str, str] | Sequence[Module] = (), mode: str = "normal") -> Iterator[_Server]:
    """Serve on 127.0.0.1 (a free port) until the block ends; ``server.url`` is the base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stop = threading.Event()
    server.modules = [Module(p, s) for p, s in modules.items()] if isinstance(modules, Mapping) else list(modules)
    server.mode = mode
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
        time.sleep(0)
