"""The supervisor that keeps workers running: restarts with backoff, stops on a signal."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from runtime.celery_app import celery_config
from runtime.settings import Settings
from runtime.supervise import Backoff, Supervisor, celery_command


def test_backoff_doubles_for_quick_exits_and_resets_after_a_healthy_run() -> None:
    backoff = Backoff(first=1, most=8, healthy_after=60)
    delays = [0.0]
    for _ in range(5):
        delays.append(backoff.next(delays[-1], ran_for=0.5))
    assert delays[1:] == [1, 2, 4, 8, 8]
    assert backoff.next(8, ran_for=61) == 1


def test_a_child_that_keeps_exiting_is_started_again(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    script = f"open({str(marker)!r}, 'a').write('x'); raise SystemExit(3)"
    supervisor = Supervisor([sys.executable, "-c", script], backoff=Backoff(first=0.01, most=0.02), max_restarts=2)
    assert supervisor.run() == 3
    assert marker.read_text() == "xxx"
    assert supervisor.restarts == 2


def test_stop_passes_the_signal_on_and_restarts_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "starts"
    script = f"import time; open({str(marker)!r}, 'a').write('x'); time.sleep(60)"
    supervisor = Supervisor([sys.executable, "-c", script], backoff=Backoff(first=0.01))
    runner = threading.Thread(target=supervisor.run)
    runner.start()
    while not marker.exists():
        threading.Event().wait(0.05)
    supervisor.stop(signal.SIGTERM)
    runner.join(30)
    assert not runner.is_alive()
    assert marker.read_text() == "x"
    assert supervisor.child is not None and supervisor.child.returncode == -signal.SIGTERM


def test_worker_command_and_broker_settings() -> None:
    command = celery_command("worker", ["-c", "2"])
    assert command[-2:] == ["-c", "2"] and "--without-gossip" in command and "--without-mingle" in command
    config = celery_config(Settings(database_url="sqlite://", secret_key="x", instance_path=Path("."),
                                    redis_url="redis://127.0.0.1:1/0"))
    assert config["broker_connection_max_retries"] is None
    assert config["broker_connection_retry_on_startup"] is True
    assert config["worker_enable_remote_control"] is False
    assert config["broker_transport_options"]["health_check_interval"] > 0
