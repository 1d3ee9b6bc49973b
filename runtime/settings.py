"""Configuration, read once from the environment into a typed object.

Nothing else in Cairn reads ``os.environ``: the web app, the CLI and the Celery worker
build one :class:`Settings` at start-up and hand its values down.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Every setting of a Cairn process; see the README's configuration table."""

    database_url: str
    secret_key: str
    instance_path: Path
    redis_url: str | None = None
    base_url: str | None = None
    default_timezone: str = "Asia/Shanghai"
    upload_dir: Path = Path("instance/uploads")
    max_upload_mb: int = 20
    embedded_worker: bool = True
    webhook_allowlist: tuple[str, ...] = ()
    smtp_url: str | None = None
    mail_from: str = "cairn@localhost"
    testing: bool = False
    #: Always mark cookies ``Secure`` (they are anyway on requests that arrived over HTTPS).
    secure_cookies: bool = False
    #: How many reverse proxies in front of Cairn set ``X-Forwarded-For/-Proto/-Host``;
    #: 0 trusts none of those headers (see docs/deploy.md).
    proxy_hops: int = 0
    #: Where sign-in and API-token failures are counted (``redis://...`` or ``memory://``);
    #: None means ``REDIS_URL`` when set, else this process's memory.
    rate_limit_url: str | None = None
    #: Prefix of the rate-limit keys in a shared store.
    rate_limit_prefix: str = "cairn"
    #: The platform operator's credential for ``/api/v1/platform/...`` (``CAIRN_PLATFORM_TOKEN``);
    #: None turns that API off. It is no user's token and opens no workspace (docs/admin.md).
    platform_token: str | None = None
    #: ``text`` or ``json`` (one JSON object per line with request and job ids; runtime.logs).
    log_format: str = "text"
    #: The bearer token Prometheus sends to ``/metrics``; None answers only loopback requests.
    metrics_token: str | None = None
    #: ``/readyz`` is unready while the oldest due, unclaimed outbox job waited longer (seconds).
    ready_max_outbox_lag: float = 300.0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Reads the ``CAIRN_*``, ``DATABASE_URL``, ``REDIS_URL`` and ``SECRET_KEY`` variables."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("CAIRN_INSTANCE_PATH", "instance")).resolve()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'cairn.sqlite3'}"
        secret = env.get("SECRET_KEY") or _instance_secret(instance)
        allow = tuple(h.strip() for h in env.get("CAIRN_WEBHOOK_ALLOWLIST", "").split(",") if h.strip())
        return cls(
            database_url=database_url,
            secret_key=secret,
            instance_path=instance,
            redis_url=env.get("REDIS_URL") or None,
            base_url=(env.get("CAIRN_BASE_URL") or "").rstrip("/") or None,
            default_timezone=env.get("CAIRN_TIMEZONE", "Asia/Shanghai"),
            upload_dir=Path(env.get("CAIRN_UPLOAD_DIR", str(instance / "uploads"))),
            max_upload_mb=int(env.get("CAIRN_MAX_UPLOAD_MB", "20")),
            embedded_worker=_bool(env.get("CAIRN_EMBEDDED_WORKER"), True),
            webhook_allowlist=allow,
            smtp_url=env.get("CAIRN_SMTP_URL") or None,
            mail_from=env.get("CAIRN_MAIL_FROM", "cairn@localhost"),
            secure_cookies=_bool(env.get("CAIRN_SECURE_COOKIES"), False),
            proxy_hops=int(env.get("CAIRN_PROXY_HOPS", "0") or "0"),
            rate_limit_url=env.get("CAIRN_RATE_LIMIT_URL") or None,
            platform_token=env.get("CAIRN_PLATFORM_TOKEN") or None,
            log_format=_log_format(env.get("CAIRN_LOG_FORMAT")),
            metrics_token=env.get("CAIRN_METRICS_TOKEN") or None,
            ready_max_outbox_lag=float(env.get("CAIRN_READY_MAX_OUTBOX_LAG", "300") or "300"),
        )

    @property
    def rate_limit_storage(self) -> str:
        """The storage URI of the sign-in and token throttles."""
        return self.rate_limit_url or self.redis_url or "memory://"

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some settings replaced (tests and the CLI use this)."""
        return replace(self, **changes)


def _log_format(value: str | None) -> str:
    chosen = (value or "text").strip().lower()
    if chosen not in ("text", "json"):
        raise ValueError(f"CAIRN_LOG_FORMAT must be 'text' or 'json', not {value!r}")
    return chosen


def _instance_secret(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, made on first use."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret)
    path.chmod(0o600)
    return secret
