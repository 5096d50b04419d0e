"""``changebot queue ls|retry|purge`` on each backend: what an operator sees, and dead letters replayed."""

from __future__ import annotations

import json
import time

import pytest

from changebot.adapters.queue import NewJob, open_queue
from changebot.cli import main


def _dead_job(url: str) -> int:
    queue = open_queue(url)
    now = time.time()
    job = NewJob("octo/repo#7", "pull_request.opened", "pull_request", "d-dead", b"{}")
    queue.accept("d-dead", [job], now)
    queue.accept("d-live", [NewJob("octo/repo#8", "issue_comment.command", "issue_comment", "d-live", b"{}")], now)
    claimed = queue.claim("w", now, 30)
    assert claimed is not None and claimed.delivery == "d-dead"
    queue.bury(claimed, "attempt 5: GitHubError: GitHub answered 502", now)
    queue.close()
    return claimed.id


def test_ls_retry_and_purge(
    queue_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHANGEBOT_QUEUE_URL", queue_url)
    job_id = _dead_job(queue_url)
    assert main(["queue", "ls"]) == 0
    out, err = capsys.readouterr()
    assert f"{job_id:>8}  dead       octo/repo#7  pull_request.opened  delivery d-dead  attempts 1" in out
    assert "error: attempt 5: GitHubError: GitHub answered 502" in out
    assert "octo/repo#8  issue_comment.command  delivery d-live  attempts 0" in out
    assert err == "1 due, 0 scheduled, 1 dead\n"
    assert main(["queue", "ls", "--dead", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["delivery"] == "d-dead"
    assert main(["queue", "retry", str(job_id)]) == 0
    assert capsys.readouterr().out == "1 dead job(s) returned to the queue\n"
    assert main(["queue", "retry", "--all"]) == 1  # nothing dead any more
    assert capsys.readouterr().out == "0 dead job(s) returned to the queue\n"
    queue = open_queue(queue_url)
    live = queue.claim("w", time.time(), 30)
    revived = queue.claim("w", time.time(), 30)
    assert live is not None and live.delivery == "d-live"
    assert revived is not None and revived.id == job_id and revived.attempt == 1
    queue.bury(revived, "again", time.time())
    assert main(["queue", "purge", "--all"]) == 0
    assert capsys.readouterr().out == "1 dead job(s) purged\n"
    assert [e.delivery for e in queue.entries(time.time())] == ["d-live"]


def test_default_queue_is_in_the_state_directory(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHANGEBOT_QUEUE_URL", raising=False)
    monkeypatch.setenv("CHANGEBOT_STATE_DIR", str(tmp_path))
    assert main(["queue", "ls"]) == 0
    assert capsys.readouterr().err == "0 due, 0 scheduled, 0 dead\n"
    assert (tmp_path / "queue.db").is_file()  # type: ignore[operator]


def test_bad_url_and_unreachable_queue_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHANGEBOT_QUEUE_URL", "amqp://mq/")
    assert main(["queue", "ls"]) == 2
    assert "CHANGEBOT_QUEUE_URL='amqp://mq/' is not a queue changebot knows" in capsys.readouterr().err
    from tests.support.ports import free_port  # noqa: PLC0415

    monkeypatch.setenv("CHANGEBOT_QUEUE_URL", f"postgresql://changebot@127.0.0.1:{free_port()}/queue")
    assert main(["queue", "retry", "--all"]) == 2
    assert "is PostgreSQL running and writable?" in capsys.readouterr().err
    monkeypatch.setenv("CHANGEBOT_QUEUE_URL", "redis://127.0.0.1:6379/0")
    assert main(["queue", "ls"]) == 2
    err = capsys.readouterr().err
    assert "changebot has no Redis queue; the distributed queue is PostgreSQL" in err
    assert "postgresql://USER@HOST:PORT/DB" in err
