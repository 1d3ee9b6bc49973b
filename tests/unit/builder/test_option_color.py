"""Choice options may carry a colour (``#rrggbb``), which the designer edits."""

from __future__ import annotations

import pytest

from builder import DefinitionInvalid, load_definition
from tests.unit.builder.fixtures import visit_app_definition


def _with_region_options(options: list[object]) -> dict[str, object]:
    doc = visit_app_definition()
    doc["entities"][0]["fields"][1]["options"] = options
    return doc


def test_an_option_keeps_its_colour() -> None:
    app = load_definition(_with_region_options(["华东", {"value": "华南", "color": "#FF8800"}]))
    options = app.entities[0].fields[1].options
    assert [(o.value, o.color) for o in options] == [("华东", None), ("华南", "#ff8800")]


@pytest.mark.parametrize("color", ["red", "#ff88", "#gg0000", 3])
def test_a_colour_that_is_not_rrggbb_is_refused_at_its_path(color: object) -> None:
    with pytest.raises(DefinitionInvalid) as refused:
        load_definition(_with_region_options([{"value": "华南", "color": color}]))
    paths = {(p.path, p.code) for p in refused.value.problems}
    code = "invalid_type" if color == 3 else "invalid_value"
    assert ("$.entities[0].fields[1].options[0].color", code) in paths
