"""The sandbox child: killed, hung or chatty children never take changebot down, and no child is left behind."""

from __future__ import annotations

import os
import signal
import threading
import time

from changebot.adapters.engines import worker
from changebot.adapters.engines.worker import prestart, run_items

LOOP = {"id": "loop", "src": "while(true){}"}
OK = {"id": "ok", "src": "payload.n === 1"}


def test_a_killed_child_is_reported_and_the_rest_still_run() -> None:
    prestart(None)
    (child,) = [c for c in worker._WARM if c.address_space is None]
    pid = child.proc.pid
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()
    started = time.monotonic()
    batch = run_items("js", {"payload": {"n": 1}, "time_limit": 30.0}, [LOOP, OK], 30.0)
    killer.join()
    assert time.monotonic() - started < 10
    assert [o.kind for o in batch.outcomes] == ["crashed", "ok"]
    assert batch.outcomes[0].message == "the evaluator was killed by signal SIGKILL"
    assert batch.outcomes[1].value is True
    assert child.proc.poll() is not None


def test_a_hung_child_is_killed_at_the_deadline() -> None:
    started = time.monotonic()
    hang = {"id": "regex", "src": "/^(a+)+$/.test('a'.repeat(40) + 'b')"}
    batch = run_items("js", {"payload": {"n": 1}, "time_limit": 60.0}, [hang, OK], 0.5)
    assert time.monotonic() - started < 8
    assert [(o.kind, o.message) for o in batch.outcomes] == [("timeout", "no answer within 0.5 s"), ("ok", "")]


def test_unknown_operation_answers_nothing_and_is_reported() -> None:
    batch = run_items("nope", {}, ["a"], 2.0)
    assert [o.kind for o in batch.outcomes] == ["crashed"]
    assert batch.outcomes[0].message.startswith("the evaluator stopped early")


def test_prestart_keeps_one_warm_child_per_limit() -> None:
    prestart(123 * 1024 * 1024)
    prestart(123 * 1024 * 1024)
    assert sum(1 for c in worker._WARM if c.address_space == 123 * 1024 * 1024) == 1
    batch = run_items("js", {"payload": {"n": 1}}, [OK], 5.0, 123 * 1024 * 1024)
    assert batch.outcomes[0].value is True
    assert not any(c.address_space == 123 * 1024 * 1024 for c in worker._WARM)
