"""Keeps a process running: restarts it, with backoff, whenever it exits.

A Celery worker can still exit on an error it deems unrecoverable (a broker restart has
made kombu raise one), and then automation stops until someone starts it again. ``cairn
worker``, ``cairn beat`` and ``cairn relay`` (and ``make worker`` / ``make beat``) run their
process under :func:`supervise`, which starts it again after any exit — after 1 s, doubling
up to 30 s while it keeps exiting quickly, back to 1 s once it has run for a minute — and
logs every exit and restart. SIGTERM / SIGINT are passed on to the child, and the
supervisor exits with it once it stopped. Under systemd (``Restart=always``) or another
process manager the supervisor is optional; it does no harm there.

``python -m runtime.supervise -- COMMAND ARGS…`` runs any command that way.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("cairn.supervise")


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``first`` seconds, doubled per quick exit up to ``most``; a child that
    ran ``healthy_after`` seconds or longer is restarted after ``first`` again."""

    first: float = 1.0
    most: float = 30.0
    healthy_after: float = 60.0

    def next(self, previous: float, ran_for: float) -> float:
        """The delay before the next start, given the last delay and how long the child ran."""
        if ran_for >= self.healthy_after or previous <= 0:
            return self.first
        return min(self.most, previous * 2)


class Supervisor:
    """Runs ``argv`` and starts it again whenever it exits, until :meth:`stop`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        backoff: Backoff = Backoff(),
        max_restarts: int | None = None,
        popen: Callable[..., subprocess.Popen[bytes]] = subprocess.Popen,
        stop_timeout: float = 60.0,
    ) -> None:
        if not argv:
            raise ValueError("nothing to supervise")
        self.argv = list(argv)
        self.backoff = backoff
        self.max_restarts = max_restarts
        self.popen = popen
        self.stop_timeout = stop_timeout
        self.restarts = 0
        self.child: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._stop_signal = signal.SIGTERM

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Stops supervising: passes ``signum`` to the child and restarts nothing after."""
        self._stop_signal = signal.Signals(signum)
        self._stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def run(self) -> int:
        """Supervises until stopped (or ``max_restarts`` is spent); returns the child's last
        exit code."""
        delay = 0.0
        code = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            self.child = self.popen(self.argv)
            log.info("supervise: started %s (pid %d)", self.argv[0], self.child.pid)
            code = self._wait(self.child)
            ran_for = time.monotonic() - started
            if self._stopping.is_set():
                break
            if self.max_restarts is not None and self.restarts >= self.max_restarts:
                log.error("supervise: %s exited with code %s; no restarts left", self.argv[0], code)
                break
            delay = self.backoff.next(delay, ran_for)
            self.restarts += 1
            log.warning(
                "supervise: %s (pid %d) exited with code %s after %.1f s; restart %d in %.1f s",
                self.argv[0], self.child.pid, code, ran_for, self.restarts, delay,
            )
            self._stopping.wait(delay)
        return code

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if self._stopping.is_set():
                    try:
                        return child.wait(timeout=self.stop_timeout)
                    except subprocess.TimeoutExpired:
                        log.error("supervise: %s did not stop in %.0f s; killing it", self.argv[0], self.stop_timeout)
                        child.kill()
                        return child.wait()


def supervise(argv: Sequence[str], *, backoff: Backoff = Backoff(), max_restarts: int | None = None) -> int:
    """Runs ``argv`` under a :class:`Supervisor` with SIGTERM / SIGINT handled; returns the
    child's last exit code."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    supervisor = Supervisor(argv, backoff=backoff, max_restarts=max_restarts)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("supervise: received signal %d, stopping %s", signum, argv[0])
        supervisor.stop(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return supervisor.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def celery_command(kind: str, extra: Sequence[str] = ()) -> list[str]:
    """The Celery command line of a ``worker`` or ``beat`` process."""
    base = [sys.executable, "-m", "celery", "-A", "runtime.celery_app", kind]
    if kind == "worker":
        # Gossip and mingle talk to other workers through broadcast queues that Cairn does
        # not need; without them a broker restart has fewer channels to re-open.
        base += ["--without-gossip", "--without-mingle"]
    if not any(arg.startswith(("--loglevel", "-l")) for arg in extra):
        base += ["--loglevel", "INFO"]
    return base + list(extra)


def relay_command(extra: Sequence[str] = ()) -> list[str]:
    """The command line of a dedicated outbox relay process."""
    return [sys.executable, "-m", "runtime.automation.relay", *extra]


def main(argv: list[str] | None = None) -> None:
    """``python -m runtime.supervise [worker|beat|relay] [ARGS…]`` or ``-- COMMAND ARGS…``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("worker", "beat"):
        command = celery_command(args[0], args[1:])
    elif args and args[0] == "relay":
        command = relay_command(args[1:])
    elif args and args[0] == "--":
        command = args[1:]
    else:
        command = args
    if not command:
        sys.exit("usage: python -m runtime.supervise (worker|beat|relay) [ARGS…] | -- COMMAND [ARGS…]")
    sys.exit(supervise(command))


if __name__ == "__main__":
    main()
