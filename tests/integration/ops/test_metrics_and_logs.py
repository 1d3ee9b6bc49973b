"""Prometheus metrics after a request and a job; who may scrape; JSON log lines with ids."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from runtime.automation.embedded import EmbeddedWorker
from runtime.logs import ContextFilter, JsonFormatter, log_context
from tests.integration.automation.conftest import World
from tests.integration.conftest import make_settings
from tests.integration.retention.conftest import TICKETS
from web import create_app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_show_requests_jobs_sweeps_and_the_outbox(embedded_world: World, tmp_path: Path) -> None:
    world = embedded_world
    app = world.publish(TICKETS)
    assert app is not None
    flask_app = create_app(world.platform.settings.with_overrides(metrics_token="scrape-me"), clock=world.clock)
    client = flask_app.test_client()
    try:
        requests_before = _value("cairn_http_request_duration_seconds_count",
                                 endpoint="ops.healthz", method="GET", status="200")
        jobs_before = _value("cairn_jobs_total", outcome="succeeded")
        sweeps_before = _value("cairn_sweep_duration_seconds_count")

        assert client.get("/healthz").status_code == 200
        world.records("support").create("ticket", {"title": "printer"})  # two rules → two jobs
        scrape = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert scrape.status_code == 200
        samples = _samples(scrape.get_data(as_text=True))
        assert samples[("cairn_outbox_depth", (("status", "pending"),))] == 2
        assert samples[("cairn_outbox_lag_seconds", ())] == 0

        worker = EmbeddedWorker(world.platform)
        assert worker.drain() == 2
        worker.sweep()
        samples = _samples(client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).get_data(as_text=True))
        key = (("endpoint", "ops.healthz"), ("method", "GET"), ("status", "200"))
        assert samples[("cairn_http_request_duration_seconds_count", key)] == requests_before + 1
        assert samples[("cairn_jobs_total", (("outcome", "succeeded"),))] == jobs_before + 2
        assert samples[("cairn_sweep_duration_seconds_count", ())] == sweeps_before + 1
        assert samples[("cairn_outbox_depth", (("status", "pending"),))] == 0

        # Without the token nobody may scrape, not even from the loopback address.
        assert client.get("/metrics").status_code == 404
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    finally:
        flask_app.extensions["cairn"].dispose()


def test_without_a_token_only_unforwarded_loopback_requests_may_scrape(sqlite_url: str, tmp_path: Path) -> None:
    flask_app = create_app(make_settings(sqlite_url, tmp_path / "instance"))
    client = flask_app.test_client()
    try:
        assert client.get("/metrics").status_code == 200
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 404
        assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 404
    finally:
        flask_app.extensions["cairn"].dispose()


def _json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_log_lines_carry_the_request_and_the_job(embedded_world: World) -> None:
    world = embedded_world
    world.publish(TICKETS)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    flask_app = create_app(world.platform.settings.with_overrides(log_format="json"), clock=world.clock)

    @flask_app.get("/_log_something")
    def log_something() -> str:
        logging.getLogger("cairn.test").info("inside the request")
        return "ok"

    try:
        answer = flask_app.test_client().get("/_log_something", headers={"X-Request-ID": "req-42"})
        assert answer.headers["X-Request-ID"] == "req-42"
        with log_context(job_id=7, workspace=world.workspace.id):
            logging.getLogger("cairn.test").warning("inside a job")
        logging.getLogger("cairn.test").info("outside")
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        flask_app.extensions["cairn"].dispose()
    lines = {line["message"]: line for line in _json_lines(stream) if line["logger"] == "cairn.test"}
    request_line = lines["inside the request"]
    assert request_line["request_id"] == "req-42" and request_line["level"] == "INFO"
    assert set(request_line) >= {"time", "level", "logger", "message", "request_id", "job_id", "workspace"}
    assert lines["inside a job"]["job_id"] == 7 and lines["inside a job"]["workspace"] == world.workspace.id
    assert lines["inside a job"]["request_id"] is None
    assert lines["outside"]["job_id"] is None and lines["outside"]["request_id"] is None
