"""What is particular to the PostgreSQL queue (the shared promises run in ``test_queue.py``): it lives in
procrastinate's own job table, applies the schema once, takes the caller's clock, leases per claim, and turns
every PostgreSQL failure into ``QueueUnavailable`` and reconnects."""

from __future__ import annotations

import json
import threading

import psycopg
import pytest

from changebot.adapters.queue import NewJob, QueueUnavailable, check_url, open_queue
from changebot.adapters.queue.postgres import PgQueue
from tests.support.ports import free_port
from tests.support.postgres import own_postgres_server

NOW = 1_760_000_000.0


def job(key: str = "octo/repo#7", delivery: str = "d", **kw: object) -> NewJob:
    return NewJob(
        key=key,
        name="pull_request.synchronize",
        event="pull_request",
        delivery=delivery,
        payload=json.dumps({"d": delivery}).encode(),
        **kw,
    )  # type: ignore[arg-type]


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query).fetchall())


def test_both_postgres_schemes_name_the_postgres_queue(postgres_url: str) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        assert check_url(url) == url
        queue = open_queue(url)
        assert isinstance(queue, PgQueue)
        queue.ping()
        queue.close()


def test_jobs_are_procrastinate_jobs_locked_by_key_and_a_claim_is_a_worker(postgres_url: str) -> None:
    queue = open_queue(postgres_url)
    queue.accept("d-1", [job(delivery="d-1"), job("octo/repo#8", delivery="d-1", index=1)], NOW)
    queue.schedule(job("audit", delivery="tick", due=NOW + 60, slot="audit"))
    table = rows(postgres_url, "SELECT queue_name, task_name, lock, queueing_lock, status::text, args->>'delivery'"
                               " FROM procrastinate_jobs ORDER BY id")  # fmt: skip
    assert table == [
        ("changebot", "pull_request.synchronize", "octo/repo#7", None, "todo", "d-1"),
        ("changebot", "pull_request.synchronize", "octo/repo#8", None, "todo", "d-1"),
        ("changebot", "pull_request.synchronize", "audit", "audit", "todo", "tick"),
    ]
    claimed = queue.claim("w1", NOW, 30)
    assert claimed is not None
    [(status, worker, owner)] = rows(
        postgres_url,
        "SELECT j.status::text, j.worker_id, l.owner FROM procrastinate_jobs j"
        " JOIN procrastinate_workers w ON w.id = j.worker_id JOIN changebot_queue_leases l ON l.worker_id = w.id",
    )
    assert (status, owner) == ("doing", "w1") and worker is not None
    queue.complete(claimed)
    assert rows(postgres_url, "SELECT count(*) FROM procrastinate_workers") == [(0,)]  # the claim's worker is gone
    assert rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(2,)]
    queue.close()


def test_replicas_opening_a_fresh_database_at_once_apply_the_schema_once(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def first_use(n: int) -> None:
        queue = open_queue(postgres_url)
        try:
            queue.accept(f"d-{n}", [job(delivery=f"d-{n}")], NOW)
        except BaseException as exc:
            errors.append(exc)
        finally:
            queue.close()

    threads = [threading.Thread(target=first_use, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert rows(postgres_url, "SELECT count(*) FROM procrastinate_jobs") == [(6,)]


def test_a_claim_whose_reply_was_lost_stalls_on_its_own_lease(postgres_url: str) -> None:
    """The owner keeps claiming (and so would keep a per-owner heartbeat fresh): the job it never saw is still
    handed out again once its own claim's lease is over."""
    queue = open_queue(postgres_url)
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    queue.accept("d-2", [job("octo/repo#8", delivery="d-2")], NOW)
    lost = queue.claim("w1", NOW, 30)  # as if PostgreSQL committed it and the reply never came
    assert lost is not None and lost.delivery == "d-1"
    other = queue.claim("w1", NOW + 20, 30)
    assert other is not None and other.delivery == "d-2"
    assert queue.extend(other, NOW + 25, 30)
    again = queue.claim("w1", NOW + 31, 30)
    assert again is not None and again.id == lost.id and again.attempt == 2
    queue.close()


def test_the_caller_s_clock_not_the_server_s_decides_what_is_due(postgres_url: str) -> None:
    queue = open_queue(postgres_url)
    far = 4_000_000_000.0  # 2096: the server's clock would never call it due
    queue.schedule(job(delivery="later", due=far, slot="s"))
    assert queue.claim("w1", far - 1, 30) is None
    due = queue.claim("w1", far, 30)
    assert due is not None and due.delivery == "later"
    queue.close()


def test_an_unreachable_postgres_is_queue_unavailable_without_the_password() -> None:
    queue = open_queue(f"postgresql://changebot:s3cret@127.0.0.1:{free_port()}/queue")
    with pytest.raises(QueueUnavailable, match=r"postgresql 127\.0\.0\.1:\d+/queue") as caught:
        queue.accept("d", [], NOW)
    assert "s3cret" not in str(caught.value)
    queue.close()


def test_a_crashed_postgres_is_queue_unavailable_then_the_queue_reconnects() -> None:
    with own_postgres_server() as server:
        url = server.create_database()
        queue = open_queue(url)
        assert queue.accept("d-1", [job(delivery="d-1")], NOW).status == "queued"
        server.stop("immediate")
        with pytest.raises(QueueUnavailable, match="OperationalError"):
            queue.accept("d-2", [job(delivery="d-2")], NOW)
        server.start()
        assert queue.accept("d-2", [job(delivery="d-2")], NOW).status == "queued"
        assert queue.accept("d-1", [job(delivery="d-1")], NOW).status == "duplicate"  # acknowledged before: kept
        assert queue.stats(NOW).depth == 2
        queue.close()


def test_a_schema_procrastinate_applied_itself_is_used_as_it_is(postgres_url: str) -> None:
    import procrastinate  # noqa: PLC0415

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=postgres_url))
    with app.open():
        app.schema_manager.apply_schema()
    queue = open_queue(postgres_url)
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    claimed = queue.claim("w1", NOW, 30)
    assert claimed is not None and claimed.delivery == "d-1"
    queue.complete(claimed)
    queue.close()
    assert rows(postgres_url, "SELECT to_regclass('changebot_queue_leases') IS NOT NULL") == [(True,)]


def test_why_the_priority_is_the_due_time(postgres_url: str) -> None:
    """procrastinate's own rule (one priority for all): an earlier job of the lock, due or not, holds the lock's
    later jobs back, so a refresh scheduled in an hour would block its pull request's deliveries until then."""
    schema = open_queue(postgres_url)
    schema.ping()  # applies the schema
    schema.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "SELECT procrastinate_defer_jobs_v1(ARRAY["
            " ROW('q', 'refresh', 0, 'octo/repo#7', NULL, '{}'::jsonb, now() + interval '1 hour'),"
            " ROW('q', 'synchronize', 0, 'octo/repo#7', NULL, '{}'::jsonb, now())"
            "]::procrastinate_job_to_defer_v1[])"
        )
        worker = conn.execute("SELECT worker_id FROM procrastinate_register_worker_v1()").fetchone()
        assert worker is not None
        fetched = conn.execute("SELECT id FROM procrastinate_fetch_job_v2(ARRAY['q'], %s)", (worker[0],)).fetchone()
        assert fetched == (None,)  # held back by the job due in an hour
    queue = open_queue(postgres_url)  # changebot's priorities: the due job runs now
    queue.schedule(job(delivery="refresh", due=NOW + 3600, slot="refresh:octo/repo#7"))
    queue.accept("d-1", [job(delivery="d-1")], NOW)
    claimed = queue.claim("w1", NOW, 30)
    assert claimed is not None and claimed.delivery == "d-1"
    queue.close()
