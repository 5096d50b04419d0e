"""The App's settings, read from the environment when ``changebot serve`` starts (never at import time).

=============================  =========================================================================
``CHANGEBOT_WEBHOOK_SECRET``   required: the webhook secret set on the GitHub App
``CHANGEBOT_APP_ID``           the App's ID (required to call GitHub)
``CHANGEBOT_PRIVATE_KEY``      the App's private key (PEM), or ``CHANGEBOT_PRIVATE_KEY_PATH``: a file with it
``CHANGEBOT_GITHUB_API_URL``   default ``https://api.github.com``; ``https://HOST/api/v3`` for GHES
``CHANGEBOT_CLONE_DIR``        where bare clones are cached (default: ``~/.cache/changebot/clones``)
``CHANGEBOT_WORKERS``          background jobs run at once (default 4)
``CHANGEBOT_MAX_BODY_BYTES``   largest webhook body accepted (default 26214400: GitHub caps payloads at 25 MB)
``CHANGEBOT_AUDIT_CRON``       when to run the freeze audit on every installed repository: a five-field cron
                               expression in UTC (unset: never; invalid: ``changebot serve`` refuses to start)
``CHANGEBOT_AUDIT_PUBLISH``    ``true`` (default): write the week's audit issue; ``false``: log the result only
=============================  =========================================================================

Secrets are kept out of ``repr`` so that a logged config never shows them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from changebot.adapters.github.calls import DEFAULT_API_URL
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
    max_pending: int = 1000
    max_body_bytes: int = DEFAULT_MAX_BODY
    dedupe_size: int = 10_000
    dedupe_ttl_seconds: float = 24 * 3600.0
    audit_cron: str | None = None
    audit_publish: bool = True


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
    return AppConfig(
        webhook_secret=secret.encode("utf-8"),
        app_id=app_id.strip() if app_id else None,
        private_key=key,
        api_url=(environ.get("CHANGEBOT_GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
        clone_dir=Path(clone_dir) if clone_dir else Path.home() / ".cache" / "changebot" / "clones",
        workers=_positive(environ, "CHANGEBOT_WORKERS", 4),
        max_body_bytes=_positive(environ, "CHANGEBOT_MAX_BODY_BYTES", DEFAULT_MAX_BODY),
        audit_cron=_cron(environ),
        audit_publish=_flag(environ, "CHANGEBOT_AUDIT_PUBLISH", True),
    )
