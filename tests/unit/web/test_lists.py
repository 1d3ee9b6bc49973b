"""List pages: search, filters, sorting, keyset "more" links, and never a count query."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from runtime import record_list
from tests.unit.web.support import Tenant, platform_of, publish, visit_app
from tests.unit.web.test_forms import _create


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs inside the block."""
    seen: list[str] = []
    engine = platform_of(app).engine

    def capture(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)


def _seed(app: Flask, tenant: Tenant, n: int) -> None:
    publish(app, tenant, visit_app())
    regions = ["华东", "华南", "华北"]
    for i in range(n):
        _create(app, tenant, "store_visits", "customer", {"name": f"门店{i:03d}", "region": regions[i % 3]})


def _titles(html: str) -> list[str]:
    return re.findall(r'<span class="record-title">([^<]+)</span>', html)


def test_pages_follow_keyset_cursors_without_counting(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    _seed(app, tenant, 60)
    client = client_for("acme-rep")
    with statements(app) as seen:
        first = client.get("/a/store_visits/customer/").get_data(as_text=True)
    assert not [s for s in seen if "count(" in s.lower()]
    titles = _titles(first)
    assert len(titles) == 50 and titles[0] == "门店059"
    more = re.search(r'href="([^"]+after=[^"]+)"', first)
    assert more
    second_url = more.group(1).replace("&amp;", "&")
    second = client.get(second_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in second  # htmx gets the rows only
    assert _titles(second) == [f"门店{i:03d}" for i in range(9, -1, -1)]
    assert "data-testid=\"more\"" not in second


def test_search_filters_and_sorting(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    _seed(app, tenant, 9)
    client = client_for("acme-rep")
    assert _titles(client.get("/a/store_visits/customer/?q=门店00").get_data(as_text=True)) == [
        f"门店00{i}" for i in range(8, -1, -1)
    ]
    south = _titles(client.get("/a/store_visits/customer/?f.region=华南").get_data(as_text=True))
    assert south == ["门店007", "门店004", "门店001"]
    oldest = _titles(client.get("/a/store_visits/customer/?sort=created_at").get_data(as_text=True))
    assert oldest[0] == "门店000"
    assert _titles(client.get("/a/store_visits/customer/?sort=id").get_data(as_text=True)) == oldest  # an older link
    # An unknown sort falls back to newest first; an unknown region finds nothing.
    assert _titles(client.get("/a/store_visits/customer/?sort=password").get_data(as_text=True))[0] == "门店008"
    assert _titles(client.get("/a/store_visits/customer/?f.region=火星").get_data(as_text=True)) == []


def test_a_broken_cursor_says_so(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    _seed(app, tenant, 1)
    response = client_for("acme-rep").get("/a/store_visits/customer/?after=garbage")
    assert response.status_code == 422
    assert "分页游标无效" in response.get_data(as_text=True)


def test_today_lists_the_reps_own_open_visits(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, "store_visits", "customer", {"name": "华联"})
    _create(app, tenant, "store_visits", "visit", {"customer": customer["id"]})
    html = client_for("acme-rep").get("/").get_data(as_text=True)
    assert 'data-testid="today-visit"' in html and "华联" in html
    assert 'data-testid="today-visit"' not in client_for("acme-rep2").get("/").get_data(as_text=True)


def test_a_sort_no_index_serves_on_a_large_list_is_refused_in_both_languages(
    app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    _seed(app, tenant, 12)
    client = client_for("acme-rep")
    assert _titles(client.get("/a/store_visits/customer/?sort=name").get_data(as_text=True))[0] == "门店000"
    monkeypatch.setattr(record_list, "UNINDEXED_SORT_ROWS", 10)  # "name" has no index
    zh = client.get("/a/store_visits/customer/?sort=name", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 422
    page = html.unescape(zh.get_data(as_text=True))
    assert "无法按“名称”(name)排序" in page and "索引" in page and _titles(page) == []
    en = client.get("/a/store_visits/customer/?sort=-name", headers={"Accept-Language": "en"})
    assert en.status_code == 422
    page = html.unescape(en.get_data(as_text=True))
    assert "Can't sort by “Name” (name)" in page and "indexed" in page
    # The default order is still offered and served.
    assert len(_titles(client.get("/a/store_visits/customer/").get_data(as_text=True))) == 12
