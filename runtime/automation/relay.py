"""The scaled mode's relay: publishes due outbox rows to Celery (on Redis).

Each pass marks due rows ``dispatched`` (with a lease in ``locked_until``), publishes one
``cairn.run_outbox_job`` task per row, and commits. If publishing fails (broker down) the
transaction rolls back and the rows stay ``pending`` for the next pass; if the relay dies
after publishing but before committing, the rows are published again and the second task
finds the job claimed or done. Rows whose lease ran out while ``dispatched`` or
``running`` (a lost message, a killed worker) are published again, so nothing is lost —
except a ``running`` row whose lease ran out for the
:data:`~runtime.automation.jobs.MAX_EXPIRED_CLAIMS`-th time: its worker keeps dying on it,
so it is failed (:func:`~runtime.automation.jobs.bury`) instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from runtime.automation.jobs import (
    _EXPIRED,
    DEFAULT_LEASE,
    MAX_EXPIRED_CLAIMS,
    _claimable,
    after_bury,
    bury,
)
from runtime.automation.models import OutboxJob
from runtime.clock import to_naive_utc
from runtime.platform import Platform

log = logging.getLogger(__name__)

Publisher = Callable[[int], None]


class OutboxRelay:
    """Moves due outbox rows to the Celery broker."""

    def __init__(
        self,
        platform: Platform,
        publish: Publisher,
        *,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 200,
        poll_interval: float = 0.5,
    ) -> None:
        self.platform = platform
        self.publish = publish
        self.lease = lease
        self.batch = batch
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """One pass; returns how many rows were published (0 when the broker is down)."""
        now = to_naive_utc(self.platform.clock.now())
        with self.platform.session() as session:
            pick = sa.select(OutboxJob.id).where(_claimable(now)).order_by(OutboxJob.id).limit(self.batch)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list(session.scalars(pick))
            if not ids:
                session.rollback()
                return 0
            # A ``running`` row here is one whose worker died or hung: an expired claim.
            marked = session.execute(
                sa.update(OutboxJob)
                .where(OutboxJob.id.in_(ids))
                .values(status="dispatched", locked_until=now + self.lease, claim_token=None,
                        expired_claims=OutboxJob.expired_claims + _EXPIRED)
                .returning(OutboxJob.id, OutboxJob.expired_claims),
                execution_options={"synchronize_session": False},
            ).all()
            dead = [job_id for job_id, expired in marked if expired >= MAX_EXPIRED_CLAIMS]
            buried = []
            if dead:  # failed instead of published again (run history, rule health)
                # ``bury`` does not count the refused claim; the relay's mark was no claim.
                session.execute(
                    sa.update(OutboxJob).where(OutboxJob.id.in_(dead)).values(attempts=OutboxJob.attempts + 1),
                    execution_options={"synchronize_session": False},
                )
                buried = bury(session, dead, self.platform.clock.now())
                ids = [job_id for job_id in ids if job_id not in set(dead)]
            try:
                for outbox_id in ids:
                    self.publish(outbox_id)
            except Exception as exc:  # broker unreachable: keep the rows pending
                session.rollback()
                log.warning("outbox relay: publishing failed, will retry: %s", exc)
                return 0
            session.commit()
            after_bury(session, buried, self.platform.clock.now())
            return len(ids) + len(buried)

    def drain(self, max_rounds: int = 1000) -> int:
        """Publishes until nothing is due."""
        total = 0
        for _ in range(max_rounds):
            published = self.run_once()
            if not published:
                break
            total += published
        return total

    def start(self) -> None:
        """Runs the relay in a background thread."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="cairn-outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the background thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                published = self.run_once()
            except Exception:
                log.exception("outbox relay pass failed")
                published = 0
            if published < self.batch:
                self._stop.wait(self.poll_interval)


def main(argv: list[str] | None = None) -> None:
    """``python -m runtime.automation.relay``: runs the relay as its own process.

    Beat also runs the relay every 2 s; a dedicated relay process publishes with less
    latency. Several relays may run at once (rows are claimed with SKIP LOCKED).
    """
    import argparse
    import signal

    from runtime.automation.engine import install
    from runtime.celery_app import create_celery, make_relay
    from runtime.settings import Settings

    parser = argparse.ArgumentParser(prog="python -m runtime.automation.relay")
    parser.add_argument("--lease", type=float, default=DEFAULT_LEASE.total_seconds(),
                        help="seconds before an unfinished job is published again")
    parser.add_argument("--queue", default=None, help="Celery queue to publish to")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between passes")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    platform = Platform.from_settings(settings)
    install(platform)
    celery = create_celery(settings, platform, **({"queue": args.queue} if args.queue else {}))
    relay = make_relay(platform, celery, lease=timedelta(seconds=args.lease), poll_interval=args.interval)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    relay.start()
    stop.wait()
    relay.stop()
    platform.dispose()


if __name__ == "__main__":
    main()
