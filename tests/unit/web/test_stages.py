"""The stage bar (S17): exit criteria ✓/✗ per part, and a refused move naming what is missing."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.unit.web.conftest import csrf_token
from tests.unit.web.support import Tenant, publish, visit_app
from tests.unit.web.test_forms import _create, _get

APP = "store_visits"


def _parts(html: str) -> list[tuple[str, str]]:
    bar = re.search(r"<ul data-exit-parts>(.*?)</ul>", html, re.S)
    assert bar
    return re.findall(r'<li class="(held|failed)"><span class="mark">.</span> <code>(.*?)</code>', bar.group(1))


def test_exit_criteria_are_shown_per_part_and_enforced(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    opportunity = _create(app, tenant, APP, "opportunity", {"title": "门店陈列升级", "contact_channel": "扫码"})
    client = client_for("acme-rep")
    base = f"/a/{APP}/opportunity/{opportunity['id']}"
    token = csrf_token(client, base + "/edit")

    moved = client.post(base + "/stage", data={"csrf_token": token, "stage": "need_confirmation", "_version": "1"})
    assert moved.status_code == 302
    html = client.get(base + "/edit", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'data-stage="need_confirmation" aria-current="step"' in html
    assert "At least two decision makers took part" in html  # the stage's guidance
    parts = _parts(html)
    assert [held for held, _source in parts] == ["failed", "failed"]
    assert "budget_range != null" in parts[0][1]

    refused = client.post(base + "/stage", data={"csrf_token": token, "stage": "proposal", "_version": "2"})
    assert refused.status_code == 302
    page = client.get(base + "/edit").get_data(as_text=True)
    assert "未满足阶段「需求确认」的退出条件" in page
    assert _get(app, tenant, APP, "opportunity", opportunity["id"])["stage"] == "need_confirmation"

    for name, role in (("张总", "老板"), ("李工", "技术")):
        _create(app, tenant, APP, "contact", {"opportunity": opportunity["id"], "name": name, "role": role})
    state = client.post(
        f"/a/{APP}/opportunity/state?record={opportunity['id']}",
        data={"v-budget_range": "5-20万"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    ).get_json()["state"]
    assert state["stage"]["exit"]["ok"] is True
    assert all(p["held"] for p in state["stage"]["exit"]["parts"])


def test_the_timeline_can_be_narrowed_to_the_last_days(app: Flask, tenant: Tenant, client_for: Callable[[str], FlaskClient]) -> None:
    publish(app, tenant, visit_app())
    customer = _create(app, tenant, APP, "customer", {"name": "华联"})
    _create(app, tenant, APP, "visit", {"customer": customer["id"], "competitor_note": "竞品A"})
    client = client_for("acme-rep")
    html = client.get(f"/a/{APP}/customer/{customer['id']}?days=7").get_data(as_text=True)
    assert 'aria-current="true" data-testid="last-7-days"' in html
    assert "竞品A" in html
