"""The designer never hides what the server would refuse: every diagnostic at its place.

A definition carrying one error of each kind the validator knows
(``tests/fixtures_designer.py``) is imported through the apps page. The header counts every
problem; for each one, its entry in the problem list jumps to its place — the field card,
the option in the side panel, the step card, the rule, the stage, the permission row, the
app settings — where the problem's message is shown.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, shot
from tests.e2e.pages import DesignerPage, SignInPage
from tests.fixtures_designer import EXPECTED, all_errors_definition
from tests.unit.web.support import PASSWORD

pytestmark = pytest.mark.browser

#: Places whose panels list the problem with its JSON path (the others show its message).
PATH_MARKED = ("fields", "steps", "rules")
#: Expressions: the expression editor shows their problems (underlined, with the message).
EXPRESSIONS = ("_when", ".assert", ".formula")


def test_every_problem_of_a_draft_is_shown_at_its_place(desk: Any, live: LiveServer, tmp_path: Path) -> None:
    page = desk
    SignInPage(page).open().sign_in(live.username("admin"), PASSWORD)
    designer = DesignerPage(page).open()
    document = tmp_path / "all-errors.json"
    document.write_text(json.dumps(all_errors_definition(), ensure_ascii=False), encoding="utf-8")
    page.get_by_label("导入 JSON 文件").set_input_files(str(document))
    page.get_by_test_id("save-state").wait_for()

    counter = designer.problems_count
    counter.click()
    links = page.get_by_test_id("problem-link")
    expect(links.first).to_be_visible()
    listed = [links.nth(i).get_attribute("data-path") for i in range(links.count())]
    expect(counter).to_have_text(f"问题 {len(listed)}")
    for path, _code in EXPECTED:
        assert path in listed, path
    shot(page, "designer-problems-00-list")

    for index, path in enumerate(listed):
        if not page.get_by_test_id("problems-menu").is_visible():
            counter.click()
        link = page.get_by_test_id("problem-link").nth(index)
        message = link.locator("span").nth(1).inner_text()
        link.click()
        main = page.locator(".editor-main")
        marked = any(f"].{part}[" in path for part in PATH_MARKED) and not path.endswith(EXPRESSIONS)
        if marked or not path.startswith("$.entities["):
            expect(main.locator(f'[data-testid=problem][data-path="{path}"]').first).to_be_visible()
        expect(main.get_by_text(message, exact=False).first).to_be_visible()
        shot(page, f"designer-problems-{index + 1:02d}")
