"""Run untrusted evaluation (JavaScript rules, Rego policies) in a child process under a deadline.

The engines changebot embeds are native code: a policy that loops, a regular expression that backtracks for
ever, or a bug in the engine could hang or kill the process that runs it. So they never run in changebot's
process. ``run_items`` starts ``python -I .../adapters/engines/sandbox.py``, sends it one JSON request line
with a list of *items* (one rule, one query), and reads back one JSON line per item as the child finishes it::

    parent                                   child (changebot.adapters.engines.sandbox)
    {"op": ..., "items": [...]}  ───────▶   imports its engine
                                 ◀───────   {"ready": true}
                                            evaluates items in order
                                 ◀───────   {"i": 0, ...}   one line per item
                                 ◀───────   {"note": ...}   side messages (e.g. a module that did not compile)
                                 ◀───────   {"done": true}

Each item has its own deadline. When the child misses it, or dies (a signal, an allocation past its address
space limit), the parent kills the child, records that item as ``timeout`` or ``crashed`` and starts a fresh
child for the items that remain: one bad rule costs its own deadline and never takes changebot down.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The child's program. It imports nothing from changebot, so it runs by path in isolated mode (``-I``: no
#: environment variables, no user site, no current directory on ``sys.path``) wherever changebot is installed.
SANDBOX = Path(__file__).resolve().with_name("sandbox.py")
#: Seconds a fresh child may take to start and import its engine, on top of the first item's deadline.
STARTUP_SECONDS = 5.0
#: Largest reply line accepted from a child.
MAX_LINE_BYTES = 64 * 1024 * 1024
#: Seconds one ``run_items`` call may take in all, on top of each item's own deadline: a file of thousands of
#: items that each run to their deadline (a pull request's rules.json preview) must not hold a worker for hours.
#: Items not finished by then are ``timeout`` (never a pass).
BATCH_SECONDS = 60.0
#: Seconds all the ``run_items`` calls of one gate may take together (``gate_budget``): the base evaluation and
#: the head preview share them, so a pull request of slow rules or looping policies costs one budget per gate.
GATE_SECONDS = 20.0


@dataclass
class GateBudget:
    """One gate's shared deadline (a ``time.monotonic()`` instant); ``spent`` once a call ran into it."""

    what: str
    seconds: float
    deadline: float
    spent: bool = False

    @property
    def reason(self) -> str:
        return f"the {self.what}'s {self.seconds:g} s budget ran out"


_BUDGET: contextvars.ContextVar[GateBudget | None] = contextvars.ContextVar("changebot_gate_budget", default=None)


@contextlib.contextmanager
def gate_budget(what: str) -> Iterator[GateBudget]:
    """Every ``run_items`` call inside shares one deadline ``GATE_SECONDS`` from now; ``what`` names the gate."""
    budget = GateBudget(what, GATE_SECONDS, time.monotonic() + GATE_SECONDS)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


@dataclass(frozen=True)
class Outcome:
    """What became of one item: ``kind`` is ``ok``, ``error``, ``timeout`` or ``crashed``."""

    kind: str
    value: Any = None
    message: str = ""


@dataclass(frozen=True)
class Batch:
    """All outcomes (one per item, in order) and the side notes the child sent."""

    outcomes: tuple[Outcome, ...]
    notes: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)


class _Child:
    def __init__(self, address_space: int | None) -> None:
        self.address_space = address_space
        env = {"PATH": os.environ.get("PATH", ""), "RUST_BACKTRACE": "0", "RUST_LIB_BACKTRACE": "0"}
        if address_space:
            env["CHANGEBOT_SANDBOX_AS"] = str(address_space)
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(SANDBOX)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd="/",
            start_new_session=True,
        )
        if self.proc.stdin is None or self.proc.stdout is None:  # pragma: no cover - PIPE always gives both
            raise RuntimeError("sandbox child has no pipes")
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.buffer = b""
        os.set_blocking(self.stdout.fileno(), False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.stdout, selectors.EVENT_READ)

    def send(self, request: Mapping[str, Any]) -> None:
        with contextlib.suppress(BrokenPipeError):
            self.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self.stdin.close()

    def read_line(self, deadline: float) -> bytes | None:
        """The next line, ``b""`` at end of stream, or ``None`` when the deadline passes first."""
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not self.selector.select(remaining):
                continue
            chunk: bytes | None = self.stdout.read(1 << 16)  # None: nothing ready after all
            if chunk is None:
                continue
            if not chunk:
                return b""
            self.buffer += chunk
            if len(self.buffer) > MAX_LINE_BYTES:
                return b""
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def close(self) -> str:
        """Stop the child (and anything it started); a description of how it ended."""
        self.selector.close()
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        code = self.proc.wait()
        self.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        if code < 0:
            return f"was killed by signal {signal.Signals(-code).name}"
        return f"exited with status {code}"


_WARM: list[_Child] = []
_WARM_LOCK = threading.Lock()  # the App evaluates pull requests on several threads


@atexit.register
def _stop_warm() -> None:
    """Stop pre-started children nobody used, so that none outlives changebot."""
    with _WARM_LOCK:
        children = list(_WARM)
        _WARM.clear()
    for child in children:
        child.close()


def prestart(address_space: int | None = None) -> None:
    """Start a child now, so that its interpreter start-up overlaps other work; the next ``run_items`` with the
    same ``address_space`` uses it. A warm child that is never used is stopped when changebot exits."""
    with _WARM_LOCK:
        _WARM[:] = [c for c in _WARM if c.proc.poll() is None]
        if not any(c.address_space == address_space for c in _WARM):
            _WARM.append(_Child(address_space))


def _child(address_space: int | None) -> _Child:
    with _WARM_LOCK:
        for n, child in enumerate(_WARM):
            if child.address_space == address_space and child.proc.poll() is None:
                return _WARM.pop(n)
    return _Child(address_space)


def _unanswered(batch_deadline: float, item_seconds: float, over: str) -> Outcome:
    """The outcome of an item whose child missed its deadline (its own, or the batch's)."""
    late = time.monotonic() >= batch_deadline
    return Outcome("timeout", message=over if late else f"no answer within {item_seconds:g} s")


def run_items(
    op: str,
    header: Mapping[str, Any],
    items: Sequence[Any],
    item_seconds: float,
    address_space: int | None = None,
) -> Batch:
    """Evaluate ``items`` with operation ``op`` in sandbox children; one ``Outcome`` per item, always."""
    outcomes: list[Outcome | None] = [None] * len(items)
    notes: list[Mapping[str, Any]] = []
    seen_notes: set[str] = set()
    start = 0
    batch_deadline, over = _deadline()
    while start < len(items) and time.monotonic() < batch_deadline:
        child = _child(address_space)
        child.send({"op": op, **header, "offset": start, "items": list(items[start:])})
        deadline = min(time.monotonic() + STARTUP_SECONDS + item_seconds, batch_deadline)
        failure: Outcome | None = None
        while True:
            line = child.read_line(deadline)
            if line is None:
                failure = _unanswered(batch_deadline, item_seconds, over)
                break
            if not line:
                failure = Outcome("crashed")
                break
            try:
                reply = json.loads(line)
            except ValueError:
                failure = Outcome("crashed", message="the sandbox sent a reply that is not JSON")
                break
            if reply.get("done"):
                break
            if reply.get("ready"):
                deadline = min(time.monotonic() + item_seconds, batch_deadline)
                continue
            if "note" in reply:
                key = json.dumps(reply, sort_keys=True)
                if key not in seen_notes:
                    seen_notes.add(key)
                    notes.append(reply)
                continue
            index = int(reply["i"])
            outcomes[index] = Outcome(
                str(reply.get("kind", "error")), reply.get("value"), str(reply.get("message", ""))
            )
            deadline = min(time.monotonic() + item_seconds, batch_deadline)
        ended = child.close()
        pending = next((i for i in range(start, len(items)) if outcomes[i] is None), len(items))
        if failure is not None and pending < len(items):
            message = failure.message or f"the evaluator {ended}"
            outcomes[pending] = Outcome(failure.kind, message=message)
            pending += 1
        elif failure is None and pending < len(items):
            outcomes[pending] = Outcome("crashed", message=f"the evaluator stopped early ({ended})")
            pending += 1
        start = pending
    return Batch(_final(outcomes, batch_deadline, over), tuple(notes))


def _deadline() -> tuple[float, str]:
    """When this batch must end and how to say it ran out: its own budget, or the gate's if that is sooner."""
    own = time.monotonic() + BATCH_SECONDS
    budget = _BUDGET.get()
    if budget is not None and budget.deadline < own:
        return budget.deadline, budget.reason
    return own, f"the batch ran past its {BATCH_SECONDS:g} s budget"


def _final(outcomes: Sequence[Outcome | None], batch_deadline: float, over: str) -> tuple[Outcome, ...]:
    """Every item's outcome (those never answered: ``timeout`` past the deadline, else ``crashed``); marks the
    gate's budget spent when it cut an item short."""
    late = Outcome("timeout", message=f"not evaluated: {over}") if time.monotonic() >= batch_deadline else None
    final = tuple(o if o is not None else late or Outcome("crashed") for o in outcomes)
    budget = _BUDGET.get()
    if budget is not None and over == budget.reason and any(over in o.message for o in final):
        budget.spent = True
    return final
