"""Messages a person understands for field-level refusals, in both UI languages.

The record service finds problems per field and describes each with a stable ``code`` and
``params`` (:class:`FieldProblem`); this module turns them into sentences that name the
field by its label in each language: "请选择客户" / "Choose a Customer", "请填写名称" /
"Fill in Name", "金额:不能大于 100" / "Amount: at most 100". The same sentences serve the
API (``fields`` member of problem+json), the generated forms (next to the field and on the
card whose save failed) and the audit trail (``message`` / ``message_zh``).

Codes (stable; clients may switch on them):

=====================  ==================================================================
``required``           nothing was given for a field that must be filled
``required_for_step``  a field must be filled before its step can be completed
``read_only``          the field can't be changed for this record
``hidden``             the field does not apply to this record (hidden) and must be empty
``step_locked``        the field belongs to a step that is still locked
``not_in_step``        the field is not one of the step being completed
``unknown_field``      there is no such field
``unknown_reference``  the linked record, user or file does not exist (or can't be seen)
``unknown_stage``      the value is not a stage of the entity
``not_a_number``       a number was expected
``too_long``           the text is longer than the field allows
``out_of_range``       the value is below the minimum or above the maximum
``not_an_option``      the value is not one of the field's options
``invalid_value``      any other value that does not fit the field (format, type)
=====================  ==================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from builder.model import Entity, FieldType
from runtime.errors import Invalid
from runtime.values import ValueProblem

SUMMARY_LIMIT = 5
"""At most this many field messages are spelled out in a summary (the rest are counted)."""
DETAIL_LIMIT = 200
"""At most this many characters of a value problem's reason are kept."""

SYSTEM_LABELS: dict[str, tuple[str, str]] = {
    "owner": ("Owner", "负责人"),
    "stage": ("Stage", "阶段"),
    "version": ("Version", "版本"),
}

_CHOOSE = {FieldType.CHOICE, FieldType.LINK, FieldType.USER}

# English value problems of runtime.values, by how their text starts → stable code.
_VALUE_CODES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^at most \d+ characters"), "too_long"),
    (re.compile(r"^expected (a|a finite|a whole) number"), "not_a_number"),
    (re.compile(r"^(number|duration|coordinates) out of range|^at least |^at most |^a rating from "), "out_of_range"),
    (re.compile(r"^not one of the options|^not options:"), "not_an_option"),
)


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one field: a stable ``code``, its ``params``, and the short detail.

    ``detail`` / ``detail_zh`` is the bare reason without the label ("expected a number");
    ``detail`` is also what the legacy ``errors`` member of an error carries.
    """

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    detail: str | None = None
    detail_zh: str | None = None

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def required(cls) -> FieldProblem:
        """Nothing was given for a field that must be filled."""
        return cls("required", detail="required", detail_zh="必填")

    @classmethod
    def required_for_step(cls, step: str) -> FieldProblem:
        """The field must be filled before step ``step`` can be completed."""
        return cls("required_for_step", {"step": step}, "required to complete the step", "完成此步骤必填")

    @classmethod
    def read_only(cls) -> FieldProblem:
        """The field can't be changed for this record."""
        return cls("read_only", detail="read-only", detail_zh="只读")

    @classmethod
    def hidden(cls) -> FieldProblem:
        """A value was given for a field that is hidden for this record."""
        return cls("hidden", detail="this field is hidden for this record", detail_zh="此字段对该记录隐藏")

    @classmethod
    def step_locked(cls, step: str, detail: str | None = None, detail_zh: str | None = None) -> FieldProblem:
        """The field belongs to step ``step``, which is locked (``detail``: its locked message)."""
        return cls("step_locked", {"step": step}, detail or "the step is locked", detail_zh or "步骤尚未解锁")

    @classmethod
    def not_in_step(cls, step: str) -> FieldProblem:
        """The field is not one of the fields of step ``step``."""
        return cls("not_in_step", {"step": step}, "not a field of this step", "不是此步骤的字段")

    @classmethod
    def unknown_field(cls) -> FieldProblem:
        """There is no field with this key."""
        return cls("unknown_field", detail="unknown field", detail_zh="未知字段")

    @classmethod
    def unknown_reference(cls, value: Any, detail: str) -> FieldProblem:
        """The record, user or file(s) ``value`` refers to does not exist (for this actor)."""
        return cls("unknown_reference", {"value": value}, detail, "引用的对象不存在")

    @classmethod
    def unknown_stage(cls, value: Any, options: list[str]) -> FieldProblem:
        """``value`` is not one of the stages ``options``."""
        return cls(
            "unknown_stage",
            {"value": str(value)[:100], "options": options},
            f"unknown stage; one of {', '.join(options)}",
            "未知阶段",
        )

    @classmethod
    def invalid(cls, problem: ValueProblem) -> FieldProblem:
        """A value that does not fit its field (:func:`runtime.values.coerce` said why)."""
        code = getattr(problem, "code", None) or value_code(problem.message)
        return cls(code, {}, _bounded(problem.message), _bounded(problem.message_zh))

    @classmethod
    def other(cls, detail: str, detail_zh: str) -> FieldProblem:
        """Any other value problem, described in both languages."""
        return cls("invalid_value", {}, detail, detail_zh)


def _bounded(text: str) -> str:
    """A reason may quote what was sent (e.g. unknown options): keep it short."""
    return text if len(text) <= DETAIL_LIMIT else text[: DETAIL_LIMIT - 1] + "…"


def value_code(message: str) -> str:
    """The stable code of an English value problem of :mod:`runtime.values`."""
    for pattern, code in _VALUE_CODES:
        if pattern.search(message):
            return code
    return "invalid_value"


def labels(entity: Entity, key: str) -> tuple[str, str]:
    """The field's label in English and Chinese (system fields have their own; else the key)."""
    f = entity.field(key)
    if f is not None:
        return f.label.get("en") or key, f.label.get("zh") or key
    return SYSTEM_LABELS.get(key, (key, key))


def _step_labels(entity: Entity, step_key: str) -> tuple[str, str]:
    step = entity.step(step_key)
    if step is None:
        return step_key, step_key
    return step.label.get("en") or step_key, step.label.get("zh") or step_key


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _required(entity: Entity, key: str, en: str, zh: str) -> tuple[str, str]:
    f = entity.field(key)
    kind = f.type if f is not None else (FieldType.USER if key == "owner" else FieldType.CHOICE if key == "stage" else None)
    if kind in _CHOOSE:
        return f"Choose {_article(en)} {en}", f"请选择{zh}"
    if kind is FieldType.MULTI_CHOICE:
        return f"Choose at least one {en}", f"请选择{zh}"
    if kind is FieldType.DATE:
        return f"Choose a date for {en}", f"请选择{zh}"
    if kind is FieldType.DATETIME:
        return f"Choose a date and time for {en}", f"请选择{zh}"
    if kind is FieldType.BOOLEAN:
        return f"Tick {en}", f"请勾选{zh}"
    if kind is FieldType.RATING:
        return f"Give a rating for {en}", f"请为{zh}评分"
    if kind is FieldType.LOCATION:
        return f"Add the location for {en}", f"请获取{zh}的位置"
    if kind is FieldType.PHOTO:
        return f"Add a photo for {en}", f"请拍摄或上传{zh}"
    if kind is FieldType.FILE:
        return f"Attach a file for {en}", f"请上传{zh}"
    return f"Fill in {en}", f"请填写{zh}"


def _reference(entity: Entity, key: str, en: str, zh: str) -> tuple[str, str]:
    f = entity.field(key)
    if key == "owner" or (f is not None and f.type is FieldType.USER):
        return f"The chosen {en} is not a user of this workspace", f"所选的{zh}不是本工作区的用户"
    if f is not None and f.type in (FieldType.PHOTO, FieldType.FILE):
        return f"Some files of {en} no longer exist; upload them again", f"{zh}中有文件已不存在,请重新上传"
    return f"The chosen {en} does not exist or you may not see it", f"所选的{zh}不存在或您无权查看"


def field_message(entity: Entity, key: str, problem: FieldProblem) -> dict[str, Any]:
    """``{code, params, label, message, message_zh}`` of one field's problem."""
    en, zh = labels(entity, key)
    code = problem.code
    if code == "required":
        text = _required(entity, key, en, zh)
    elif code == "required_for_step":
        step_en, step_zh = _step_labels(entity, str(problem.params.get("step", "")))
        req_en, req_zh = _required(entity, key, en, zh)
        text = f"{req_en} to complete “{step_en}”", f"{req_zh},才能完成「{step_zh}」"
    elif code == "read_only":
        text = f"{en} can't be changed for this record", f"{zh}当前只读,不能修改"
    elif code == "hidden":
        text = f"{en} does not apply to this record; leave it empty", f"{zh}不适用于此记录,请留空"
    elif code == "step_locked":
        step_en, step_zh = _step_labels(entity, str(problem.params.get("step", "")))
        text = f"{en} can't be filled in yet: “{step_en}” is locked", f"「{step_zh}」尚未解锁,暂不能填写{zh}"
    elif code == "not_in_step":
        step_en, step_zh = _step_labels(entity, str(problem.params.get("step", "")))
        text = f"{en} is not part of “{step_en}”", f"{zh}不属于「{step_zh}」"
    elif code == "unknown_field":
        shown = key[:100]
        text = f"There is no field “{shown}”", f"没有字段“{shown}”"
    elif code == "unknown_reference":
        text = _reference(entity, key, en, zh)
    elif code == "unknown_stage":
        stage_labels = [s.label for s in entity.stages]
        text = (
            f"Choose {_article(en)} {en}: " + ", ".join(s.get("en") for s in stage_labels),
            f"请选择{zh}:" + "、".join(s.get("zh") for s in stage_labels),
        )
    else:
        text = f"{en}: {problem.detail or code}", f"{zh}:{problem.detail_zh or problem.detail or code}"
    return {
        "code": code,
        "params": dict(problem.params),
        "label": {"en": en, "zh": zh},
        "message": text[0],
        "message_zh": text[1],
    }


@dataclass(frozen=True)
class Described:
    """Every field's message, the summary in both languages, and the legacy ``errors``."""

    fields: dict[str, dict[str, Any]]
    message: str
    message_zh: str
    errors: dict[str, list[str]]


def describe(entity: Entity, problems: Mapping[str, FieldProblem]) -> Described:
    """Labelled messages for ``problems`` (by field key) and a summary naming them."""
    fields = {str(key)[:100]: field_message(entity, str(key), p) for key, p in problems.items()}
    errors = {str(key)[:100]: [p.detail or p.code] for key, p in problems.items()}
    message, message_zh = summary(list(fields.values()))
    return Described(fields, message, message_zh, errors)


def summary(messages: list[Mapping[str, Any]]) -> tuple[str, str]:
    """One sentence per language for a list of field messages (bounded in length)."""
    if not messages:
        return "Some fields are not valid.", "部分字段无效。"
    if len(messages) == 1:
        return messages[0]["message"] + ".", messages[0]["message_zh"] + "。"
    shown = messages[:SUMMARY_LIMIT]
    rest = len(messages) - len(shown)
    en = f"Check {len(messages)} fields: " + "; ".join(m["message"] for m in shown)
    zh = f"请检查 {len(messages)} 个字段:" + ";".join(m["message_zh"] for m in shown)
    if rest:
        en += f"; and {rest} more"
        zh += f";另有 {rest} 个"
    return en + ".", zh + "。"


def field_error(
    entity: Entity,
    problems: Mapping[str, FieldProblem],
    *,
    cls: type[Invalid] = Invalid,
    message: str | None = None,
    message_zh: str | None = None,
    detail: Mapping[str, Any] | None = None,
    code: str | None = None,
) -> Invalid:
    """The error to raise for ``problems``: labelled messages, summary, legacy ``errors``.

    ``message`` / ``message_zh`` replace the generated summary (e.g. a step's own locked
    message); the per-field messages are always generated.
    """
    described = describe(entity, problems)
    return cls(
        message or described.message,
        message_zh=message_zh or described.message_zh,
        errors=described.errors,
        fields=described.fields,
        detail=detail,
        code=code,
    )
