"""The durable queue's promises, against each backend (a SQLite file, and a database on a real PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from changebot.adapters.queue import NewJob, Queue, QueueUnavailable, open_queue
from changebot.errors import UsageError

NOW = 1_760_000_000.0


def job(key: str = "octo/repo#7", order: tuple[str, ...] | None = None, delivery: str = "d", **kw: object) -> NewJob:
    return NewJob(
        key=key,
        name="pull_request.synchronize",
        event="pull_request",
        delivery=delivery,
        payload=json.dumps({"d": delivery}).encode(),
        order=order,
        **kw,
    )  # type: ignore[arg-type]


@pytest.fixture
def queue(queue_url: str) -> Queue:
    q = open_queue(queue_url)
    yield q  # type: ignore[misc]
    q.close()


def test_a_delivery_is_stored_once_and_its_redelivery_is_a_duplicate(queue: Queue) -> None:
    assert queue.accept("d-1", [job(delivery="d-1")], NOW).status == "queued"
    assert queue.accept("d-1", [job(delivery="d-1")], NOW + 3600).status == "duplicate"
    claimed = queue.claim("w1", NOW + 3600, 30)
    assert claimed is not None and claimed.delivery == "d-1" and claimed.payload == b'{"d": "d-1"}'
    queue.complete(claimed)
    assert queue.accept("d-1", [job(delivery="d-1")], NOW + 6 * 86400).status == "duplicate"
    assert queue.claim("w1", NOW + 6 * 86400, 30) is None


def test_a_delivery_without_jobs_is_remembered(queue: Queue) -> None:
    assert queue.accept("ping-1", [], NOW).status == "queued"
    assert queue.accept("ping-1", [], NOW + 1).status == "duplicate"


def test_one_key_runs_one_job_at_a_time_in_order_others_run_beside_it(queue: Queue) -> None:
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    queue.accept("d-2", [job(delivery="d-2")], NOW)
    queue.accept("d-3", [job("octo/other#1", delivery="d-3")], NOW)
    first = queue.claim("w1", NOW, 30)
    other = queue.claim("w2", NOW, 30)
    assert first is not None and first.delivery == "d-1"
    assert other is not None and other.delivery == "d-3"
    assert queue.claim("w3", NOW, 30) is None, "the key of d-1 is leased: d-2 waits"
    queue.complete(first)
    second = queue.claim("w3", NOW, 30)
    assert second is not None and second.delivery == "d-2"


def test_a_lost_worker_s_job_is_handed_out_again_when_its_lease_expires(queue: Queue) -> None:
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    lost = queue.claim("dead-worker", NOW, 30)
    assert lost is not None and lost.attempt == 1
    assert queue.claim("w2", NOW + 10, 30) is None
    again = queue.claim("w2", NOW + 31, 30)
    assert again is not None and again.id == lost.id and again.attempt == 2
    queue.complete(lost)  # the lost worker's late completion does not remove the job it no longer owns
    assert queue.stats(NOW + 31).depth == 1
    queue.complete(again)
    assert queue.stats(NOW + 31).depth == 0


def test_an_extended_lease_keeps_the_key(queue: Queue) -> None:
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    running = queue.claim("w1", NOW, 30)
    assert running is not None
    assert queue.extend(running, NOW + 25, 30)
    assert queue.claim("w2", NOW + 40, 30) is None


def test_an_older_head_is_dropped_on_arrival_and_a_queued_one_when_a_newer_follows(queue: Queue) -> None:
    queue.accept("d-new", [job(order=("2025-12-20T10:00:00Z",), delivery="d-new")], NOW)
    assert queue.accept("d-old", [job(order=("2025-12-20T09:00:00Z",), delivery="d-old")], NOW).stale == 1
    queue.accept("d-newer", [job(order=("2025-12-20T11:00:00Z",), delivery="d-newer")], NOW)
    only = queue.claim("w1", NOW, 30)
    assert only is not None and only.delivery == "d-newer"
    assert queue.claim("w1", NOW, 30) is None


def test_a_running_job_learns_it_was_superseded(queue: Queue) -> None:
    queue.accept("d-1", [job(order=("2025-12-20T10:00:00Z",), delivery="d-1")], NOW)
    running = queue.claim("w1", NOW, 30)
    assert running is not None and not queue.superseded(running)
    queue.accept("d-2", [job(order=("2025-12-20T11:00:00Z",), delivery="d-2")], NOW)
    assert queue.superseded(running)


def test_released_jobs_come_back_when_due_and_buried_ones_wait_for_revive(queue: Queue) -> None:
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    running = queue.claim("w1", NOW, 30)
    assert running is not None
    queue.release(running, "GitHub answered 502", NOW + 10)
    assert queue.claim("w1", NOW + 5, 30) is None
    again = queue.claim("w1", NOW + 10, 30)
    assert again is not None and again.attempt == 2
    queue.bury(again, "GitHub answered 502 (3 attempts)", NOW + 11)
    assert queue.claim("w1", NOW + 100, 30) is None
    stats = queue.stats(NOW + 100)
    assert (stats.depth, stats.dead) == (0, 1)
    [dead] = queue.entries(NOW + 100, "dead")
    assert (dead.state, dead.delivery, dead.error) == ("dead", "d-1", "GitHub answered 502 (3 attempts)")
    assert queue.revive(None, NOW + 200) == 1
    revived = queue.claim("w1", NOW + 200, 30)
    assert revived is not None and revived.attempt == 1
    queue.bury(revived, "again", NOW + 201)
    assert queue.purge(None) == 1
    assert queue.entries(NOW + 300) == []


def test_a_scheduled_job_waits_for_its_time_and_replaces_the_earlier_one_of_its_slot(queue: Queue) -> None:
    queue.schedule(job("audit", delivery="tick-1", due=NOW + 60, slot="audit"))
    queue.schedule(job("audit", delivery="tick-2", due=NOW + 120, slot="audit"))
    assert queue.stats(NOW).scheduled == 1
    assert queue.claim("w1", NOW + 90, 30) is None
    due = queue.claim("w1", NOW + 120, 30)
    assert due is not None and due.delivery == "tick-2"


def test_a_scheduled_job_does_not_hold_back_its_key(queue: Queue) -> None:
    queue.schedule(job(delivery="refresh", due=NOW + 3600, slot="refresh:octo/repo#7"))
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    now_job = queue.claim("w1", NOW, 30)
    assert now_job is not None and now_job.delivery == "d-1"


def test_stats_and_entries_show_depth_age_and_running(queue: Queue) -> None:
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    queue.accept("d-2", [job("octo/repo#8", delivery="d-2")], NOW + 5)
    queue.claim("w1", NOW + 10, 30)
    stats = queue.stats(NOW + 10)
    assert (stats.depth, stats.oldest_age, stats.dead) == (2, 10.0, 0)
    states = {e.delivery: e.state for e in queue.entries(NOW + 10)}
    assert states == {"d-1": "running", "d-2": "ready"}


def test_concurrent_claimers_never_share_a_key(queue_url: str) -> None:
    setup = open_queue(queue_url)
    for n in range(40):
        setup.accept(f"d-{n}", [job(f"octo/repo#{n % 4}", delivery=f"d-{n}")], NOW)
    running: dict[str, str] = {}
    order: dict[str, list[int]] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def worker(name: str) -> None:
        q = open_queue(queue_url)
        while True:
            got = q.claim(name, NOW, 30)
            if got is None:
                with lock:
                    if not any(running.values()) and q.stats(NOW).depth == 0:
                        return
                continue
            with lock:
                if running.get(got.key):
                    errors.append(f"{got.key} claimed by {name} while {running[got.key]} runs it")
                running[got.key] = name
                order.setdefault(got.key, []).append(int(got.delivery.split("-")[1]))
            with lock:
                running[got.key] = ""
            q.complete(got)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    setup.close()
    assert not errors
    assert all(seq == sorted(seq) for seq in order.values())
    assert sum(len(seq) for seq in order.values()) == 40


def test_an_unknown_scheme_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="CHANGEBOT_QUEUE_URL='amqp://x'"):
        open_queue("amqp://x")


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://queue:6380/1", "unix:///run/redis.sock"])
def test_a_redis_url_is_a_usage_error_naming_the_postgresql_queue(url: str) -> None:
    with pytest.raises(UsageError, match="changebot has no Redis queue; the distributed queue is PostgreSQL") as caught:
        open_queue(url)
    assert "postgresql://USER@HOST:PORT/DB" in str(caught.value.hint)


@pytest.mark.parametrize("blocked", ["psycopg", "procrastinate"])
def test_a_postgresql_url_without_the_postgres_extra_says_how_to_install_it(blocked: str, tmp_path: Path) -> None:
    # A fresh interpreter in which the package cannot be imported, as when the extra is not installed.
    script = f"""
import sys
sys.modules[{blocked!r}] = None
from changebot.adapters.queue import open_queue
from changebot.errors import UsageError
try:
    open_queue("postgresql://changebot@127.0.0.1:1/queue")
except UsageError as exc:
    print(exc)
    print(exc.hint)
    print(sorted(m for m in sys.modules if m.startswith(("psycopg", "procrastinate")) and sys.modules[m]))
else:
    print("no UsageError")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    message, hint, loaded = done.stdout.splitlines()
    assert message == f"CHANGEBOT_QUEUE_URL names a PostgreSQL queue, but {blocked} is not installed"
    assert "pip install 'changebot[postgres]'" in hint
    assert list(tmp_path.iterdir()) == []  # nothing was created
    if blocked == "psycopg":
        assert loaded == "[]"  # nothing of the driver was half-imported


def test_an_unreachable_backend_is_queue_unavailable(tmp_path: Path) -> None:
    from tests.support.ports import free_port  # noqa: PLC0415

    with pytest.raises(QueueUnavailable):
        open_queue(f"postgresql://changebot@127.0.0.1:{free_port()}/queue").accept("d", [], NOW)
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(QueueUnavailable, match=r"file/sub/q\.db"):
        open_queue(f"sqlite:///{tmp_path / 'file' / 'sub' / 'q.db'}").ping()


def test_the_sqlite_queue_and_the_directory_it_creates_are_owner_only(tmp_path: Path) -> None:
    """The queue holds webhook bodies (private repositories' titles and comments): nobody else may read them."""
    path = tmp_path / "state" / "queue.db"
    queue = open_queue(f"sqlite:///{path}")
    queue.accept("d-1", [NewJob("octo/app#1", "pull_request.opened", "pull_request", "d-1", b"{}")], NOW)
    queue.close()
    assert path.parent.stat().st_mode & 0o777 == 0o700
    for stored in (path, *path.parent.glob("queue.db-*")):
        assert stored.stat().st_mode & 0o077 == 0, stored
