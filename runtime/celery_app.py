"""The scaled execution mode: Celery on Redis running the same job code as embedded mode.

Start the processes with ``cairn worker`` and ``cairn beat`` (the Celery commands below,
run under :mod:`runtime.supervise`, which starts them again whenever they exit)::

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

Broker loss: the worker reconnects forever (at start-up too), opens no remote-control
channel, and :class:`ConsumerWatchdog` forces a reconnect when lost acknowledgements have
left the consumer unable to read (see "Running workers" in docs/deploy.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from celery import Celery, bootsteps

from runtime.platform import Platform
from runtime.settings import Settings

RUN_JOB = "cairn.run_outbox_job"
RELAY = "cairn.relay_outbox"
SWEEP = "cairn.run_sweeps"
QUEUE = "cairn-automation"

log = logging.getLogger(__name__)

#: Redis connection options (kombu's redis transport): keep idle connections alive, notice
#: a broker that vanished without closing the socket, and reconnect.
BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": 3600,
    "socket_keepalive": True,
    "socket_connect_timeout": 3,
    "socket_timeout": 30,
    "health_check_interval": 10,
    "retry_on_timeout": True,
}

#: How long one publish retries before the relay gives up on the pass (rows stay pending).
PUBLISH_RETRY_POLICY: dict[str, Any] = {
    "max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1,
}


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
        # Broker loss (see "Running workers" in docs/deploy.md): reconnect forever, at
        # start-up too; the outbox, not Redis, holds the work, so nothing waits on Redis.
        "broker_connection_retry": True,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_channel_error_retry": True,
        "broker_connection_timeout": 3,
        "broker_transport_options": BROKER_TRANSPORT_OPTIONS,
        # A publish retries briefly, then fails: the relay keeps the rows pending.
        "task_publish_retry": True,
        "task_publish_retry_policy": PUBLISH_RETRY_POLICY,
        # A task still running when the connection drops finishes: its job commits its
        # effects and marks itself done, and a redelivered message then finds it done.
        # Cancelling it would only redo the work (and a webhook) after the lease.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # Remote control's broadcast (pidbox) queue is deleted when its channel closes;
        # on a connection already lost that close is where kombu raised
        # ``AttributeError: 'NoneType' object has no attribute 'hostname'`` and the worker
        # exited. Cairn sends no control commands, so the worker opens no such channel.
        "worker_enable_remote_control": False,
        "worker_send_task_events": False,
        # No result backend (results are ignored); should one be configured, retry it.
        "result_backend_always_retry": True,
        "result_backend_max_retries": 10,
        "redis_socket_keepalive": True,
        "redis_retry_on_timeout": True,
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        "beat_schedule": {
            "cairn-relay": {"task": RELAY, "schedule": 2.0},
            "cairn-sweeps": {"task": SWEEP, "schedule": 30.0},
        },
    }


#: Seconds between the consumer watchdog's checks; two failed checks in a row restart it.
WATCHDOG_INTERVAL = 5.0


class ConsumerWatchdog(bootsteps.StartStopStep):
    """Restarts the worker's broker connection when its consumer has silently stalled.

    When the broker goes away while tasks run, their late acknowledgements fail ("Couldn't
    ack …, reason: ConnectionError") and kombu keeps the messages counted as delivered. With
    every prefetch slot taken by such a message the consumer stops asking the broker for
    more — so it never notices that the connection is gone, and the worker idles forever
    while the outbox fills. This step checks every :data:`WATCHDOG_INTERVAL` seconds: when
    the channel refuses to consume although the worker holds no task, twice in a row, it
    raises a connection error in the consumer's event loop, which makes Celery reconnect
    as for any lost connection (new channel, prefetch slots freed). The messages behind the
    stale slots are redelivered and find their jobs done.
    """

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None
        self.suspect = 0

    def start(self, c: Any) -> None:
        self.suspect = 0
        self.tref = c.timer.call_repeatedly(WATCHDOG_INTERVAL, self.check, (c,), priority=10)

    def stop(self, c: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None

    def check(self, c: Any) -> None:
        """Counts a suspicious check; on the second in a row, forces a reconnect."""
        from celery.worker import state

        consumer = getattr(c, "task_consumer", None)
        qos = getattr(getattr(consumer, "channel", None), "qos", None)
        can_consume = getattr(qos, "can_consume", None)
        if can_consume is None or can_consume() or state.reserved_requests:
            self.suspect = 0
            return
        self.suspect += 1
        if self.suspect >= 2:
            self.suspect = 0
            log.error("celery consumer: every prefetch slot is held by a message no task runs "
                      "(acknowledgements lost with the broker connection); reconnecting")
            raise ConnectionError("stale prefetch slots after a lost broker connection")


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
    celery.steps["consumer"].add(ConsumerWatchdog)
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
