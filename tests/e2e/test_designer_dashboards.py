"""The dashboard editor of the designer, in the browser only (issue 12, item 5).

An admin opens a published sales app's Dashboards section, adds a dashboard and a bar
widget on the opportunities, drags the widget across the 12-column grid with the mouse,
moves it with the keyboard and undoes that, changes its measure from a count to the sum of
`amount`, and reads the live preview: the sum per region the database holds. Publishing
stores the widget with the layout it was dragged to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from runtime.apps import load_published
from tests.e2e.conftest import ARTIFACTS, PASSWORD, LiveServer, shot
from tests.e2e.pages import SignInPage
from tests.e2e.pages.designer import DesignerPage
from tests.unit.web.support import platform_of

pytestmark = pytest.mark.browser

def sales_app() -> dict[str, Any]:
    """Opportunities with a region and an amount."""
    return {
        "format": "cairn.app/1", "key": "dsales", "label": {"zh": "销售看板", "en": "Sales boards"},
        "entities": [{
            "key": "opportunity", "label": {"zh": "商机", "en": "Opportunity"}, "title_field": "name",
            "fields": [
                {"key": "name", "type": "text", "label": {"zh": "名称", "en": "Name"}, "required": True},
                {"key": "region", "type": "choice", "label": {"zh": "区域", "en": "Region"}, "options": ["华东", "华南", "华北"]},
                {"key": "amount", "type": "money", "label": {"zh": "金额", "en": "Amount"}},
            ],
        }],
    }


def sums_by_region(live: LiveServer) -> dict[str, float]:
    """The database's own figures: SUM(amount) per region."""
    platform = platform_of(live.app)
    with platform.session() as session:
        table = load_published(session, live.tenant.workspace.id, "dsales").table("opportunity")
        rows = session.execute(sa.select(table.c.region, sa.func.sum(table.c.amount)).group_by(table.c.region)).all()
    return {str(region): float(total) for region, total in rows}


@pytest.mark.console_allows("422")  # the preview is refused while the measure is half-written
def test_admin_places_and_previews_a_bar_widget_then_publishes_it(live: LiveServer, desk: Any) -> None:
    admin = live.api("admin")
    app_id = admin.publish(sales_app())
    rep = live.api("rep")
    for name, region, amount in (("华联超市", "华东", 120.5), ("如意商贸", "华东", 300), ("南方百货", "华南", 80), ("北辰", "华北", 45)):
        rep.create("dsales", "opportunity", {"name": name, "region": region, "amount": amount})
    expected = sums_by_region(live)
    assert expected == {"华东": 420.5, "华南": 80.0, "华北": 45.0}

    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open(f"#/apps/{app_id}")
    designer.wait_saved()
    designer.dashboards()
    designer.add_dashboard("经理工作台", "Manager workbench")
    panel = designer.add_widget("bar", "opportunity")
    designer.wait_saved()
    assert designer.layout_of("bar") == {"x": 0, "y": 0, "w": 6, "h": 4}
    expect(panel.get_by_label("维度 1 的字段")).to_have_value("region")

    # Drag it two columns right and one row down (mouse), then resize it one column wider.
    designer.drag_tile("bar", 2, 1)
    expect(designer.tile("bar")).to_have_attribute("data-x", "2")
    assert designer.layout_of("bar") == {"x": 2, "y": 1, "w": 6, "h": 4}
    designer.drag_tile("bar", 1, 0, resize=True)
    expect(designer.tile("bar")).to_have_attribute("data-w", "7")
    # The keyboard alternative, undone: one step each.
    designer.tile("bar").focus()
    page.keyboard.press("ArrowRight")
    expect(designer.tile("bar")).to_have_attribute("data-x", "3")
    page.keyboard.press("Control+z")
    expect(designer.tile("bar")).to_have_attribute("data-x", "2")
    designer.wait_saved()

    # The preview counts first; then the measure becomes the sum of amount.
    preview = designer.widget_preview
    expect(preview).to_have_attribute("data-state", "ready")
    expect(preview.get_by_test_id("preview-table")).to_contain_text("华东")
    panel.get_by_label("指标 1 的聚合方式").select_option("sum")
    designer.replace_expression("指标 1:统计对象", "amount")
    designer.wait_saved()
    table = preview.get_by_test_id("preview-table")
    expect(table).to_contain_text("420.5")
    rows = table.locator("tbody tr")  # the chart's data table (folded under the chart)
    cells = [[str(c).strip() for c in rows.nth(i).locator("td").all_text_contents()] for i in range(rows.count())]
    shown = {region: float(total.replace(",", "")) for region, total in cells}
    assert shown == expected
    expect(designer.problems_count).to_have_text("问题 0")
    page.keyboard.press("Escape")  # closes the completion list of the expression editor
    shot(page, "designer-dashboards-full")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "designer-dashboards.png"))  # the first screen: grid and preview

    dialog = designer.publish()
    dialog.get_by_test_id("publish").click()
    expect(dialog.get_by_test_id("publish-done")).to_be_visible()
    dialog.get_by_test_id("publish-close").click()

    app = admin.call("GET", "/apps/dsales")
    (published,) = [r for r in app["revisions"] if r["status"] == "published"]
    definition = admin.call("GET", f"/apps/dsales/revisions/{published['id']}")["definition"]
    (board,) = definition["dashboards"]
    assert board["label"] == "经理工作台" and board["label_en"] == "Manager workbench"
    (widget,) = board["widgets"]
    assert widget["type"] == "bar" and widget["entity"] == "opportunity"
    assert widget["layout"] == {"x": 2, "y": 1, "w": 7, "h": 4}
    assert widget["dimensions"] == [{"key": "region", "field": "region"}]
    assert widget["measures"] == [{"key": "n", "agg": "sum", "of": "amount"}]


def test_a_widget_is_moved_with_a_finger_on_a_tablet(browser: Any, live: LiveServer) -> None:
    definition = sales_app()
    definition["key"] = "dtouch"
    definition["dashboards"] = [{"key": "home", "label": "首页", "widgets": [
        {"key": "total", "type": "number", "label": "商机数", "entity": "opportunity",
         "measures": [{"key": "n", "agg": "count"}], "layout": {"x": 0, "y": 0, "w": 3, "h": 2}},
    ]}]
    app_id = live.api("admin").publish(definition)
    context = browser.new_context(
        base_url=live.url, viewport={"width": 1180, "height": 820}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
        designer = DesignerPage(page).open(f"#/apps/{app_id}/dashboards/0/0")
        designer.tile("total").wait_for()
        designer.tile("total").scroll_into_view_if_needed()
        designer.touch_drag_tile("total", 3, 2)
        expect(designer.tile("total")).to_have_attribute("data-x", "3")
        assert designer.layout_of("total") == {"x": 3, "y": 2, "w": 3, "h": 2}
        designer.wait_saved()
        draft = page.evaluate(
            "async (id) => (await (await fetch(`/design/api/apps/${id}/draft`)).json()).definition", app_id
        )
        assert draft["dashboards"][0]["widgets"][0]["layout"] == {"x": 3, "y": 2, "w": 3, "h": 2}
        assert errors == []
    finally:
        context.close()


def dashboards_with_errors() -> dict[str, Any]:
    """The sales app with one dashboard error of each kind the engine's validation reports."""
    definition = sales_app()
    definition["key"] = "dwrong"
    definition["dashboards"] = [{"key": "work", "label": "工作台", "home_for": ["boss"], "widgets": [
        {"key": "total", "type": "number", "entity": "opportunity",
         "dimensions": [{"key": "region", "field": "region"}], "measures": [{"key": "n", "agg": "count"}]},
        {"key": "sums", "type": "bar", "entity": "opportunity", "filter": "amont > 0",
         "dimensions": [{"key": "region", "field": "region"}], "measures": [{"key": "s", "agg": "sum", "of": "amout"}]},
        {"key": "odd", "type": "table", "entity": "opportunity", "bogus": 1},
        {"key": "far", "type": "bar", "entity": "opportunity", "dimensions": [{"key": "r", "field": "region"}],
         "measures": [{"key": "n", "agg": "count"}], "layout": {"x": 10, "y": 0, "w": 6, "h": 4}},
    ]}]
    return definition


DASHBOARD_PROBLEMS = (
    "$.dashboards[0].home_for[0]",
    "$.dashboards[0].widgets[0].dimensions",
    "$.dashboards[0].widgets[1].measures[0].of",
    "$.dashboards[0].widgets[1].filter",
    "$.dashboards[0].widgets[2].bogus",
    "$.dashboards[0].widgets[3].layout.w",
)


@pytest.mark.console_allows("422")  # the preview of a widget with problems is refused
def test_every_dashboard_problem_is_shown_at_its_place(live: LiveServer, desk: Any, tmp_path: Path) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    document = tmp_path / "dashboards-wrong.json"
    document.write_text(json.dumps(dashboards_with_errors(), ensure_ascii=False), encoding="utf-8")
    page.get_by_label("导入 JSON 文件").set_input_files(str(document))
    page.get_by_test_id("save-state").wait_for()
    designer.problems_count.click()
    links = page.get_by_test_id("problem-link")
    expect(links.first).to_be_visible()
    listed = [links.nth(i).get_attribute("data-path") for i in range(links.count())]
    assert sorted(listed) == sorted(DASHBOARD_PROBLEMS)
    for path in DASHBOARD_PROBLEMS:
        if not page.get_by_test_id("problems-menu").is_visible():
            designer.problems_count.click()
        link = page.locator(f'[data-testid=problem-link][data-path="{path}"]')
        expect(link.locator(".where")).to_contain_text("仪表盘 › 工作台")
        message = link.locator("span").nth(1).inner_text()
        link.click()
        main = page.locator(".editor-main")
        if path.endswith((".of", ".filter")):  # the expression editor lists (and underlines) its own
            expect(main.get_by_test_id("expr-problems").filter(has_text=message).first).to_be_visible()
        else:
            expect(main.locator(f'[data-testid=problem][data-path="{path}"]').first).to_be_visible()
    widget = page.get_by_test_id("widget-panel")
    expect(widget).to_contain_text("组件 · far")
    expect(designer.tile("total").locator(".badge")).to_have_text("1")
    shot(page, "designer-dashboards-problems")
