"""Schemathesis over the OpenAPI document, on SQLite and PostgreSQL, with two workspaces.

Requests are generated from the document and sent with workspace A's admin token; their
path parameters point at A's apps, entities, records, revisions and notifications — and at
workspace B's (which must answer 404). Record bodies are generated from the document and,
half of the time, from the entity's real field keys with arbitrary JSON values.

Checks on every response: no 5xx; the status, media type and body conform to the document;
and no 2xx body holds anything of workspace B (its marker values and user names).

Bounded by examples per operation (derandomized, no deadline, no shrinking), so the run is
reproducible and its length does not depend on the machine's speed.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    not_a_server_error,
    status_code_conformance,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from runtime.automation.embedded import EmbeddedWorker
from runtime.models import ApiToken
from tests.integration.automation.test_api import _definition as sales_definition
from tests.integration.conftest import Api, Tenant, install
from tests.unit.builder.fixtures import visit_app_definition

MAX_EXAMPLES = 25
MARKER = "MARK-B-"
EVENTS = ["product_page", "white_paper", "pricing_exit"]
VISITS = "/apps/store_visits/entities"
SALES = "/apps/sales/entities"


def _seed(api: Api, prefix: str) -> dict[str, list[int]]:
    """Installs both apps and writes a few records of each kind; returns ids by entity."""
    install(api, visit_app_definition())
    install(api, sales_definition())
    ids: dict[str, list[int]] = {}

    def add(base: str, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        response = api.post(f"{base}/{entity}/records", json=body)
        assert response.status_code == 201, response.get_json()
        record: dict[str, Any] = response.get_json()["record"]
        ids.setdefault(entity, []).append(record["id"])
        return record

    for i in range(2):
        customer = add(VISITS, "customer", {"name": f"{prefix}customer-{i}", "region": "华东", "industry": f"{prefix}industry"})
        visit = add(VISITS, "visit", {"customer": customer["id"], "competitor_note": f"{prefix}note-{i}"})
        add(VISITS, "commitment", {"visit": visit["id"], "content": f"{prefix}commitment-{i}"})
        deal = add(VISITS, "opportunity", {"title": f"{prefix}deal-{i}", "customer": customer["id"], "contact_channel": "电话", "amount": 1000 * (i + 1)})
        add(VISITS, "contact", {"opportunity": deal["id"], "name": f"{prefix}contact-{i}", "role": "采购"})
        add(SALES, "customer", {"name": f"{prefix}sales-customer-{i}"})
        add(SALES, "lead", {"name": f"{prefix}lead-{i}", "industry": f"{prefix}制造"})
        hooked = api.post("/hooks/sales/website_form", json={"id": f"{prefix}W-{i}", "company": f"{prefix}hook-{i}"})
        assert hooked.status_code == 201, hooked.get_json()
    return ids


def _pools(api: Api, ids: dict[str, list[int]], other: dict[str, list[int]], other_revisions: list[int], other_notifications: list[int]) -> dict[str, Any]:
    revisions = [r["id"] for key in ("store_visits", "sales") for r in api.get(f"/apps/{key}").get_json()["revisions"]]
    definition = visit_app_definition()
    steps = [s["key"] for e in definition["entities"] for s in e.get("steps", [])]
    stages = [s["key"] for e in definition["entities"] for s in e.get("stages", [])]
    records = {entity: sorted(set(ids.get(entity, []) + other.get(entity, []))) for entity in set(ids) | set(other)}
    visit_entities = [e["key"] for e in definition["entities"]]
    sales_entities = [e["key"] for e in sales_definition()["entities"]]
    return {
        "app": ["store_visits", "sales", "beta_only"],
        "target": [("store_visits", e) for e in visit_entities] + [("sales", e) for e in sales_entities]
        + [("beta_only", "customer"), ("store_visits", "nope"), ("sales", "customer")],
        "records": records,
        "revision": revisions + other_revisions,
        "step": steps,
        "stage": stages,
        "trigger": ["website_form"],
        "notification": other_notifications,
    }


def _field_keys() -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    for definition in (visit_app_definition(), sales_definition()):
        for entity in definition["entities"]:
            keys.setdefault(entity["key"], []).extend(f["key"] for f in entity["fields"])
    return keys


# Values that have broken a layer below the API before: NUL and lone surrogates, numbers
# beyond 64 bits or doubles, datetimes that overflow in time-zone conversion, huge durations.
EDGES = ["\x00", "a\x00b", "\ud800", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00",
         "99999999999999999d", "1e999999", "NaN", "-Infinity", 10**20, -(2**63) - 1, 1e308, -1e308, 5e-324]
WHERE_EDGES = ["amount * 99999999999999999999 > 1", "amount + 9223372036854775807 + 9223372036854775807 > 0",
               'name == "\x00"', "starts_with(name, null)", "left(name, 9999999999) == name", "amount > 1e308"]
SEARCH_EDGES = ["%00", "\x00", "%", "_", "\\"]  # a lone surrogate has no URL form
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
    | st.sampled_from(EDGES),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _field_values(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys) | st.sampled_from(["a\x00", "\ud800"]), JSON_VALUES, max_size=4)


class CrossWorkspaceRead(AssertionError):
    """A 2xx answer to workspace A carried something of workspace B."""


def _no_cross_workspace_read(markers: list[str]) -> Any:
    def no_cross_workspace_read(ctx: Any, response: Any, case: Any) -> bool | None:
        if not 200 <= response.status_code < 300:
            return None
        text = response.content.decode("utf-8", "replace")
        leaked = [m for m in markers if m in text]
        if leaked:
            raise CrossWorkspaceRead(f"{case.method} {case.formatted_path} answered {response.status_code} with workspace B's {leaked}")
        return True

    return no_cross_workspace_read


def _run_operation(app: Flask, operation: Any, token: str, pools: dict[str, Any], fields: dict[str, list[str]], checks: list[Any], counts: Counter[str]) -> None:
    has_body = operation.body is not None and len(operation.body) > 0
    path = operation.path

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(operation.as_strategy(), label="case")
        params = case.path_parameters
        if "entity" in params:
            # A real (app, entity) pair mostly, and a record of that entity: A's or B's ids.
            targets = pools["target"]
            if path.endswith("/complete"):
                targets = [("store_visits", "visit")] * len(targets) + targets
            elif path.endswith("/stage"):
                targets = [("store_visits", "opportunity")] * len(targets) + targets
            elif path.endswith("/events"):
                targets = [("sales", "customer")] * len(targets) + targets
            app_key, entity_key = data.draw(st.sampled_from(targets), label="target")
            params.update(app=app_key, entity=entity_key)
            if "record" in params:
                params["record"] = data.draw(st.sampled_from(pools["records"].get(entity_key, [0])) | st.just(params["record"]), label="record")
        for name in list(params):
            if pools.get(name) and name not in ("app", "entity", "record"):
                # Mostly real values (A's and B's), sometimes whatever was generated.
                params[name] = data.draw(st.sampled_from(pools[name]) | st.just(params[name]), label=name)
            elif name == "app" and "entity" not in params:
                params[name] = data.draw(st.sampled_from(pools["app"]) | st.just(params[name]), label=name)
        if path in ("/apps", "/apps/validate") and case.method == "POST" and data.draw(st.booleans(), label="real definition"):
            definition = visit_app_definition()
            definition["key"] = data.draw(st.sampled_from(["store_visits", "beta_only", "fresh_app"]), label="key")
            case.body = definition
        if path.startswith("/hooks/") and data.draw(st.booleans(), label="real payload"):
            params.update(app="sales", trigger="website_form")
            case.body = {"id": data.draw(st.sampled_from(["W-0", "W-1", "new"]) | st.text(max_size=10), label="id"),
                         "company": data.draw(JSON_VALUES, label="company")}
        if path.endswith("/events") and isinstance(case.body, dict) and data.draw(st.booleans(), label="real event"):
            case.body = {**case.body, "name": data.draw(st.sampled_from(EVENTS), label="event")}
        if path.endswith("/records") and case.method == "GET" and data.draw(st.booleans(), label="edge query"):
            case.query = {**(case.query or {}),
                          "where": data.draw(st.sampled_from(WHERE_EDGES), label="where"),
                          "search": data.draw(st.sampled_from(SEARCH_EDGES), label="search")}
        entity = params.get("entity")
        if has_body and entity in fields and data.draw(st.booleans(), label="real fields"):
            values = data.draw(_field_values(fields[entity]), label="values")
            version = data.draw(st.sampled_from([1, 2, 3]), label="version")
            if path.endswith("/records") and case.method == "POST":
                case.body = values
            elif case.method == "PATCH":
                case.body = {**values, "version": version}
            elif path.endswith("/complete"):
                case.body = {"version": version, "values": values}
            elif path.endswith("/form-state"):
                case.body = {"values": values}
            elif path.endswith("/stage"):
                case.body = {"stage": data.draw(st.sampled_from(pools["stage"])), "version": version}
        # The request as edited above, without the generation metadata schemathesis would
        # re-validate with a validator that can't take lone surrogates (they are sent as \uXXXX).
        case = operation.Case(path_parameters=params, query=case.query, headers=case.headers, body=case.body, media_type=case.media_type)
        response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
        counts[f"{operation.label} → {response.status_code}"] += 1
        case.validate_response(response, checks=checks)

    run()


def _printable(text: str) -> str:
    """``text`` with lone surrogates escaped: a test report holding one can't be sent from an
    xdist worker, and the failure would be lost in an INTERNALERROR."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _EscapeSurrogates(logging.Filter):
    """Renders a log record (and its traceback) with lone surrogates escaped; see _printable."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = _printable(message), None
        return True


def _summary(exc: BaseException) -> str:
    """The failed checks and the request reproducing them (schemathesis' curl line)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    kept = [line for line in lines if line.startswith(("- ST", "curl ", "Received:", "Documented:"))]
    return _printable("\n    ".join(line[:800] for line in kept) if kept else f"{type(exc).__name__}: {str(exc)[:2000]}")


def test_schemathesis_over_the_document(app: Flask, client: FlaskClient, tenant: Tenant, other_tenant: Tenant) -> None:
    a_admin = Api(client, tenant.admin_token)
    b_admin = Api(client, other_tenant.admin_token)
    ids_b = _seed(b_admin, MARKER)
    beta_only = visit_app_definition()
    beta_only.update(key="beta_only", label={"zh": MARKER + "应用", "en": MARKER + "app"})
    install(b_admin, beta_only)
    ids_a = _seed(a_admin, "A-")
    EmbeddedWorker(app.extensions["cairn"]).drain()
    b_manager = Api(client, other_tenant.manager_token)
    b_notifications = [n["id"] for n in b_manager.get("/inbox").get_json()["items"]]
    assert b_notifications, "workspace B's webhook notifications were not delivered"
    b_revisions = [r["id"] for key in ("store_visits", "sales", "beta_only") for r in b_admin.get(f"/apps/{key}").get_json()["revisions"]]
    pools = _pools(a_admin, ids_a, ids_b, b_revisions, b_notifications)
    # People and access: A's and B's users and tokens (B's must answer 404).
    pools["user"] = [u.id for t in (tenant, other_tenant) for u in (t.admin, t.manager, t.rep)]
    with app.extensions["cairn"].session() as session:
        pools["token"] = list(session.scalars(sa.select(ApiToken.id).order_by(ApiToken.id)))
    markers = [MARKER, other_tenant.admin.name, other_tenant.manager.name, other_tenant.rep.name]
    # The markers really are in what B can read (else the check below proves nothing).
    assert MARKER in b_admin.get(f"{VISITS}/customer/records").get_data(as_text=True)
    assert other_tenant.admin.name in b_admin.get(f"{VISITS}/customer/records/{ids_b['customer'][0]}/timeline").get_data(as_text=True)

    no_cross_workspace_read = _no_cross_workspace_read(markers)
    # The check fires on what B itself may read (else it could never fail).
    own = b_admin.get(f"{VISITS}/customer/records")
    with pytest.raises(CrossWorkspaceRead):
        no_cross_workspace_read(None, SimpleNamespace(status_code=own.status_code, content=own.get_data()), SimpleNamespace(method="GET", formatted_path="/customer/records"))

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance, no_cross_workspace_read]
    fields = _field_keys()
    counts: Counter[str] = Counter()
    failures: list[str] = []
    operations = 0
    escape = _EscapeSurrogates()
    logging.getLogger("web.errors").addFilter(escape)  # it logs the refused values of a 500
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            operations += 1
            try:
                _run_operation(app, operation, tenant.admin_token, pools, fields, checks, counts)
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then fail once with all
                failures.append(f"{operation.label}: {_summary(exc)}")
    finally:
        logging.getLogger("web.errors").removeFilter(escape)
    by_status = Counter(key.rsplit(" → ", 1)[1] for key in counts.elements())
    print(f"\nschemathesis: {operations} operations, {sum(counts.values())} requests, by status {dict(sorted(by_status.items()))}")
    for key, count in sorted(counts.items()):
        print(f"  {count:4d}  {key}")
    assert operations >= 25
    assert failures == [], "\n\n".join(failures)
    # A's own data was reachable (the run did not only hit 404s and 422s).
    assert any(k.endswith("→ 200") and "{record}" in k for k in counts), counts
