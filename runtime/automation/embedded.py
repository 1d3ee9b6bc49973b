"""The embedded execution mode: in-process worker threads and a scheduler, no broker.

With no ``REDIS_URL``, ``cairn run`` starts an :class:`EmbeddedWorker`: worker threads
claim due outbox rows straight from the table (the outbox already is a durable queue) and
run them with :func:`~runtime.automation.jobs.run_job`; a scheduler thread runs the
sweeps (:func:`~runtime.automation.sweeps.run_sweeps`) every ``sweep_interval`` seconds.
Scaled mode runs the very same ``run_job`` and ``run_sweeps`` from Celery.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from runtime.automation.jobs import DEFAULT_LEASE, claim_due, new_token, run_job
from runtime.automation.sweeps import SWEEP_INTERVAL, SweepReport, run_sweeps
from runtime.logs import log_context
from runtime.metrics import job_finished, timed_sweep
from runtime.platform import Platform

log = logging.getLogger(__name__)


class EmbeddedWorker:
    """Drains the outbox and runs the time rules inside the current process."""

    def __init__(
        self,
        platform: Platform,
        *,
        threads: int = 1,
        poll_interval: float = 0.5,
        sweep_interval: float = SWEEP_INTERVAL,
        lease: timedelta = DEFAULT_LEASE,
        batch: int = 20,
    ) -> None:
        self.platform = platform
        self.threads = max(1, threads)
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.lease = lease
        self.batch = batch
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- synchronous API (CLI, tests) ------------------------------------------------------

    def run_due(self) -> int:
        """Claims one batch of due jobs and runs them; returns how many ran."""
        token = new_token()
        with self.platform.session() as session:
            ids = claim_due(session, self.platform.clock.now(), token=token, lease=self.lease, limit=self.batch)
        for outbox_id in ids:
            with log_context(job_id=outbox_id):
                job_finished(run_job(self.platform, outbox_id, token=token, lease=self.lease).status)
        return len(ids)

    def drain(self, max_rounds: int = 1000) -> int:
        """Runs due jobs until none is left (jobs may queue more); returns how many ran."""
        total = 0
        for _ in range(max_rounds):
            ran = self.run_due()
            if not ran:
                break
            total += ran
        return total

    def sweep(self) -> SweepReport:
        """Runs the time rules once."""
        with timed_sweep():
            return run_sweeps(self.platform)

    # -- background threads ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the background threads are running."""
        return any(t.is_alive() for t in self._threads)

    def start(self) -> None:
        """Starts the worker threads and the scheduler thread."""
        if self.running:
            return
        self._stop.clear()
        for index in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"cairn-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        scheduler = threading.Thread(target=self._schedule, name="cairn-scheduler", daemon=True)
        scheduler.start()
        self._threads.append(scheduler)
        log.info("embedded automation worker started (%d thread(s))", self.threads)

    def wake(self) -> None:
        """Asks the workers to poll now (e.g. right after a write committed)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stops the threads, letting running jobs finish (unfinished ones are re-claimed
        after their lease)."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_due()
            except Exception:  # keep the worker alive; the job's lease makes it retry
                log.exception("embedded worker: claiming or running jobs failed")
                ran = 0
            if not ran:
                self._wake.wait(self.poll_interval)
                self._wake.clear()

    def _schedule(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("embedded scheduler: sweep failed")
            self._stop.wait(self.sweep_interval)
