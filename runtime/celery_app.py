"""The scaled execution mode: Celery on Redis running the same job code as embedded mode.

Start the processes with::

    celery -A runtime.celery_app worker --loglevel=INFO
    celery -A runtime.celery_app beat --loglevel=INFO

``celery -A runtime.celery_app`` finds :data:`app`, built on first access from
:class:`~runtime.settings.Settings` (read from the environment then, not at import).
Tasks run :func:`~runtime.automation.jobs.run_job` / the sweeps. Delivery settings:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a task is acknowledged after it ran,
  and one whose worker process died (SIGKILL, OOM) is redelivered instead of lost;
* ``worker_prefetch_multiplier = 1``: a worker holds one unacknowledged task per process;
* no ETA/countdown anywhere: delayed work (retries, elapsed and scheduled triggers) lives
  in the outbox's ``available_at`` and the sweeps, so Redis's visibility timeout never
  redelivers a long-waiting task twice.

Beat runs the relay (``cairn.relay_outbox``) every 2 s and the sweeps every 30 s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery

from runtime.platform import Platform
from runtime.settings import Settings

RUN_JOB = "cairn.run_outbox_job"
RELAY = "cairn.relay_outbox"
SWEEP = "cairn.run_sweeps"
QUEUE = "cairn-automation"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's configuration for ``settings`` (broker and result backend are Redis)."""
    if not settings.redis_url:
        raise RuntimeError("REDIS_URL is not set: scaled mode needs Redis (embedded mode needs nothing)")
    return {
        "broker_url": settings.redis_url,
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE,
        "task_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "broker_transport_options": {"visibility_timeout": 3600},
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "beat_schedule": {
            "cairn-relay": {"task": RELAY, "schedule": 2.0},
            "cairn-sweeps": {"task": SWEEP, "schedule": 30.0},
        },
    }


def create_celery(
    settings: Settings,
    platform: Platform | Callable[[], Platform] | None = None,
    *,
    queue: str = QUEUE,
) -> Celery:
    """A Celery app whose tasks run Cairn's automation on ``settings``' database.

    The :class:`Platform` (engine, sessions) is built lazily in each worker process, after
    the prefork pool forked, unless ``platform`` (or a function giving it) is passed.
    """
    from runtime.logs import configure_logging

    configure_logging(settings.log_format)
    celery = Celery("cairn", set_as_current=False)
    celery.conf.update(celery_config(settings))
    celery.conf.task_default_queue = queue
    holder: dict[str, Platform] = {}
    lock = threading.Lock()

    def get_platform() -> Platform:
        if isinstance(platform, Platform):
            return platform
        if platform is not None:
            return platform()
        with lock:
            if "p" not in holder:
                from runtime.automation.engine import install

                built = Platform.from_settings(settings)
                install(built)
                holder["p"] = built
            return holder["p"]

    @celery.task(name=RUN_JOB, acks_late=True, reject_on_worker_lost=True, ignore_result=True, shared=False)
    def run_outbox_job(outbox_id: int, lease_s: float | None = None) -> str:
        """Runs one outbox job (idempotent: a redelivered task finds it claimed or done)."""
        from runtime.automation.jobs import DEFAULT_LEASE, run_job
        from runtime.logs import log_context
        from runtime.metrics import job_finished

        lease = timedelta(seconds=lease_s) if lease_s else DEFAULT_LEASE
        with log_context(job_id=int(outbox_id)):
            status = run_job(get_platform(), int(outbox_id), lease=lease).status
        job_finished(status)
        return status

    @celery.task(name=RELAY, ignore_result=True, shared=False)
    def relay_outbox() -> int:
        """Publishes due outbox rows (beat runs this every few seconds)."""
        return make_relay(get_platform(), celery).drain()

    @celery.task(name=SWEEP, ignore_result=True, shared=False)
    def sweeps() -> dict[str, Any]:
        """Runs elapsed / schedule sweeps and the rule-health check."""
        from runtime.automation.sweeps import run_sweeps
        from runtime.metrics import timed_sweep

        with timed_sweep():
            report = run_sweeps(get_platform())
        return {"elapsed": report.elapsed, "scheduled": report.scheduled, "alerts": report.alerts}

    celery.cairn_platform = get_platform  # type: ignore[attr-defined]
    return celery


def make_relay(
    platform: Platform, celery: Celery, *, lease: timedelta | None = None, **kwargs: Any
) -> Any:
    """An :class:`~runtime.automation.relay.OutboxRelay` publishing to ``celery``'s broker."""
    from runtime.automation.jobs import DEFAULT_LEASE
    from runtime.automation.relay import OutboxRelay

    lease = lease or DEFAULT_LEASE

    def publish(outbox_id: int) -> None:
        celery.send_task(
            RUN_JOB,
            args=[outbox_id, lease.total_seconds()],
            queue=celery.conf.task_default_queue,
            retry=False,
        )

    return OutboxRelay(platform, publish, lease=lease, **kwargs)


_app: Celery | None = None
_app_lock = threading.Lock()


def __getattr__(name: str) -> Any:
    """``app`` / ``celery``: the process's Celery app, configured from the environment."""
    global _app
    if name not in ("app", "celery"):
        raise AttributeError(name)
    with _app_lock:
        if _app is None:
            _app = create_celery(Settings.from_env())
        return _app
