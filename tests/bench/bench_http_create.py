"""Record create through HTTP, Cairn against a hand-written endpoint (a script, not a test).

Measures the **server-side cost of one request without the network**: both sides are
Flask apps driven in-process by Flask's test client (full WSGI stack, routing, JSON,
authentication, validation, one transaction), no gunicorn, no sockets. Figures are
therefore higher than a wrk run against gunicorn; the ratio is what to compare.

* **Cairn**: ``POST /api/v1/apps/perf/entities/deal/records`` on an entity with 2 steps,
  a formula and 3 ``created`` triggers (the app of ``tests/integration/test_write_round_trips.py``),
  as a rep with a bearer token.
* **hand-written**: a Flask + SQLAlchemy Core endpoint defined below that checks a bearer
  token (one indexed lookup), validates the same fields (unknown keys refused too),
  computes the same total and inserts the same rows as Cairn — the record, an audit row
  with the written values and three outbox-like rows — in one transaction, in its own
  tables.

Rounds are interleaved (Cairn, hand-written, Cairn, …); each side prints its median
req/s with the min–max spread and its median CPU time per request (this process's CPU:
the server side of both, PostgreSQL's own work excluded), then the ratio of medians and
the load average before and after. Runs on a temporary SQLite file and, with
``--database-url``, on a PostgreSQL database it creates next to the given one and drops
at the end. ``--profile N`` prints where Cairn's time goes over N more creates (cProfile).

Usage::

    .venv/bin/python tests/bench/bench_http_create.py --rounds 7 --requests 200
    .venv/bin/python tests/bench/bench_http_create.py --sqlite-only
    .venv/bin/python tests/bench/bench_http_create.py --postgresql-only
    .venv/bin/python tests/bench/bench_http_create.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask.testing import FlaskClient

try:
    from tests.bench._common import DEFAULT_PG, interleave, load, scratch_database, spread
except ImportError:  # run as a script
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.bench._common import DEFAULT_PG, interleave, load, scratch_database, spread

from runtime.automation.engine import install as install_engine  # noqa: E402
from runtime.migrate import upgrade  # noqa: E402
from runtime.platform import Platform  # noqa: E402
from runtime.settings import Settings  # noqa: E402
from runtime.workspaces import IdentityService  # noqa: E402
from tests.integration.test_write_round_trips import perf_app  # noqa: E402
from web import create_app  # noqa: E402

PATH = "/api/v1/apps/perf/entities/deal/records"
TRIGGERS = ("t1", "t2", "t3")


def _body(n: int) -> dict[str, Any]:
    return {"name": f"deal {n}", "qty": n % 7 + 1, "price": "10.50", "note": "bench"}


# --- the hand-written baseline ---------------------------------------------------------

META = sa.MetaData()
HW_TOKENS = sa.Table(
    "hw_tokens", META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
)
HW_DEALS = sa.Table(
    "hw_deals", META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("owner_id", sa.Integer, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("qty", sa.Integer),
    sa.Column("price", sa.Numeric(18, 2)),
    sa.Column("note", sa.Text),
    sa.Column("total", sa.Numeric(18, 2)),
    sa.Column("step", sa.String(40), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
HW_AUDIT = sa.Table(
    "hw_audit", META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("deal_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("actor_id", sa.Integer),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)
HW_OUTBOX = sa.Table(
    "hw_outbox", META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("deal_id", sa.Integer, nullable=False),
    sa.Column("trigger_key", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def hand_written_app(engine: sa.Engine) -> Flask:
    """A Flask app with the baseline endpoint on ``engine`` (its own ``hw_*`` tables)."""
    app = Flask("hand_written")
    insert_deal = HW_DEALS.insert().returning(HW_DEALS.c.id, HW_DEALS.c.created_at)
    insert_jobs = HW_OUTBOX.insert()
    insert_audit = HW_AUDIT.insert()
    fields = {"name", "qty", "price", "note"}

    @app.post(PATH)
    def create() -> Any:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return jsonify(error="unauthenticated"), 401
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify(error="invalid_json"), 400
        errors: dict[str, str] = {str(k): "unknown field" for k in body if k not in fields}
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            errors["name"] = "required text"
        qty = body.get("qty")
        if qty is not None and (not isinstance(qty, int) or isinstance(qty, bool)):
            errors["qty"] = "integer"
        price: Decimal | None = None
        if body.get("price") is not None:
            try:
                price = Decimal(str(body["price"])).quantize(Decimal("0.01"))
            except InvalidOperation:
                errors["price"] = "money"
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            errors["note"] = "text"
        if errors:
            return jsonify(error="validation", fields=errors), 422
        total = qty * price if qty is not None and price is not None else None
        step = "review" if qty is not None and price is not None else "quote"
        now = datetime.now(UTC)
        with engine.begin() as conn:
            user = conn.execute(
                sa.select(HW_TOKENS.c.user_id).where(
                    HW_TOKENS.c.token_hash == _hash(header[7:]), HW_TOKENS.c.active.is_(True))
            ).scalar()
            if user is None:
                return jsonify(error="unauthenticated"), 401
            row = conn.execute(insert_deal, {
                "owner_id": user, "name": name, "qty": qty, "price": price, "note": note,
                "total": total, "step": step, "created_at": now, "updated_at": now,
            }).one()
            record = {"id": row.id, "name": name, "qty": qty, "price": str(price) if price is not None else None,
                      "note": note, "total": str(total) if total is not None else None,
                      "step": step, "owner": user, "created_at": row.created_at.isoformat()}
            written = {k: [None, record[k]] for k in body}
            conn.execute(insert_audit, {"deal_id": row.id, "action": "create", "outcome": "ok",
                                        "changes": written, "actor_id": user, "at": now})
            conn.execute(insert_jobs, [
                {"deal_id": row.id, "trigger_key": key, "status": "pending",
                 "payload": {"record": row.id, "event": "created"}, "created_at": now}
                for key in TRIGGERS
            ])
        return jsonify(record=record), 201

    return app


# --- the benchmark ----------------------------------------------------------------------


def _cairn(database_url: str, instance: Path) -> tuple[FlaskClient, str, Platform]:
    settings = Settings(database_url=database_url, secret_key="bench", instance_path=instance,
                        upload_dir=instance / "uploads", embedded_worker=False)
    app = create_app(settings)
    platform: Platform = app.extensions["cairn"]
    upgrade(platform.engine)
    install_engine(platform)
    with platform.session() as session:
        identity = IdentityService(session, platform.clock)
        ws = identity.create_workspace("bench", "Bench")
        admin = identity.create_user(ws, "bench-admin", password="admin-password", role="admin")
        rep = identity.create_user(ws, "bench-rep", password="rep-password", role="rep")
        admin_token = identity.issue_token(admin).token
        rep_token = identity.issue_token(rep).token
    client = app.test_client()
    auth = {"Authorization": f"Bearer {admin_token}"}
    definition = perf_app()
    created = client.post("/api/v1/apps", json=definition, headers=auth)
    assert created.status_code == 201, created.get_json()
    revision = created.get_json()["revision"]["id"]
    published = client.post(f"/api/v1/apps/perf/revisions/{revision}/publish", json={}, headers=auth)
    assert published.status_code == 200, published.get_json()
    return client, rep_token, platform


def _rate(client: FlaskClient, token: str, requests: int, cpu: list[float]) -> Callable[[], float]:
    """A round of ``requests`` creates: returns req/s, appends CPU ms per request to ``cpu``."""
    headers = {"Authorization": f"Bearer {token}"}
    counter = iter(range(10**9))

    def run() -> float:
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(requests):
            response = client.post(PATH, json=_body(next(counter)), headers=headers)
            if response.status_code != 201:
                raise RuntimeError(f"create failed: {response.status_code} {response.get_data(as_text=True)[:300]}")
        elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu_started
        cpu.append(cpu_used / requests * 1000)
        return requests / elapsed

    return run


def _profile(client: FlaskClient, token: str, requests: int) -> None:
    """Prints the functions Cairn's creates spend their time in (cumulative, top 40)."""
    import cProfile
    import pstats

    headers = {"Authorization": f"Bearer {token}"}
    profiler = cProfile.Profile()
    profiler.enable()
    for n in range(requests):
        client.post(PATH, json=_body(n), headers=headers)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def compare(database_url: str, label: str, rounds: int, requests: int, profile: int = 0) -> dict[str, float]:
    """Runs the interleaved comparison on ``database_url``; prints and returns the medians."""
    instance = Path(tempfile.mkdtemp(prefix="cairn-bench-"))
    cairn_client, rep_token, platform = _cairn(database_url, instance)
    engine = sa.create_engine(database_url)
    try:
        META.create_all(engine)
        token = "hand-written-bench-token"
        with engine.begin() as conn:
            conn.execute(HW_TOKENS.insert(), {"token_hash": _hash(token), "user_id": 1, "active": True})
        hw_client = hand_written_app(engine).test_client()
        cpu: dict[str, list[float]] = {"Cairn": [], "hand-written": []}
        sides = {"Cairn": _rate(cairn_client, rep_token, requests, cpu["Cairn"]),
                 "hand-written": _rate(hw_client, token, requests, cpu["hand-written"])}
        for run in sides.values():  # warm caches, pools and the JIT-free paths alike
            run()
        for values in cpu.values():
            values.clear()
        before = load()
        samples = interleave(rounds, sides)
        after = load()
        # Both really wrote what they claim: the record and three outbox rows each.
        with engine.connect() as conn:
            hw_jobs = conn.scalar(sa.select(sa.func.count()).select_from(HW_OUTBOX))
            hw_deals = conn.scalar(sa.select(sa.func.count()).select_from(HW_DEALS))
            hw_audits = conn.scalar(sa.select(sa.func.count()).select_from(HW_AUDIT))
        assert hw_jobs == 3 * hw_deals and hw_audits == hw_deals, (hw_jobs, hw_audits, hw_deals)
        if profile:
            _profile(cairn_client, rep_token, profile)
    finally:
        engine.dispose()
        platform.dispose()
    cairn, hand = statistics.median(samples["Cairn"]), statistics.median(samples["hand-written"])
    print(f"record create with 2 steps, a formula, 3 triggers — {label} "
          f"({rounds} interleaved rounds × {requests} requests, in-process)")
    print(f"  load average before: {before}")
    for name, values in samples.items():
        print(f"  {name:<13} {spread(values, 'req/s', 1)}   CPU {spread(cpu[name], 'ms/request', 3)}")
    cpu_ratio = statistics.median(cpu["hand-written"]) / statistics.median(cpu["Cairn"])
    print(f"  ratio Cairn/hand-written: {cairn / hand:.2f}×  (goal ≥ 0.9×); "
          f"by CPU per request: {cpu_ratio:.2f}×")
    print(f"  load average after:  {after}")
    return {"cairn": cairn, "hand_written": hand, "ratio": cairn / hand, "cpu_ratio": cpu_ratio}


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_PG,
                        help="PostgreSQL server to create a scratch database on (default: %(default)s)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--postgresql-only", action="store_true", help="skip SQLite")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200, help="requests per side per round")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after the rounds, profile N more Cairn creates and print the top functions")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if not args.postgresql_only:
        with tempfile.TemporaryDirectory(prefix="cairn-bench-") as folder:
            compare(f"sqlite:///{folder}/bench.sqlite3", "SQLite", args.rounds, args.requests, args.profile)
    if not args.sqlite_only:
        with scratch_database(args.database_url) as url:
            compare(url, "PostgreSQL", args.rounds, args.requests, args.profile)


if __name__ == "__main__":
    main()
