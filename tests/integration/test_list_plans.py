"""Lists are index-bound: the plans of list queries use the list indexes, and pages stay exact.

Plans are read from the database itself (``EXPLAIN (FORMAT JSON)`` on PostgreSQL,
``EXPLAIN QUERY PLAN`` on SQLite) for the very statement the API ran, captured from the
engine, after a set-based insert of tens of thousands of rows and ``ANALYZE``.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from runtime import record_list
from runtime.clock import FrozenClock
from runtime.platform import Platform
from tests.integration.conftest import Api, Tenant, install

BASE = "/apps/leads/entities/lead/records"
ROWS = 30_000
REP_EVERY = 20  # one row in 20 is the rep's


def _definition(read_when: str = "owner == me()") -> dict[str, Any]:
    return {
        "format": "cairn.app/1",
        "key": "leads",
        "label": {"zh": "线索", "en": "Leads"},
        "entities": [
            {
                "key": "lead",
                "label": {"zh": "线索", "en": "Lead"},
                "title_field": "name",
                "fields": [
                    {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}},
                    {"key": "score", "type": "integer", "index": True, "label": {"zh": "分数", "en": "Score"}},
                    {"key": "note", "type": "text", "label": {"zh": "备注", "en": "Note"}},
                ],
                "permissions": [
                    {"role": "rep", "read_when": read_when, "write_when": "owner == me()"},
                    {"role": "manager"},
                ],
            }
        ],
    }


def _table_name(platform: Platform) -> str:
    names = [n for n in sa.inspect(platform.engine).get_table_names() if n.endswith("_lead")]
    assert len(names) == 1, names
    return names[0]


def _index_columns(platform: Platform, table_name: str) -> dict[str, list[str]]:
    return {str(i["name"]): list(i["column_names"]) for i in sa.inspect(platform.engine).get_indexes(table_name)}


def _fill(platform: Platform, table_name: str, tenant: Tenant) -> None:
    """ROWS rows in one INSERT … SELECT; three rows share each created_at (ties), a
    seventh of the scores are null, one row in REP_EVERY belongs to the rep."""
    quoted = f'"{table_name}"'
    params = {"rep": tenant.rep.id, "admin": tenant.admin.id, "rows": ROWS, "every": REP_EVERY}
    columns = "created_at, updated_at, created_by, owner, version, name, score"
    with platform.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(
                sa.text(
                    f"INSERT INTO {quoted} ({columns}) SELECT "
                    "timestamp '2026-01-01' + (g / 3) * interval '1 second', timestamp '2026-01-01', "
                    ":admin, CASE WHEN g % :every = 0 THEN :rep ELSE :admin END, 1, 'lead ' || g, "
                    "CASE WHEN g % 7 = 0 THEN NULL ELSE g % 100 END FROM generate_series(1, :rows) AS g"
                ),
                params,
            )
            conn.execute(sa.text(f"ANALYZE {quoted}"))
        else:
            conn.execute(
                sa.text(
                    f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < :rows) "
                    f"INSERT INTO {quoted} ({columns}) SELECT "
                    "datetime('2026-01-01', '+' || (g / 3) || ' seconds') || '.000000', '2026-01-01 00:00:00.000000', "
                    ":admin, CASE WHEN g % :every = 0 THEN :rep ELSE :admin END, 1, 'lead ' || g, "
                    "CASE WHEN g % 7 = 0 THEN NULL ELSE g % 100 END FROM s"
                ),
                params,
            )
            conn.execute(sa.text("ANALYZE"))


@contextmanager
def _captured(platform: Platform, table_name: str) -> Iterator[list[tuple[str, Any]]]:
    """The SELECTs from the entity table run while inside the block, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f"FROM {table_name}" in statement.replace('"', "") and "ORDER BY" in statement:
            seen.append((statement, parameters))

    sa.event.listen(platform.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        sa.event.remove(platform.engine, "before_cursor_execute", listen)


def _list(api: Api, platform: Platform, table_name: str, query: str) -> tuple[dict[str, Any], tuple[str, Any]]:
    with _captured(platform, table_name) as seen:
        response = api.get(f"{BASE}?{query}")
    assert response.status_code == 200, response.get_json()
    assert len(seen) == 1, seen
    return response.get_json(), seen[0]


def _pg_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _pg_nodes(child)


def _assert_index_bound(platform: Platform, table_name: str, captured: tuple[str, Any], index: str) -> None:
    """The statement's plan walks ``index`` with no sort and no full scan of the table."""
    statement, parameters = captured
    with platform.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            raw = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar_one()
            document = raw if isinstance(raw, list) else json.loads(raw)
            nodes = list(_pg_nodes(document[0]["Plan"]))
            kinds = [n["Node Type"] for n in nodes]
            assert not any("Sort" in k for k in kinds), (kinds, statement)
            assert not any(n["Node Type"] == "Seq Scan" and n.get("Relation Name") == table_name for n in nodes), (kinds, statement)
            scans = [n for n in nodes if n["Node Type"] in ("Index Scan", "Index Only Scan")]
            assert [n.get("Index Name") for n in scans] == [index], (nodes, statement)
        else:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            details = [str(r[-1]) for r in rows]
            assert not any("TEMP B-TREE" in d for d in details), details
            assert any(f"USING INDEX {index}" in d or f"USING COVERING INDEX {index}" in d for d in details), details


@pytest.fixture
def filled(admin_api: Api, platform: Platform, tenant: Tenant) -> str:
    install(admin_api, _definition())
    table_name = _table_name(platform)
    _fill(platform, table_name, tenant)
    return table_name


def test_publish_declares_list_indexes_from_the_read_condition(admin_api: Api, platform: Platform) -> None:
    install(admin_api, _definition())
    table_name = _table_name(platform)
    indexes = _index_columns(platform, table_name)
    assert indexes[f"ix_{table_name}_list"] == ["created_at", "id"]
    assert indexes[f"ix_{table_name}_list_owner"] == ["owner", "created_at", "id"]
    assert indexes[f"ix_{table_name}_list__updated"] == ["updated_at", "id"]
    assert indexes[f"ix_{table_name}_list_owner__updated"] == ["owner", "updated_at", "id"]
    # The list indexes lead with created_at, updated_at and owner: no single-column ones.
    assert not {f"ix_{table_name}_{c}" for c in ("created_at", "updated_at", "owner")} & set(indexes)


def test_first_pages_and_keyset_pages_walk_the_list_indexes(filled: str, admin_api: Api, rep_api: Api, platform: Platform, tenant: Tenant) -> None:
    table_name = filled
    body, admin_first = _list(admin_api, platform, table_name, "order_by=-created_at&limit=50")
    assert len(body["items"]) == 50 and body["items"][0]["id"] == ROWS and body["next_cursor"]
    _assert_index_bound(platform, table_name, admin_first, f"ix_{table_name}_list")

    body, admin_second = _list(admin_api, platform, table_name, f"order_by=-created_at&limit=50&after={body['next_cursor']}")
    assert len(body["items"]) == 50
    _assert_index_bound(platform, table_name, admin_second, f"ix_{table_name}_list")

    body, rep_first = _list(rep_api, platform, table_name, "order_by=-created_at&limit=50")
    assert len(body["items"]) == 50 and {r["owner"] for r in body["items"]} == {tenant.rep.id}
    assert [r["id"] for r in body["items"]][:2] == [ROWS, ROWS - REP_EVERY]
    _assert_index_bound(platform, table_name, rep_first, f"ix_{table_name}_list_owner")

    body, rep_second = _list(rep_api, platform, table_name, f"order_by=-created_at&limit=50&after={body['next_cursor']}")
    assert len(body["items"]) == 50 and body["items"][0]["id"] == ROWS - 50 * REP_EVERY
    _assert_index_bound(platform, table_name, rep_second, f"ix_{table_name}_list_owner")


def test_the_default_and_recently_updated_orders_walk_their_indexes(filled: str, admin_api: Api, rep_api: Api, platform: Platform, tenant: Tenant) -> None:
    table_name = filled
    # No order_by: newest first, -created_at, the role's index.
    body, rep_default = _list(rep_api, platform, table_name, "limit=50")
    assert [r["id"] for r in body["items"]][:2] == [ROWS, ROWS - REP_EVERY]
    _assert_index_bound(platform, table_name, rep_default, f"ix_{table_name}_list_owner")
    body, rep_default_second = _list(rep_api, platform, table_name, f"limit=50&after={body['next_cursor']}")
    assert body["items"][0]["id"] == ROWS - 50 * REP_EVERY
    _assert_index_bound(platform, table_name, rep_default_second, f"ix_{table_name}_list_owner")

    body, admin_updated = _list(admin_api, platform, table_name, "order_by=-updated_at&limit=50")
    assert [r["id"] for r in body["items"]][:2] == [ROWS, ROWS - 1]  # all updated at once: by id
    _assert_index_bound(platform, table_name, admin_updated, f"ix_{table_name}_list__updated")
    body, admin_updated_second = _list(admin_api, platform, table_name, f"order_by=-updated_at&limit=50&after={body['next_cursor']}")
    assert body["items"][0]["id"] == ROWS - 50
    _assert_index_bound(platform, table_name, admin_updated_second, f"ix_{table_name}_list__updated")

    # "My records, recently updated" (the home page's query): owner equality + -updated_at.
    query = f"filter.owner={tenant.rep.id}&order_by=-updated_at&limit=20"
    body, mine_updated = _list(admin_api, platform, table_name, query)
    assert {r["owner"] for r in body["items"]} == {tenant.rep.id} and body["items"][0]["id"] == ROWS
    _assert_index_bound(platform, table_name, mine_updated, f"ix_{table_name}_list_owner__updated")


def _assert_two_ranges(platform: Platform, table_name: str, captured: tuple[str, Any], index: str, limit: int) -> None:
    """A nulls-last page: the table is read only through ``index`` (its two ranges) and the
    only sorting is of the at most ``2 × (limit + 1)`` rows those ranges return."""
    statement, parameters = captured
    with platform.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            raw = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
            conn.rollback()
            nodes = list(_pg_nodes((raw if isinstance(raw, list) else json.loads(raw))[0]["Plan"]))
            scans = [n for n in nodes if n.get("Relation Name") == table_name]
            assert scans and {(n["Node Type"], n.get("Index Name")) for n in scans} <= {
                ("Index Scan", index), ("Index Scan Backward", index)}, (nodes, statement)
            sorts = [n for n in nodes if "Sort" in n["Node Type"]]
            assert all(n["Actual Rows"] <= 2 * (limit + 1) for n in sorts), sorts
            assert all(n["Actual Rows"] <= limit + 1 for n in scans), scans
        else:
            details = [str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()]
            reads = [d for d in details if table_name in d and (d.startswith("SCAN") or d.startswith("SEARCH"))]
            assert len(reads) in (1, 2) and all(f"USING INDEX {index}" in d for d in reads), details
            # SQLite merges the two parts by the outer order, sorting each part's at most
            # limit + 1 rows ("SCAN anon_…" then a temporary B-tree), never the table.
            assert len([d for d in details if "TEMP B-TREE" in d]) <= 2, details
            for i, d in enumerate(details):
                if "TEMP B-TREE" in d:
                    assert details[i - 1].startswith("SCAN anon_"), details


def test_a_nullable_indexed_field_pages_by_two_index_ranges(filled: str, admin_api: Api, platform: Platform) -> None:
    """``-score`` (nulls last) on 30,000 rows: the rows with a score from the (score, id)
    index, then the nulls from its null range — never a sort of the table."""
    table_name = filled
    index = f"ix_{table_name}_score"
    assert _index_columns(platform, table_name)[index] == ["score", "id"]
    for order in ("-score", "score"):
        body, first = _list(admin_api, platform, table_name, f"order_by={order}&limit=50")
        scores = [r["score"] for r in body["items"]]
        assert scores == sorted(scores, reverse=order.startswith("-")) and None not in scores
        _assert_two_ranges(platform, table_name, first, index, 50)
        body, second = _list(admin_api, platform, table_name, f"order_by={order}&limit=50&after={body['next_cursor']}")
        assert len(body["items"]) == 50
        _assert_two_ranges(platform, table_name, second, index, 50)
    # A cursor on a null: only the null range is left.
    last_null = max(g for g in range(1, ROWS + 1) if g % 7 == 0)
    body, nulls = _list(admin_api, platform, table_name, f"order_by=-score&limit=50&after={_cursor(None, last_null)}")
    assert [r["score"] for r in body["items"]] == [None] * 50 and body["items"][0]["id"] == last_null - 7
    _assert_two_ranges(platform, table_name, nulls, index, 50)


def test_sorting_an_unindexed_field_of_a_large_table_is_refused(filled: str, admin_api: Api) -> None:
    refused = admin_api.get(f"{BASE}?order_by=note")
    assert refused.status_code == 422, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "sort_not_indexed" and "index" in body["detail"] and "索引" in body["detail_zh"]
    assert "“Note” (note)" in body["detail"] and "“备注”(note)" in body["detail_zh"], body
    assert admin_api.get(f"{BASE}?order_by=-score&limit=5").status_code == 200  # "index": true
    assert admin_api.get(f"{BASE}?order_by=-updated_at&limit=5").status_code == 200


def _pages(api: Api, query: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    url = f"{BASE}?{query}"
    for _ in range(100):
        response = api.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        items.extend(body["items"])
        if not body["next_cursor"]:
            return items
        url = f"{BASE}?{query}&after={body['next_cursor']}"
    raise AssertionError("too many pages")


def test_pages_are_exact_with_ties_and_nulls(admin_api: Api, rep_api: Api, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch) -> None:
    install(admin_api, _definition())
    expected: list[tuple[int, int | None]] = []
    for i in range(23):
        if i % 4 == 0:
            clock.advance(timedelta(seconds=1))  # four records share each created_at
        api = rep_api if i % 2 else admin_api
        score = None if i % 5 == 0 else i % 3
        created = api.post(BASE, json={"name": f"n{i}", "score": score, "note": f"x{i % 4}"})
        assert created.status_code == 201, created.get_json()
        expected.append((created.get_json()["record"]["id"], score))
    ids = [i for i, _ in expected]

    newest = _pages(admin_api, "order_by=-created_at&limit=4")
    assert [r["id"] for r in newest] == sorted(ids, reverse=True)
    oldest = _pages(admin_api, "order_by=created_at&limit=5")
    assert [r["id"] for r in oldest] == sorted(ids)
    mine = _pages(rep_api, "order_by=-created_at&limit=3")
    assert [r["id"] for r in mine] == sorted(ids[1::2], reverse=True)

    def by_score(descending: bool) -> list[int]:
        present = sorted(((s, i) for i, s in expected if s is not None), reverse=descending)
        nulls = sorted((i for i, s in expected if s is None), reverse=descending)
        return [i for _s, i in present] + nulls

    for limit in (1, 4, 7):
        assert [r["id"] for r in _pages(admin_api, f"order_by=-score&limit={limit}")] == by_score(True)
        assert [r["id"] for r in _pages(admin_api, f"order_by=score&limit={limit}")] == by_score(False)

    monkeypatch.setattr(record_list, "UNINDEXED_SORT_ROWS", 100)
    notes = _pages(admin_api, "order_by=note&limit=4")  # unindexed, but a small table
    assert [r["id"] for r in notes] == [i for _n, i in sorted((f"x{k % 4}", i) for k, i in enumerate(ids))]
    monkeypatch.setattr(record_list, "UNINDEXED_SORT_ROWS", 10)
    assert admin_api.get(f"{BASE}?order_by=note").get_json()["code"] == "sort_not_indexed"


def _cursor(value: Any, record_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, record_id]).encode()).decode().rstrip("=")


def test_cursors_keep_their_format_and_a_null_for_a_never_null_column_is_refused(admin_api: Api, clock: FrozenClock) -> None:
    install(admin_api, _definition())
    for i in range(3):
        clock.advance(timedelta(seconds=1))
        assert admin_api.post(BASE, json={"name": f"n{i}"}).status_code == 201
    first = admin_api.get(f"{BASE}?order_by=-created_at&limit=1").get_json()
    value, record_id = json.loads(base64.urlsafe_b64decode(first["next_cursor"] + "=" * (-len(first["next_cursor"]) % 4)))
    assert record_id == first["items"][0]["id"] and isinstance(value, str)
    # A cursor written by hand in the same [value, id] format pages on as before.
    handmade = admin_api.get(f"{BASE}?order_by=-created_at&limit=5&after={_cursor(value, record_id)}").get_json()
    assert [r["id"] for r in handmade["items"]] == [record_id - 1, record_id - 2]
    refused = admin_api.get(f"{BASE}?order_by=-created_at&after={_cursor(None, record_id)}")
    assert refused.status_code == 422 and "after" in refused.get_json()["errors"]


def test_republishing_adds_and_drops_list_indexes(admin_api: Api, platform: Platform) -> None:
    install(admin_api, _definition())
    table_name = _table_name(platform)
    with platform.engine.begin() as conn:  # a table published before list indexes existed
        for name in ("list", "list__updated", "list_owner__updated"):
            conn.execute(sa.text(f'DROP INDEX "ix_{table_name}_{name}"'))
        for column in ("created_at", "updated_at", "owner"):
            conn.execute(sa.text(f'CREATE INDEX "ix_{table_name}_{column}" ON "{table_name}" ({column})'))
        conn.execute(sa.text(f'DROP INDEX "ix_{table_name}_score"'))  # a field index on the field alone
        conn.execute(sa.text(f'CREATE INDEX "ix_{table_name}_score" ON "{table_name}" (score)'))
    changed = copy.deepcopy(_definition("created_by == me() and note != null"))
    changed["entities"][0]["fields"][2]["index"] = True  # note: a field index added by the plan
    created = admin_api.post("/apps", json=changed)
    assert created.status_code == 201, created.get_json()
    revision = created.get_json()["revision"]["id"]
    plan = admin_api.post(f"/apps/leads/revisions/{revision}/plan", json={}).get_json()
    kinds = {(s["kind"], tuple(s.get("columns", ()))) for s in plan["steps"]}
    assert ("add_list_index", ("created_by", "created_at", "id")) in kinds
    assert ("drop_list_index", ("owner", "created_at", "id")) in kinds
    assert admin_api.post(f"/apps/leads/revisions/{revision}/publish", json={}).status_code == 200
    indexes = _index_columns(platform, table_name)
    assert indexes[f"ix_{table_name}_list"] == ["created_at", "id"]
    assert indexes[f"ix_{table_name}_list_created_by"] == ["created_by", "created_at", "id"]
    assert indexes[f"ix_{table_name}_list__updated"] == ["updated_at", "id"]
    assert indexes[f"ix_{table_name}_list_owner__updated"] == ["owner", "updated_at", "id"]
    assert f"ix_{table_name}_list_owner" not in indexes
    assert not {f"ix_{table_name}_{c}" for c in ("created_at", "updated_at", "owner")} & set(indexes)
    assert indexes[f"ix_{table_name}_score"] == ["score", "id"]
    assert indexes[f"ix_{table_name}_note"] == ["note", "id"]
