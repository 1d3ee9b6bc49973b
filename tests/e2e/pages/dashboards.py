"""Page objects of the dashboard pages and the app's home (no assertions here)."""

from __future__ import annotations

from typing import Any


class DashboardPage:
    """A dashboard (``/apps/<app>/dashboards/<key>``) or the home dashboard on ``/apps/<app>``."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, app: str, key: str) -> DashboardPage:
        """Opens a dashboard's page."""
        self.page.goto(f"/apps/{app}/dashboards/{key}")
        return self

    def open_home(self, app: str) -> DashboardPage:
        """Opens the app's home."""
        self.page.goto(f"/apps/{app}")
        return self

    def grid(self, key: str) -> Any:
        """The grid of dashboard ``key``."""
        return self.page.get_by_test_id(f"dashboard-{key}")

    def widget(self, key: str) -> Any:
        """The card of widget ``key``."""
        return self.page.get_by_test_id(f"widget-{key}")

    def body(self, key: str) -> Any:
        """What widget ``key`` rendered (chart, table, number or message)."""
        return self.page.get_by_test_id(f"widget-body-{key}")

    def wait_rendered(self, *keys: str) -> None:
        """Waits until every named widget has its result drawn (or its error shown)."""
        for key in keys:
            self.page.locator(f'[data-testid="widget-{key}"][data-state]').wait_for()

    def state(self, key: str) -> str | None:
        """``ready`` or ``error`` once the widget has loaded."""
        return self.widget(key).get_attribute("data-state")  # type: ignore[no-any-return]

    def record_links(self, key: str) -> Any:
        """The record links of a record table."""
        return self.body(key).locator("a.dw-record")

    def figure(self, key: str) -> Any:
        """A number card's figure link(s)."""
        return self.body(key).locator(".dw-value")

    def click_chart_item(self, key: str, *, cell: dict[str, str] | None = None, record: int | None = None) -> None:
        """Clicks the chart item of ``cell`` (a bar, slice, heatmap cell, stage) or of
        ``record`` (a map point) where the chart drew it, and waits for the page it opens."""
        body = self.body(key)
        target: dict[str, Any] = {"cell": cell} if cell is not None else {"record": record}
        x, y = body.evaluate("(el, target) => el.dwLocate(target)", target)
        chart = body.locator(".dw-chart")
        box = chart.bounding_box()
        with self.page.expect_navigation():
            self.page.mouse.click(box["x"] + x, box["y"] + y)

    def horizontal_overflow(self) -> Any:
        """How far the page is wider than the viewport (0: nothing to scroll sideways)."""
        return self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")

    def widget_boxes(self, *keys: str) -> list[Any]:
        """The bounding boxes of the named widget cards."""
        return [self.widget(k).bounding_box() for k in keys]


class DrillListPage:
    """A record list opened from a dashboard figure."""

    def __init__(self, page: Any) -> None:
        self.page = page

    @property
    def chip(self) -> Any:
        """The "opened from" chip."""
        return self.page.get_by_test_id("drill-chip")

    @property
    def rows(self) -> Any:
        """The record rows."""
        return self.page.get_by_test_id("record-row")

    def record_ids(self) -> list[int]:
        """The ids of the listed records, from their links."""
        hrefs = self.rows.evaluate_all("links => links.map(a => a.getAttribute('href'))")
        return sorted(int(h.rstrip("/").rsplit("/", 1)[1]) for h in hrefs)

    @property
    def error(self) -> Any:
        """The message of a refused list (a wrong drill address)."""
        return self.page.get_by_test_id("list-error")
