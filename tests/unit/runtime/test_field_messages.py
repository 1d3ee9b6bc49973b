"""Field-level refusals name the field by its label, in English and Chinese, per code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from builder.model import App, Entity, Field, FieldType
from builder.validation import load_definition
from runtime.errors import Invalid, StepLocked
from runtime.field_messages import (
    SUMMARY_LIMIT,
    FieldProblem,
    describe,
    field_error,
    field_message,
    value_code,
)
from runtime.values import ValueProblem, coerce
from tests.unit.builder.fixtures import visit_app_definition

KITCHEN_FIELDS: list[dict[str, Any]] = [
    {"key": "title", "type": "text", "label": {"zh": "名称", "en": "Name"}, "max_length": 5},
    {"key": "notes", "type": "long_text", "label": {"zh": "备注", "en": "Notes"}},
    {"key": "qty", "type": "integer", "label": {"zh": "数量", "en": "Quantity"}, "min": 1, "max": 9},
    {"key": "price", "type": "money", "label": {"zh": "价格", "en": "Price"}},
    {"key": "kind", "type": "choice", "label": {"zh": "类别", "en": "Kind"}, "options": ["a", "b"]},
    {"key": "tags", "type": "multi_choice", "label": {"zh": "标签", "en": "Tags"}, "options": ["x"]},
    {"key": "owner_user", "type": "user", "label": {"zh": "跟进人", "en": "Follower"}},
    {"key": "due", "type": "date", "label": {"zh": "到期日", "en": "Due date"}},
    {"key": "meet", "type": "datetime", "label": {"zh": "会面时间", "en": "Meeting"}},
    {"key": "ok", "type": "boolean", "label": {"zh": "已确认", "en": "Confirmed"}},
    {"key": "stars", "type": "rating", "label": {"zh": "评分", "en": "Rating"}},
    {"key": "place", "type": "location", "label": {"zh": "位置", "en": "Place"}},
    {"key": "pics", "type": "photo", "label": {"zh": "照片", "en": "Photos"}, "multiple": True},
    {"key": "doc", "type": "file", "label": {"zh": "附件", "en": "Attachment"}},
    {"key": "mail", "type": "email", "label": {"zh": "邮箱", "en": "E-mail"}},
    {"key": "wait", "type": "duration", "label": {"zh": "等待时长", "en": "Wait"}},
]


def _app() -> App:
    doc = visit_app_definition()
    doc["entities"].append({"key": "kitchen", "label": {"zh": "样品", "en": "Sample"}, "fields": KITCHEN_FIELDS})
    return load_definition(doc)


@pytest.fixture(scope="module")
def app() -> App:
    return _app()


def _entity(app: App, key: str) -> Entity:
    entity = app.entity(key)
    assert entity is not None
    return entity


def _field(entity: Entity, key: str) -> Field:
    f = entity.field(key)
    assert f is not None
    return f


REQUIRED = [
    ("visit", "customer", "Choose a Customer", "请选择客户"),
    ("customer", "name", "Fill in Name", "请填写名称"),
    ("kitchen", "notes", "Fill in Notes", "请填写备注"),
    ("kitchen", "qty", "Fill in Quantity", "请填写数量"),
    ("kitchen", "kind", "Choose a Kind", "请选择类别"),
    ("kitchen", "tags", "Choose at least one Tags", "请选择标签"),
    ("kitchen", "owner_user", "Choose a Follower", "请选择跟进人"),
    ("kitchen", "due", "Choose a date for Due date", "请选择到期日"),
    ("kitchen", "meet", "Choose a date and time for Meeting", "请选择会面时间"),
    ("kitchen", "ok", "Tick Confirmed", "请勾选已确认"),
    ("kitchen", "stars", "Give a rating for Rating", "请为评分评分"),
    ("kitchen", "place", "Add the location for Place", "请获取位置的位置"),
    ("kitchen", "pics", "Add a photo for Photos", "请拍摄或上传照片"),
    ("kitchen", "doc", "Attach a file for Attachment", "请上传附件"),
    ("opportunity", "amount", "Fill in Amount", "请填写金额"),
    ("opportunity", "owner", "Choose an Owner", "请选择负责人"),
]


@pytest.mark.parametrize(("entity_key", "key", "en", "zh"), REQUIRED)
def test_required_is_phrased_per_type_with_the_label(app: App, entity_key: str, key: str, en: str, zh: str) -> None:
    message = field_message(_entity(app, entity_key), key, FieldProblem.required())
    assert (message["message"], message["message_zh"]) == (en, zh)
    assert message["code"] == "required"
    assert message["label"]["zh"] in message["message_zh"] and message["label"]["en"] in message["message"]


def test_each_code_names_the_field_in_both_languages(app: App) -> None:
    visit = _entity(app, "visit")
    opportunity = _entity(app, "opportunity")
    cases: list[tuple[Entity, str, FieldProblem, str, str]] = [
        (opportunity, "proposal", FieldProblem.read_only(), "Proposal can't be changed for this record", "方案当前只读,不能修改"),
        (opportunity, "budget_range", FieldProblem.hidden(), "Budget range does not apply to this record; leave it empty", "预算范围不适用于此记录,请留空"),
        (visit, "transcript", FieldProblem.step_locked("pain_points"), "Pain points (transcript) can't be filled in yet: “Pain points” is locked", "「需求痛点」尚未解锁,暂不能填写需求痛点(语音转文字)"),
        (visit, "customer", FieldProblem.not_in_step("checkin"), "Customer is not part of “Check in”", "客户不属于「定位打卡」"),
        (visit, "competitor_note", FieldProblem.required_for_step("competitor"), "Fill in Competitor display notes to complete “Competitor display”", "请填写竞品陈列标注,才能完成「竞品陈列标注」"),
        (visit, "nope", FieldProblem.unknown_field(), "There is no field “nope”", "没有字段“nope”"),
        (visit, "customer", FieldProblem.unknown_reference(99, "no customer record 99"), "The chosen Customer does not exist or you may not see it", "所选的客户不存在或您无权查看"),
        (visit, "owner", FieldProblem.unknown_reference(99, "no such user"), "The chosen Owner is not a user of this workspace", "所选的负责人不是本工作区的用户"),
        (visit, "shelf_photos", FieldProblem.unknown_reference([7], "unknown file id(s): 7"), "Some files of Shelf panorama photos no longer exist; upload them again", "货架全景照片中有文件已不存在,请重新上传"),
        (opportunity, "stage", FieldProblem.unknown_stage("won", ["contact"]), "Choose a Stage: Contact, Need confirmation, Proposal, Objection handling, Closing", "请选择阶段:接触、需求确认、方案、异议处理、成交"),
    ]
    for entity, key, problem, en, zh in cases:
        message = field_message(entity, key, problem)
        assert (message["message"], message["message_zh"]) == (en, zh), problem.code
        assert message["code"] == problem.code


def _value_problem(entity: Entity, key: str, raw: Any) -> ValueProblem:
    with pytest.raises(ValueProblem) as caught:
        coerce(_field(entity, key), raw, tz=__import__("datetime").UTC)
    return caught.value


VALUE_CASES = [
    ("qty", "many", "not_a_number", "Quantity: expected a number", "数量:应为数字"),
    ("qty", "1.5", "not_a_number", "Quantity: expected a whole number", "数量:应为整数"),
    ("price", "1e999999", "out_of_range", "Price: number out of range", "价格:数字超出范围"),
    ("qty", 10, "out_of_range", "Quantity: at most 9", "数量:不能大于 9"),
    ("qty", 0, "out_of_range", "Quantity: at least 1", "数量:不能小于 1"),
    ("stars", 6, "out_of_range", "Rating: a rating from 0 to 5", "评分:评分应在 0 到 5 之间"),
    ("place", {"lat": 91, "lng": 0}, "out_of_range", "Place: coordinates out of range", "位置:坐标超出范围"),
    ("title", "toolong", "too_long", "Name: at most 5 characters", "名称:最多 5 个字符"),
    ("kind", "c", "not_an_option", "Kind: not one of the options", "类别:不是可选项之一"),
    ("tags", ["y"], "not_an_option", "Tags: not options: y", "标签:不是可选项:y"),
    ("mail", "nope", "invalid_value", "E-mail: not an e-mail address", "邮箱:不是有效的电子邮箱"),
    ("due", "tomorrow", "invalid_value", "Due date: expected a date like 2026-11-23", "到期日:应为日期,如 2026-11-23"),
]


@pytest.mark.parametrize(("key", "raw", "code", "en", "zh"), VALUE_CASES)
def test_value_problems_are_prefixed_by_the_label(app: App, key: str, raw: Any, code: str, en: str, zh: str) -> None:
    kitchen = _entity(app, "kitchen")
    problem = FieldProblem.invalid(_value_problem(kitchen, key, raw))
    message = field_message(kitchen, key, problem)
    assert (message["code"], message["message"], message["message_zh"]) == (code, en, zh)
    assert message["label"] == {"en": _field(kitchen, key).label.get("en"), "zh": _field(kitchen, key).label.get("zh")}


def test_value_codes_of_unknown_texts_fall_back() -> None:
    assert value_code("something new") == "invalid_value"
    assert value_code("at most 12 characters") == "too_long"
    assert value_code(f"at most {Decimal('9.5')}") == "out_of_range"


def test_one_problem_is_its_own_summary(app: App) -> None:
    described = describe(_entity(app, "visit"), {"customer": FieldProblem.required()})
    assert (described.message, described.message_zh) == ("Choose a Customer.", "请选择客户。")
    assert described.errors == {"customer": ["required"]}  # the legacy member keeps its reasons
    assert described.fields["customer"]["label"] == {"en": "Customer", "zh": "客户"}


def test_many_problems_are_counted_and_bounded(app: App) -> None:
    kitchen = _entity(app, "kitchen")
    problems = {f["key"]: FieldProblem.required() for f in KITCHEN_FIELDS}
    described = describe(kitchen, problems)
    total = len(KITCHEN_FIELDS)
    assert described.message.startswith(f"Check {total} fields: Fill in Name; Fill in Notes")
    assert described.message_zh.startswith(f"请检查 {total} 个字段:请填写名称;请填写备注")
    assert described.message.endswith(f"; and {total - SUMMARY_LIMIT} more.")
    assert described.message_zh.endswith(f";另有 {total - SUMMARY_LIMIT} 个。")
    assert len(described.fields) == total


def test_field_error_builds_the_runtime_error(app: App) -> None:
    visit = _entity(app, "visit")
    error = field_error(visit, {"customer": FieldProblem.required(), "x" * 500: FieldProblem.unknown_field()})
    assert isinstance(error, Invalid) and error.code == "validation_failed"
    assert set(error.fields) == {"customer", "x" * 100}
    assert error.errors["customer"] == ["required"]
    assert "请选择客户" in error.message_zh and "Choose a Customer" in error.message
    assert "customer:required" not in error.message_zh
    locked = field_error(
        visit,
        {"transcript": FieldProblem.step_locked("pain_points")},
        cls=StepLocked,
        message="Locked.",
        message_zh="已锁定。",
        detail={"step": "pain_points"},
    )
    assert isinstance(locked, StepLocked) and locked.message_zh == "已锁定。" and locked.detail == {"step": "pain_points"}
    assert locked.fields["transcript"]["code"] == "step_locked"


def test_a_field_without_labels_falls_back_to_its_key() -> None:
    doc = visit_app_definition()
    doc["entities"].append({"key": "bare", "label": {"en": "Bare"}, "fields": [{"key": "amount", "type": "number", "label": {"en": "Amount"}}]})
    bare = load_definition(doc).entity("bare")
    assert bare is not None
    message = field_message(bare, "amount", FieldProblem.required())
    assert (message["message"], message["message_zh"]) == ("Fill in Amount", "请填写Amount")
    assert _field(bare, "amount").type is FieldType.NUMBER


def test_reasons_quoting_what_was_sent_stay_short(app: App) -> None:
    kitchen = _entity(app, "kitchen")
    problem = FieldProblem.invalid(_value_problem(kitchen, "tags", ["y" * 100_000]))
    message = field_message(kitchen, "tags", problem)
    assert problem.code == "not_an_option"
    assert len(message["message"]) < 300 and len(message["message_zh"]) < 300
    assert message["message"].startswith("Tags: not options: yyy") and message["message"].endswith("…")
