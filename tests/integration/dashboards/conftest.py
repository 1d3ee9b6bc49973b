"""A published sales app with dashboards, seeded through the record service, on both databases.

Customers belong to regions; opportunities link to customers, are owned by reps and move
through stages (so ``stage_history`` has rows). Row conditions: a rep reads only the
opportunities and customers they own; a manager reads every opportunity but only the
customers of their own region (so link dimensions see hidden targets).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from runtime.apps import AppService, PublishedApp, load_published
from runtime.clock import FrozenClock
from runtime.context import Actor, CallContext
from runtime.dashboards import DashboardService, MemoryCache, ResultCache
from runtime.db import make_engine, make_session_factory
from runtime.migrate import upgrade
from runtime.models import User, Workspace
from runtime.records import RecordService
from runtime.workspaces import IdentityService

#: A Monday, 09:00 UTC (17:00 in Shanghai).
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _l(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def widget(key: str, type_: str, entity: str = "opportunity", **options: Any) -> dict[str, Any]:
    """A widget definition."""
    return {"key": key, "type": type_, "entity": entity, **options}


WIDGETS: list[dict[str, Any]] = [
    widget("total", "number", measures=[{"key": "n", "agg": "count"},
                                        {"key": "amount", "agg": "sum", "of": "amount"}]),
    widget("by_stage", "bar", dimensions=[{"key": "stage", "field": "stage"}],
           measures=[{"key": "n", "agg": "count"}, {"key": "amount", "agg": "sum", "of": "amount"}]),
    widget("top", "table", columns=["title", "amount", "customer", "owner", "status"],
           sort=[{"by": "amount", "desc": True}], limit=3),
    widget("this_week", "number", period={"field": "created_at", "range": "this_week", "compare": True},
           measures=[{"key": "n", "agg": "count"}, {"key": "amount", "agg": "sum", "of": "amount"}]),
    widget("weekly", "line", dimensions=[{"key": "week", "field": "created_at", "bucket": "week"},
                                         {"key": "region", "field": "customer.region"}],
           measures=[{"key": "n", "agg": "count"}]),
    widget("daily", "area", dimensions=[{"key": "day", "field": "created_at", "bucket": "day"}],
           measures=[{"key": "n", "agg": "count"}, {"key": "amount", "agg": "sum", "of": "amount"}]),
    widget("status", "pie", dimensions=[{"key": "status", "field": "status"}],
           measures=[{"key": "n", "agg": "count"}], sort=[{"by": "n", "desc": True}]),
    widget("region_stage", "heatmap", dimensions=[{"key": "region", "field": "customer.region"},
                                                  {"key": "stage", "field": "stage"}],
           measures=[{"key": "n", "agg": "count"}]),
    widget("funnel", "funnel"),
    widget("map", "map", entity="customer", location="location", category="kind"),
    widget("story", "sentence",
           measures=[{"key": "proposal", "agg": "count", "filter": 'stage == "proposal"'},
                     {"key": "risky", "agg": "count", "filter": 'status == "overdue"'},
                     {"key": "expected", "agg": "sum", "of": "amount", "filter": 'stage == "proposal"'}],
           template="{proposal} 个商机处于方案阶段,预计金额 {expected},{risky} 个逾期",
           template_en="{proposal} opportunities in proposal, {expected} expected, {risky} overdue"),
    widget("by_owner", "table", dimensions=[{"key": "owner", "field": "owner"}],
           measures=[{"key": "n", "agg": "count"},
                     {"key": "customers", "agg": "count_distinct", "of": "customer"},
                     {"key": "avg_amount", "agg": "avg", "of": "amount"},
                     {"key": "max_quantity", "agg": "max", "of": "quantity"},
                     {"key": "min_amount", "agg": "min", "of": "amount"},
                     {"key": "won", "agg": "count", "filter": "won"},
                     {"key": "win_rate", "ratio": ["won", "n"]},
                     {"key": "conv", "conversion": {"from": "need_confirmation", "to": "proposal"}}],
           sort=[{"by": "n", "desc": True}]),
    widget("closing", "bar", dimensions=[{"key": "month", "field": "closing_on", "bucket": "month"}],
           measures=[{"key": "n", "agg": "count"}]),
    widget("quarters", "bar", dimensions=[{"key": "quarter", "field": "created_at", "bucket": "quarter"}],
           measures=[{"key": "n", "agg": "count"}]),
    widget("by_customer", "bar", dimensions=[{"key": "customer", "field": "customer"}],
           measures=[{"key": "n", "agg": "count"}], filter="amount > 100"),
    widget("won_flag", "bar", dimensions=[{"key": "won", "field": "won"}],
           measures=[{"key": "n", "agg": "count"}]),
]


def definition(widgets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The app with one dashboard holding ``widgets`` (default: :data:`WIDGETS`)."""
    return {
        "format": "cairn.app/1",
        "key": "sales",
        "label": _l("销售", "Sales"),
        "entities": [
            {
                "key": "customer",
                "label": _l("客户", "Customer"),
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "label": _l("名称", "Name")},
                    {"key": "region", "type": "choice", "label": _l("区域", "Region"),
                     "options": [{"value": "east", "label": _l("华东", "East")},
                                 {"value": "west", "label": _l("华西", "West")},
                                 {"value": "north", "label": _l("华北", "North")}]},
                    {"key": "kind", "type": "choice", "label": _l("类别", "Kind"),
                     "options": [{"value": "customer", "label": _l("客户", "Customer")},
                                 {"value": "competitor", "label": _l("竞品门店", "Competitor outlet")}]},
                    {"key": "location", "type": "location", "label": _l("位置", "Location")},
                    {"key": "score", "type": "integer", "label": _l("潜力分", "Score")},
                ],
                "permissions": [
                    {"role": "manager", "read_when": "region == me().region"},
                    {"role": "rep", "read_when": "owner == me()"},
                ],
            },
            {
                "key": "opportunity",
                "label": _l("商机", "Opportunity"),
                "title_field": "title",
                "fields": [
                    {"key": "title", "type": "text", "label": _l("标题", "Title")},
                    {"key": "customer", "type": "link", "target": "customer", "label": _l("客户", "Customer"),
                     "related_name": "opportunities"},
                    {"key": "amount", "type": "money", "label": _l("金额", "Amount")},
                    {"key": "quantity", "type": "integer", "label": _l("数量", "Quantity")},
                    {"key": "status", "type": "choice", "label": _l("状态", "Status"),
                     "options": [{"value": "open", "label": _l("进行中", "Open")},
                                 {"value": "overdue", "label": _l("逾期", "Overdue")},
                                 {"value": "won", "label": _l("赢单", "Won")}]},
                    {"key": "won", "type": "boolean", "label": _l("赢单", "Won")},
                    {"key": "closing_on", "type": "date", "label": _l("预计签约日", "Expected close")},
                ],
                "stages": [
                    {"key": "contact", "label": _l("接触", "Contact")},
                    {"key": "need_confirmation", "label": _l("需求确认", "Need confirmed")},
                    {"key": "proposal", "label": _l("方案", "Proposal")},
                    {"key": "closing", "label": _l("签约", "Closing")},
                ],
                "permissions": [
                    {"role": "manager"},
                    {"role": "rep", "read_when": "owner == me()"},
                ],
            },
            {
                "key": "note",
                "label": _l("备注", "Note"),
                "fields": [{"key": "body", "type": "text", "label": _l("内容", "Body")}],
                "permissions": [{"role": "manager", "read": False}, {"role": "rep", "read": False}],
            },
        ],
        "dashboards": [
            {"key": "board", "label": "经理工作台", "label_en": "Manager workbench", "roles": ["manager", "rep"],
             "home_for": ["manager"], "widgets": copy.deepcopy(widgets if widgets is not None else WIDGETS)},
            {"key": "admin_only", "roles": ["admin"], "widgets": []},
        ],
    }


@dataclass
class World:
    """The seeded app; ``dashboards(user)`` gives a service as that user."""

    session: Session
    engine: sa.Engine
    workspace: Workspace
    admin: User
    manager: User
    reps: dict[str, User]
    app: PublishedApp
    clock: FrozenClock
    cache: ResultCache = field(default_factory=MemoryCache)
    customers: dict[str, int] = field(default_factory=dict)
    opportunities: list[int] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def call(self, user: User) -> CallContext:
        return CallContext(self.session, self.workspace, Actor.of(user), self.clock)

    def records(self, user: User | None = None) -> RecordService:
        return RecordService(self.call(user or self.admin), self.app)

    def dashboards(self, user: User | None = None, *, cache: bool = False) -> DashboardService:
        return DashboardService(self.session, self.call(user or self.admin), self.app,
                                cache=self.cache if cache else None)

    def republish(self, widgets: list[dict[str, Any]]) -> None:
        """Publishes the app again with a dashboard of ``widgets``."""
        service = AppService(self.call(self.admin))
        revision = service.import_definition(definition(widgets))
        service.publish(revision.id)
        self.app = load_published(self.session, self.workspace.id, "sales")

    def scalar(self, sql: str, **params: Any) -> Any:
        return self.session.execute(sa.text(sql), params).scalar()

    def all(self, sql: str, **params: Any) -> list[Any]:
        return [tuple(r) for r in self.session.execute(sa.text(sql), params)]

    @property
    def opp(self) -> str:
        return self.app.table("opportunity").name

    @property
    def cust(self) -> str:
        return self.app.table("customer").name


CUSTOMERS = [
    # name, region, kind, owner, lat, lng, score
    ("Alpha", "east", "customer", "ann", 31.2, 121.4, 90),
    ("Beta", "east", "competitor", "bob", 31.3, 121.5, 40),
    ("Gamma", "west", "customer", "ann", 30.6, 104.0, 75),
    ("Delta", "north", "customer", "bob", 39.9, 116.4, None),
    ("Epsilon", "east", "customer", "ann", None, None, 60),
]

#: title, customer, owner, amount, quantity, status, days before NOW created, stage path
OPPORTUNITIES = [
    ("o1", "Alpha", "ann", "1200.50", 3, "open", 0, ["need_confirmation", "proposal"]),
    ("o2", "Alpha", "bob", "800", 1, "overdue", 1, ["need_confirmation"]),
    ("o3", "Beta", "ann", "300.25", 2, "won", 2, ["need_confirmation", "proposal", "closing"]),
    ("o4", "Gamma", "bob", "5000", 7, "open", 3, []),
    ("o5", "Gamma", "ann", None, None, "overdue", 6, ["proposal"]),
    ("o6", "Delta", "bob", "99.99", 1, "won", 8, ["need_confirmation", "proposal", "closing"]),
    ("o7", None, "ann", "10", 1, "open", 9, []),
    ("o8", "Epsilon", "bob", "450", 4, "open", 15, ["need_confirmation"]),
    ("o9", "Alpha", "ann", "0.01", 1, "overdue", 40, ["need_confirmation", "proposal"]),
    ("o10", "Beta", "bob", "7000", 2, "won", 0, ["need_confirmation", "proposal", "closing"]),
]


def seed(world: World) -> None:
    """Customers and opportunities created (and moved through stages) as the admin."""
    service = world.records()
    owners = {"ann": world.reps["ann"].id, "bob": world.reps["bob"].id}
    for name, region, kind, owner, lat, lng, score in CUSTOMERS:
        values: dict[str, Any] = {"name": name, "region": region, "kind": kind, "owner": owners[owner], "score": score}
        if lat is not None:
            values["location"] = {"lat": lat, "lng": lng}
        world.customers[name] = service.create("customer", values).record["id"]
    for index, (title, customer, owner, amount, quantity, status, days, path) in enumerate(OPPORTUNITIES):
        # spread over the day too: 02:00 UTC is 10:00 in Shanghai, 23:30 UTC is the next day
        world.clock.set(NOW - timedelta(days=days, hours=(index % 3) * 7, minutes=30 * (index % 2)))
        values = {
            "title": title, "owner": owners[owner], "status": status, "won": status == "won",
            "amount": None if amount is None else Decimal(amount), "quantity": quantity,
            "closing_on": (NOW + timedelta(days=index * 5 - 10)).date().isoformat(),
        }
        if customer is not None:
            values["customer"] = world.customers[customer]
        record = service.create("opportunity", values).record
        world.opportunities.append(record["id"])
        version = record["version"]
        for step, stage in enumerate(path):
            world.clock.set(NOW - timedelta(days=days) + timedelta(hours=step + 1))
            version = service.move_stage("opportunity", record["id"], stage, version=version).record["version"]
    world.clock.set(NOW + timedelta(hours=12))
    world.session.commit()


def make_world(database_url: str, widgets: list[dict[str, Any]] | None = None, timezone: str = "Asia/Shanghai") -> Iterator[World]:
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    clock = FrozenClock(NOW)
    session = factory()
    try:
        identity = IdentityService(session, clock)
        workspace = identity.create_workspace("acme", "Acme", timezone=timezone)
        admin = identity.create_user(workspace, "admin@acme.test", role="admin")
        manager = identity.create_user(workspace, "boss@acme.test", name="Boss", role="manager", region="east")
        reps = {
            name: identity.create_user(workspace, f"{name}@acme.test", name=name.title(), role="rep", region="east",
                                       manager=manager.id)
            for name in ("ann", "bob")
        }
        call = CallContext(session, workspace, Actor.of(admin), clock)
        service = AppService(call)
        revision = service.import_definition(definition(widgets))
        service.publish(revision.id)
        app = load_published(session, workspace.id, "sales")
        world = World(session, engine, workspace, admin, manager, reps, app, clock)
        seed(world)
        yield world
    finally:
        session.close()
        engine.dispose()


@pytest.fixture
def fresh_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """The seeded sales app (workspace zone Asia/Shanghai), for a test that writes."""
    yield from make_world(database_url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The seeded sales app shared by the read-only tests of a module, on each database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('dash') / 'cairn.sqlite3'}"
        yield from make_world(url)
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield from make_world(f"{base}?options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def world(shared_world: World) -> Iterator[World]:
    """The shared seeded app; whatever a test leaves in its session is rolled back."""
    yield shared_world
    shared_world.session.rollback()
