"""The readable diff between two definition documents."""

from __future__ import annotations

from typing import Any

from builder.diff import diff_definitions
from tests.unit.builder.fixtures import visit_app_definition


def _by_kind(changes: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for change in changes:
        out.setdefault(change.kind, []).append(change)
    return out


def test_identical_documents_have_no_changes() -> None:
    assert diff_definitions(visit_app_definition(), visit_app_definition()) == []


def test_a_relabelled_field_is_one_change_with_a_sentence_in_both_languages() -> None:
    old, new = visit_app_definition(), visit_app_definition()
    new["entities"][0]["fields"][0]["label"] = {"zh": "客户名称", "en": "Customer name"}
    [change] = diff_definitions(old, new)
    assert change.kind == "changed" and change.path == "$.entities[0].fields[0].label"
    assert change.what_zh == "字段「名称」的标签由「名称」改为「客户名称」"
    assert change.what_en == "The label of field “Name” changed from “Name” to “Customer name”"
    assert change.before == {"zh": "名称", "en": "Name"} and change.after == {"zh": "客户名称", "en": "Customer name"}
    assert change.as_dict()["what"] == {"zh": change.what_zh, "en": change.what_en}


def test_added_and_removed_elements_are_matched_by_key() -> None:
    old, new = visit_app_definition(), visit_app_definition()
    customer = new["entities"][0]
    removed = customer["fields"].pop(2)
    customer["fields"].append({"key": "grade", "type": "choice", "label": {"zh": "等级", "en": "Grade"}, "options": ["A"]})
    new["entities"].append({"key": "shop", "label": {"zh": "门店", "en": "Shop"}, "fields": []})
    changes = _by_kind(diff_definitions(old, new))
    assert [c.what_zh for c in changes["removed"]] == ["实体「客户」删除了字段「行业」"]
    assert changes["removed"][0].path == "$.entities[0].fields[2]" and changes["removed"][0].before == removed
    assert [c.what_zh for c in changes["added"]] == ["实体「客户」新增字段「等级」", "新增实体「门店」"]
    assert changes["added"][0].path == "$.entities[0].fields[4]"
    assert changes["added"][1].what_en == "Added entity “Shop”"


def test_steps_stages_permissions_and_order() -> None:
    old, new = visit_app_definition(), visit_app_definition()
    visit = new["entities"][1]
    visit["steps"][3]["unlock_when"] = None
    visit["steps"].reverse()
    visit["permissions"] = [p for p in visit.get("permissions", []) if p["role"] != "rep"] + [{"role": "auditor", "read": True}]
    opportunity = new["entities"][3]
    opportunity["stages"][1]["allow_back"] = not opportunity["stages"][1].get("allow_back", False)
    whats = [c.what_zh for c in diff_definitions(old, new)]
    assert any(w.startswith("步骤「") and "解锁条件" in w and "改为「空」" in w for w in whats), whats
    assert "实体「拜访」的步骤顺序已调整" in whats
    assert any("新增权限「auditor」" in w for w in whats)
    assert any("阶段「" in w and "允许回退" in w for w in whats)


def test_broken_documents_are_compared_as_far_as_they_read() -> None:
    assert diff_definitions(None, {"entities": "x"}) == []
    changes = diff_definitions({"label": "a", "entities": [{"key": "x"}, 5]}, {"label": "b", "entities": [{"key": "x"}]})
    assert [c.what_en for c in changes] == ["The label of app “a” changed from “a” to “b”"]
