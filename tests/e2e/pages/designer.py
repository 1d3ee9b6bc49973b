"""Page object of the designer island (``/design``): finds and operates, never asserts."""

from __future__ import annotations

from typing import Any

SAVED = "() => document.querySelector('[data-testid=save-state]')?.dataset.status === 'saved'"


class DesignerPage:
    """The designer, as an admin uses it with a mouse and a keyboard."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def open(self, hash_: str = "") -> DesignerPage:
        """Opens ``/design/`` (at ``hash_``) and waits for the island."""
        self.page.goto(f"/design/{hash_}")
        self.page.get_by_test_id("designer-ready").wait_for()
        return self

    def wait_saved(self) -> None:
        """Waits until every edit is saved (the save state says so)."""
        self.page.wait_for_timeout(50)
        self.page.wait_for_function(SAVED)

    def create_app(self, zh: str, en: str) -> None:
        """Creates an app from its name on the apps page and waits for its editor."""
        self.page.get_by_label("应用名称(中文)").fill(zh)
        self.page.get_by_label("应用名称(英文)").fill(en)
        self.page.get_by_role("button", name="创建应用").click()
        self.page.get_by_test_id("save-state").wait_for()

    def add_entity(self, zh: str, en: str) -> str:
        """Adds an entity, names it and returns the key made from the name."""
        rail = self.page.locator(".entity-rail li")
        before = rail.count()
        self.page.get_by_role("button", name="+ 添加实体").click()
        self.page.wait_for_function("(n) => document.querySelectorAll('.entity-rail li').length > n", arg=before)
        self.page.get_by_label("实体名称(英文)").fill(en)
        self.page.get_by_label("实体名称(中文)").fill(zh)
        key = self.page.get_by_label("实体标识").input_value()
        self.page.get_by_label("实体名称(中文)").press("Tab")
        self.page.wait_for_function(
            "(key) => document.querySelector('input[aria-label=\"实体标识\"]').value !== key", arg=key
        )
        self.wait_saved()
        return str(self.page.get_by_label("实体标识").input_value())

    def entity(self, key: str) -> None:
        """Selects entity ``key`` in the rail."""
        self.page.get_by_test_id(f"entity-{key}").click()

    def section(self, name: str) -> None:
        """Opens a section of the entity ("字段与表单", "步骤卡", ...)."""
        self.page.get_by_role("tab", name=name).click()

    def add_field(self, type_name: str, zh: str, en: str = "") -> str:
        """Adds a field of ``type_name`` with the add button, names it; returns its key."""
        before = self.page.locator(".canvas .field-card").count()
        self.page.get_by_label("要添加的字段类型").select_option(label=type_name)
        self.page.get_by_role("button", name="添加字段").click()
        self.page.wait_for_function(
            "(n) => document.querySelectorAll('.canvas .field-card').length > n", arg=before
        )
        return self.name_field(zh, en)

    def name_field(self, zh: str, en: str = "") -> str:
        """Names the selected field; waits for the key the server makes of it; returns it."""
        old = self.page.get_by_label("字段标识").input_value()
        if en:
            self.page.get_by_label("字段名称(英文)").fill(en)
        self.page.get_by_label("字段名称(中文)").fill(zh)
        self.page.get_by_label("字段名称(中文)").press("Tab")
        self.wait_saved()
        if self.page.get_by_test_id("key-note").inner_text().startswith("标识由名称生成"):
            self.page.wait_for_function(
                "(old) => document.querySelector('[data-testid=field-key]').value !== old", arg=old
            )
            self.wait_saved()
        return str(self.page.get_by_label("字段标识").input_value())

    def select_field(self, key: str) -> None:
        """Selects field ``key`` on the canvas (opens its side panel)."""
        self.page.get_by_test_id(f"field-{key}").click()
        self.page.get_by_test_id(f"field-panel-{key}").wait_for()

    def expression(self, name: str) -> Any:
        """The expression input with accessible name ``name`` (the editor's text box)."""
        return self.page.get_by_role("textbox", name=name, exact=True)

    def add_card(self, zh: str) -> None:
        """Adds a step card and names it."""
        count = self.page.locator(".step-card").count()
        self.page.get_by_role("button", name="+ 添加步骤卡").click()
        box = self.page.get_by_label(f"第 {count + 1} 张卡的名称(中文)")
        box.fill(zh)
        box.press("Tab")
        self.wait_saved()

    def move_to_card(self, field: str, card: int) -> None:
        """Moves ``field`` into card number ``card`` (1-based) with its select."""
        self.page.get_by_test_id(f"card-field-{field}").get_by_role("combobox").select_option(str(card - 1))
        self.wait_saved()

    @property
    def problems_count(self) -> Any:
        """The header's problem counter."""
        return self.page.get_by_test_id("problems-count")

    def preview(self) -> Any:
        """The phone preview's frame (opened with its toggle when the screen hides it)."""
        toggle = self.page.get_by_role("button", name="预览", exact=True)
        if toggle.is_visible():
            toggle.click()
        return self.page.frame_locator("[data-testid=phone-preview]")

    def publish(self) -> Any:
        """Opens the publish dialog and waits for its plan; returns the dialog."""
        self.wait_saved()
        self.page.get_by_test_id("open-publish").click()
        dialog = self.page.get_by_test_id("publish-dialog")
        dialog.get_by_test_id("plan-summary").wait_for()
        return dialog

    # -- assignment rules

    def assignment(self) -> Any:
        """Opens the app's Assignment section; returns the panel."""
        self.page.get_by_test_id("open-assignment").click()
        panel = self.page.get_by_test_id("assignment-panel")
        panel.wait_for()
        return panel

    def weight_slider(self, key: str) -> Any:
        """The slider of weighted factor ``key``."""
        return self.page.get_by_test_id(f"weight-slider-{key}")

    def weight_value(self, key: str) -> Any:
        """The number input next to factor ``key``'s slider."""
        return self.page.get_by_test_id(f"weight-value-{key}")

    def drag_slider(self, slider: Any, fraction: float) -> None:
        """Drags ``slider``'s thumb with the mouse to ``fraction`` (0 left … 1 right) of its track."""
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        minimum, maximum, value = (float(slider.get_attribute(a) or 0) for a in ("min", "max", "value"))
        start = (value - minimum) / (maximum - minimum) if maximum > minimum else 0.5
        y = box["y"] + box["height"] / 2
        self.page.mouse.move(box["x"] + 8 + start * (box["width"] - 16), y)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + 8 + fraction * (box["width"] - 16), y, steps=8)
        self.page.mouse.up()

    def preview_row(self, record_id: int) -> Any:
        """The preview table's row of record ``record_id``."""
        return self.page.get_by_test_id(f"preview-row-{record_id}")
    # -- triggers ---------------------------------------------------------------------------

    def triggers(self) -> None:
        """Opens the app's Triggers section from the rail."""
        self.page.get_by_test_id("rail-triggers").click()
        self.page.get_by_test_id("triggers-panel").wait_for()

    def add_trigger(self, zh: str, en: str = "") -> Any:
        """Adds a trigger, names it and returns its editor."""
        before = self.page.locator(".trigger-list li").count()
        self.page.get_by_test_id("add-trigger").click()
        self.page.wait_for_function("(n) => document.querySelectorAll('.trigger-list li').length > n", arg=before)
        self.page.get_by_label("触发器名称(中文)").fill(zh)
        if en:
            self.page.get_by_label("触发器名称(英文)").fill(en)
        return self.page.locator(".trigger-editor")

    def replace_expression(self, name: str, text: str) -> None:
        """Replaces the text of the expression editor ``name`` with ``text`` (typed)."""
        box = self.expression(name)
        box.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def add_action(self, type_: str) -> Any:
        """Adds an action of ``type_`` (set_field, notify, ...) and returns its card."""
        count = self.page.locator(".action-card").count()
        self.page.get_by_test_id("action-type").select_option(type_)
        self.page.get_by_test_id("add-action").click()
        card = self.page.get_by_test_id(f"action-{count + 1}")
        card.wait_for()
        return card

    # -- dashboards

    def dashboards(self) -> Any:
        """Opens the app's Dashboards section from the rail; returns the panel."""
        self.page.get_by_test_id("rail-dashboards").click()
        panel = self.page.get_by_test_id("dashboards-panel")
        panel.wait_for()
        return panel

    def add_dashboard(self, zh: str, en: str = "") -> None:
        """Adds a dashboard and names it."""
        before = self.page.locator(".dash-list li").count()
        self.page.get_by_test_id("add-dashboard").click()
        self.page.wait_for_function("(n) => document.querySelectorAll('.dash-list li').length > n", arg=before)
        self.page.get_by_label("仪表盘名称(中文)").fill(zh)
        if en:
            self.page.get_by_label("仪表盘名称(英文)").fill(en)
        self.wait_saved()

    def add_widget(self, type_: str, entity: str) -> Any:
        """Adds a widget of ``type_`` on ``entity``; returns the widget's side panel."""
        self.page.get_by_test_id("new-widget-type").select_option(type_)
        self.page.get_by_test_id("new-widget-entity").select_option(entity)
        self.page.get_by_test_id("add-widget").click()
        panel = self.page.get_by_test_id("widget-panel")
        panel.wait_for()
        return panel

    def tile(self, key: str) -> Any:
        """The tile of widget ``key`` on the dashboard grid."""
        return self.page.get_by_test_id(f"tile-{key}")

    def drag_tile(self, key: str, columns: int, rows: int, *, resize: bool = False) -> None:
        """Drags widget ``key``'s tile (or its resize corner) by whole grid cells, with the mouse."""
        grid = self.page.get_by_test_id("dash-grid").bounding_box()
        handle = self.page.get_by_test_id(f"resize-{key}") if resize else self.tile(key).locator(".tile-title")
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        dx, dy = grid["width"] / 12 * columns, 48 * rows
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        for step in range(1, 6):
            self.page.mouse.move(x + dx * step / 5, y + dy * step / 5)
        self.page.mouse.up()

    def touch_drag_tile(self, key: str, columns: int, rows: int) -> None:
        """Drags widget ``key``'s tile by whole grid cells with one finger (touch events through CDP)."""
        grid = self.page.get_by_test_id("dash-grid").bounding_box()
        box = self.tile(key).locator(".tile-title").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        dx, dy = grid["width"] / 12 * columns, 48 * rows
        cdp = self.page.context.new_cdp_session(self.page)

        def touch(kind: str, tx: float, ty: float) -> None:
            points = [] if kind == "touchEnd" else [{"x": tx, "y": ty}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        touch("touchStart", x, y)
        for step in range(1, 11):
            touch("touchMove", x + dx * step / 10, y + dy * step / 10)
            self.page.wait_for_timeout(20)
        touch("touchEnd", x + dx, y + dy)
        cdp.detach()

    def layout_of(self, key: str) -> dict[str, int]:
        """The tile's layout as the grid shows it."""
        tile = self.tile(key)
        return {k: int(tile.get_attribute(f"data-{k}") or -1) for k in ("x", "y", "w", "h")}

    @property
    def widget_preview(self) -> Any:
        """The live preview of the widget being edited."""
        return self.page.get_by_test_id("widget-preview")
