"""The App's settings, read from the environment when ``changebot serve`` starts (never at import time).

=============================  =========================================================================
``CHANGEBOT_WEBHOOK_SECRET``   required: the webhook secret set on the GitHub App
``CHANGEBOT_APP_ID``           the App's ID (required to call GitHub)
``CHANGEBOT_PRIVATE_KEY``      the App's private key (PEM), or ``CHANGEBOT_PRIVATE_KEY_PATH``: a file with it
``CHANGEBOT_GITHUB_API_URL``   default ``https://api.github.com``; ``https://HOST/api/v3`` for GHES
``CHANGEBOT_CLONE_DIR``        where bare clones are cached (default: ``~/.cache/changebot/clones``)
``CHANGEBOT_WORKERS``          worker threads per process (default 4; ``changebot serve --workers N`` overrides;
                               0: this process only accepts deliveries, ``changebot worker`` runs them)
``CHANGEBOT_QUEUE_URL``        the durable queue: ``sqlite:///PATH`` (one node) or
                               ``postgresql://USER@HOST:PORT/DB`` (replicas sharing one PostgreSQL; needs
                               ``changebot[postgres]``) (default: the SQLite file ``queue.db`` in the state
                               directory)
``CHANGEBOT_STATE_DIR``        the state directory (default ``~/.local/state/changebot``)
``CHANGEBOT_DEDUPE_DAYS``      how long a delivery id is remembered (default 7: GitHub Enterprise Server's
                               redelivery window; github.com's is 3)
``CHANGEBOT_MAX_ATTEMPTS``     runs of a failing job before it goes to the dead letters (default 5)
``CHANGEBOT_MAX_BODY_BYTES``   largest webhook body accepted (default 26214400: GitHub caps payloads at 25 MB)
``CHANGEBOT_BODY_TIMEOUT``     seconds a client may take to send a body (default 10; then 408)
``CHANGEBOT_MAX_READING``      bodies read at once (default 64; a new request cuts off the longest-waiting one)
``CHANGEBOT_AUDIT_CRON``       when to run the freeze audit on every installed repository: a five-field cron
                               expression in UTC (unset: never; invalid: ``changebot serve`` refuses to start)
``CHANGEBOT_AUDIT_PUBLISH``    ``true`` (default): write the week's audit issue; ``false``: log the result only
=============================  =========================================================================

Secrets are kept out of ``repr`` so that a logged config never shows them. ``queue_url`` is empty when unset:
``queue_url(config)`` gives the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from changebot.adapters.github.calls import DEFAULT_API_URL
from changebot.adapters.queue import check_url
from changebot.errors import UsageError

DEFAULT_MAX_BODY = 25 * 1024 * 1024
MAX_KEY_BYTES = 64 * 1024


@dataclass(frozen=True)
class AppConfig:
    """Everything the App needs to run."""

    webhook_secret: bytes = field(repr=False)
    app_id: str | None = None
    private_key: str | None = field(default=None, repr=False)
    api_url: str = DEFAULT_API_URL
    clone_dir: Path = field(default_factory=lambda: Path.home() / ".cache" / "changebot" / "clones")
    workers: int = 4
    queue_url: str = ""
    state_dir: Path = field(default_factory=lambda: default_state_dir({}))
    dedupe_ttl_seconds: float = 7 * 86400.0
    max_attempts: int = 5
    retry_backoff_seconds: float = 5.0
    lease_seconds: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY
    body_timeout_seconds: float = 10.0
    max_reading: int = 64
    audit_cron: str | None = None
    audit_publish: bool = True


def queue_url(config: AppConfig) -> str:
    """The queue the App uses: ``CHANGEBOT_QUEUE_URL``, else ``queue.db`` in the state directory."""
    return config.queue_url or f"sqlite:///{config.state_dir / 'queue.db'}"


def default_state_dir(environ: Mapping[str, str]) -> Path:
    """``CHANGEBOT_STATE_DIR``, else ``$XDG_STATE_HOME/changebot``, else ``~/.local/state/changebot``."""
    if environ.get("CHANGEBOT_STATE_DIR"):
        return Path(environ["CHANGEBOT_STATE_DIR"])
    if environ.get("XDG_STATE_HOME"):
        return Path(environ["XDG_STATE_HOME"]) / "changebot"
    return Path.home() / ".local" / "state" / "changebot"


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise UsageError(f"{name}={raw!r} is not a whole number")
    return int(raw)


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise UsageError(f"{name}={raw!r} is not a positive whole number")
    return int(raw)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _TRUE + _FALSE:
        raise UsageError(f"{name}={raw!r} is neither true nor false")
    return raw in _TRUE


def _queue_url(environ: Mapping[str, str]) -> str:
    raw = environ.get("CHANGEBOT_QUEUE_URL", "").strip()
    return check_url(raw) if raw else ""


def _cron(environ: Mapping[str, str]) -> str | None:
    raw = environ.get("CHANGEBOT_AUDIT_CRON", "").strip()
    if not raw:
        return None
    from changebot.app.scheduler import parse_cron  # noqa: PLC0415 - croniter loads only when configured

    return parse_cron(raw)


def from_env(environ: Mapping[str, str]) -> AppConfig:
    """Read the settings; a missing webhook secret or unreadable key is a ``UsageError`` (exit 2)."""
    secret = environ.get("CHANGEBOT_WEBHOOK_SECRET", "")
    if not secret.strip():
        raise UsageError(
            "CHANGEBOT_WEBHOOK_SECRET is not set: changebot serve refuses to accept unsigned webhooks",
            "set it to the webhook secret configured on the GitHub App (Settings > Webhook secret)",
        )
    key = environ.get("CHANGEBOT_PRIVATE_KEY") or None
    key_path = environ.get("CHANGEBOT_PRIVATE_KEY_PATH") or None
    if key is None and key_path is not None:
        path = Path(key_path)
        try:
            if path.stat().st_size > MAX_KEY_BYTES:
                raise UsageError(f"CHANGEBOT_PRIVATE_KEY_PATH {path}: larger than {MAX_KEY_BYTES} bytes, not a key")
            key = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"CHANGEBOT_PRIVATE_KEY_PATH {path}: cannot be read ({type(exc).__name__})") from exc
    app_id = environ.get("CHANGEBOT_APP_ID") or None
    if app_id is not None and not app_id.strip().isdigit():
        raise UsageError(f"CHANGEBOT_APP_ID={app_id!r} is not a number", "copy the App ID from the App's settings page")
    clone_dir = environ.get("CHANGEBOT_CLONE_DIR")
    state_dir = default_state_dir(environ)
    return AppConfig(
        webhook_secret=secret.encode("utf-8"),
        app_id=app_id.strip() if app_id else None,
        private_key=key,
        api_url=(environ.get("CHANGEBOT_GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        clone_dir=Path(clone_dir) if clone_dir else Path.home() / ".cache" / "changebot" / "clones",
        workers=_whole(environ, "CHANGEBOT_WORKERS", 4),
        queue_url=_queue_url(environ),
        state_dir=state_dir,
        dedupe_ttl_seconds=_positive(environ, "CHANGEBOT_DEDUPE_DAYS", 7) * 86400.0,
        max_attempts=_positive(environ, "CHANGEBOT_MAX_ATTEMPTS", 5),
        max_body_bytes=_positive(environ, "CHANGEBOT_MAX_BODY_BYTES", DEFAULT_MAX_BODY),
        body_timeout_seconds=float(_positive(environ, "CHANGEBOT_BODY_TIMEOUT", 10)),
        max_reading=_positive(environ, "CHANGEBOT_MAX_READING", 64),
        audit_cron=_cron(environ),
        audit_publish=_flag(environ, "CHANGEBOT_AUDIT_PUBLISH", True),
    )
