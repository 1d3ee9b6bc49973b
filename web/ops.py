"""The operator's view of a web process: health and readiness probes, metrics, request ids.

* ``GET /healthz`` — the process is up and serving (no dependency is checked): for a
  liveness probe or systemd's watchdog script.
* ``GET /readyz`` — whether this process can do its work: the database answers, the broker
  (Redis, when ``REDIS_URL`` is set) answers a PING, and the outbox lag (age of the oldest
  due job no worker claimed) is below ``CAIRN_READY_MAX_OUTBOX_LAG`` seconds. The JSON body
  lists each check; 503 when one fails (a load balancer takes the process out of rotation).
* ``GET /metrics`` — Prometheus metrics (:mod:`runtime.metrics`); answered only to a
  request bearing ``Authorization: Bearer $CAIRN_METRICS_TOKEN``, or, when no token is set,
  to one from the loopback address that no proxy forwarded (else 404).
* Every request gets an id: the ``X-Request-ID`` it came with (if it is a sane token) or a
  new one; the response echoes it, and every log line of the request carries it
  (:mod:`runtime.logs`).
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, g, has_request_context, jsonify, request

from runtime import logs, metrics
from web import db

bp = Blueprint("ops", __name__)

#: What an incoming ``X-Request-ID`` may look like (else a new id is made).
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
LOOPBACK = {"127.0.0.1", "::1"}


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up."""
    return jsonify(status="ok")


def _check(name: str, run: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = run() or {}
        ok = bool(detail.pop("ok", True))
    except Exception as exc:
        ok, detail = False, {"error": f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"}
    return {"name": name, "ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), **detail}


def _database() -> dict[str, Any]:
    with db.platform().engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1").scalar()
    return {}


def _broker() -> dict[str, Any]:
    url = db.platform().settings.redis_url
    if not url:
        return {"ok": True, "configured": False}
    import redis

    clients = current_app.extensions.setdefault("cairn_ready_redis", {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return {"configured": True}


def _outbox_lag() -> dict[str, Any]:
    platform = db.platform()
    limit = platform.settings.ready_max_outbox_lag
    with platform.read_session() as session:
        lag = metrics.outbox_lag(session, platform.clock.now())
    return {"ok": lag <= limit, "seconds": round(lag, 3), "threshold": limit}


@bp.get("/readyz")
def readyz() -> Any:
    """Database, broker and outbox lag; 503 when one of them fails."""
    checks = [_check("database", _database), _check("broker", _broker)]
    if checks[0]["ok"]:
        checks.append(_check("outbox_lag", _outbox_lag))
    else:
        checks.append({"name": "outbox_lag", "ok": False, "error": "database unavailable"})
    ready = all(c["ok"] for c in checks)
    body = jsonify(status="ready" if ready else "unready", checks=checks)
    body.status_code = 200 if ready else 503
    body.headers["Cache-Control"] = "no-store"
    return body


def _may_scrape() -> bool:
    token = db.platform().settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    forwarded = any(h in request.headers for h in ("X-Forwarded-For", "X-Real-IP", "Forwarded"))
    return request.remote_addr in LOOPBACK and not forwarded


@bp.get("/metrics", endpoint="metrics")
def metrics_page() -> Any:
    """Prometheus text exposition (token or loopback only)."""
    if not _may_scrape():
        return Response("Not found\n", 404, mimetype="text/plain")
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(metrics.exposition(db.platform()), 200, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _begin_request() -> None:
    given = request.headers.get("X-Request-ID", "")
    request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
    g.request_id = request_id
    g.request_started = time.perf_counter()
    logs.bind(request_id=request_id)


def _end_request(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id", "")
    started = g.get("request_started")
    if started is not None:
        metrics.REQUEST_DURATION.labels(
            endpoint=request.endpoint or "unmatched", method=request.method, status=str(response.status_code),
        ).observe(time.perf_counter() - started)
    return response


def _close_request(_exc: BaseException | None) -> None:
    logs.bind(request_id=None, workspace=None)


def _workspace_of_request() -> dict[str, Any]:
    """The workspace of the request's API token or signed-in user, if already known."""
    if not has_request_context():
        return {}
    workspace = g.get("workspace")
    if workspace is None:
        user = g.get("_login_user")
        workspace = getattr(user, "workspace", None)
    if workspace is None:
        return {}
    # The identity key, not the attribute: reading an expired attribute would query the
    # database from inside a log call.
    state = sa.inspect(workspace, raiseerr=False)
    identity = getattr(state, "identity", None)
    return {"workspace": identity[0]} if identity else {}


def init_app(app: Flask) -> None:
    """Registers the probes and metrics, request ids and timing, and the log format."""
    logs.configure_logging(app.extensions["cairn"].settings.log_format)
    logs.add_source(_workspace_of_request)
    app.before_request(_begin_request)
    app.after_request(_end_request)
    app.teardown_request(_close_request)
    app.register_blueprint(bp)
