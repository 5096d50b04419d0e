"""``changebot serve`` settings: read from the environment, refused clearly when missing, secrets never shown."""

from __future__ import annotations

import hashlib
import hmac
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from changebot.app.config import DEFAULT_API_URL, from_env
from changebot.errors import UsageError
from tests.support.app_token_server import KEY_PEM, Clock, TokenServer
from tests.support.asgi_server import serve

SECRET = "super-secret-webhook-value"


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "changebot", "serve", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_to_start_without_a_webhook_secret() -> None:
    done = run_serve({"CHANGEBOT_APP_ID": "1", "CHANGEBOT_PRIVATE_KEY": KEY_PEM})
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(
        "changebot: error: CHANGEBOT_WEBHOOK_SECRET is not set: changebot serve refuses to accept unsigned webhooks\n"
        "hint: set it to the webhook secret configured on the GitHub App"
    )


def test_serve_refuses_without_app_credentials_and_never_prints_the_secret() -> None:
    done = run_serve({"CHANGEBOT_WEBHOOK_SECRET": SECRET})
    assert done.returncode == 2
    assert "CHANGEBOT_APP_ID and CHANGEBOT_PRIVATE_KEY (or CHANGEBOT_PRIVATE_KEY_PATH) are required" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    done = run_serve(
        {
            "CHANGEBOT_WEBHOOK_SECRET": SECRET,
            "CHANGEBOT_APP_ID": "1",
            "CHANGEBOT_PRIVATE_KEY_PATH": str(tmp_path / "missing.pem"),
        }
    )
    assert done.returncode == 2
    assert f"CHANGEBOT_PRIVATE_KEY_PATH {tmp_path / 'missing.pem'}: cannot be read (FileNotFoundError)" in done.stderr


def test_settings_from_the_environment(tmp_path: Path) -> None:
    key = tmp_path / "app.pem"
    key.write_text(KEY_PEM)
    config = from_env(
        {
            "CHANGEBOT_WEBHOOK_SECRET": SECRET,
            "CHANGEBOT_APP_ID": "12345",
            "CHANGEBOT_PRIVATE_KEY_PATH": str(key),
            "CHANGEBOT_GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "CHANGEBOT_WORKERS": "2",
        }
    )
    assert config.webhook_secret == SECRET.encode()
    assert config.private_key == KEY_PEM
    assert config.api_url == "https://ghe.example.com/api/v3"
    assert config.workers == 2
    assert SECRET not in repr(config) and "PRIVATE KEY" not in repr(config)
    assert from_env({"CHANGEBOT_WEBHOOK_SECRET": SECRET}).api_url == DEFAULT_API_URL


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CHANGEBOT_WEBHOOK_SECRET": "  "}, "CHANGEBOT_WEBHOOK_SECRET is not set"),
        (
            {"CHANGEBOT_WEBHOOK_SECRET": SECRET, "CHANGEBOT_APP_ID": "my-app"},
            "CHANGEBOT_APP_ID='my-app' is not a number",
        ),
        ({"CHANGEBOT_WEBHOOK_SECRET": SECRET, "CHANGEBOT_WORKERS": "-1"}, "CHANGEBOT_WORKERS='-1' is not a whole"),
        (
            {"CHANGEBOT_WEBHOOK_SECRET": SECRET, "CHANGEBOT_QUEUE_URL": "amqp://mq/"},
            "CHANGEBOT_QUEUE_URL='amqp://mq/' is not a queue changebot knows",
        ),
    ],
)
def test_bad_settings(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        from_env(env)
    assert str(exc.value).startswith(message)


def test_importing_the_app_modules_starts_nothing() -> None:
    code = (
        "import threading, changebot.app.webhook, changebot.github.handlers, changebot.github.commands;"
        "import changebot.app.jobs;"
        "print(threading.active_count())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "1"


def test_serve_runs_answers_and_stops_cleanly(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with serve(TokenServer(Clock()).app()) as api:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEBOT_")}
        env = {
            **clean,
            "CHANGEBOT_WEBHOOK_SECRET": SECRET,
            "CHANGEBOT_APP_ID": "12345",
            "CHANGEBOT_PRIVATE_KEY": KEY_PEM,
            "CHANGEBOT_GITHUB_API_URL": api,
            "CHANGEBOT_CLONE_DIR": str(tmp_path),
            "CHANGEBOT_STATE_DIR": str(tmp_path / "state"),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "changebot", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 20
            while True:
                try:
                    health = httpx.get(url + "/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, "changebot serve did not start"
                    time.sleep(0.1)
            assert health.json() == {"status": "ok", "running": 0}
            assert httpx.get(url + "/healthz/ready", timeout=5).json() == {"status": "ready"}
            assert (tmp_path / "state" / "queue.db").is_file()
            body = b'{"zen": "Design for failure.", "hook_id": 1}'
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "p-1", "X-Hub-Signature-256": signature}
            assert httpx.post(url + "/webhook", content=body, headers=headers).status_code == 202
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert SECRET not in out + err
    assert "BEGIN" not in out + err


def test_worker_runs_until_sigterm_and_refuses_zero_workers(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEBOT_")}
    with serve(TokenServer(Clock()).app()) as api:
        env = {
            **clean,
            "CHANGEBOT_WEBHOOK_SECRET": SECRET,
            "CHANGEBOT_APP_ID": "12345",
            "CHANGEBOT_PRIVATE_KEY": KEY_PEM,
            "CHANGEBOT_GITHUB_API_URL": api,
            "CHANGEBOT_CLONE_DIR": str(tmp_path),
            "CHANGEBOT_STATE_DIR": str(tmp_path / "state"),
        }
        zero = subprocess.run(
            [sys.executable, "-m", "changebot", "worker", "--workers", "0"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert zero.returncode == 2
        assert "changebot worker needs --workers 1 or more" in zero.stderr
        proc = subprocess.Popen(
            [sys.executable, "-m", "changebot", "-v", "worker", "--workers", "2"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while not (tmp_path / "state" / "queue.db").is_file():
                assert proc.poll() is None and time.monotonic() < deadline, "changebot worker did not start"
                time.sleep(0.1)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "0 job(s) returned to the queue" in err
    assert SECRET not in out + err
