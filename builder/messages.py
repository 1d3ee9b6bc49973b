"""The catalogue of problem messages, in English and Chinese, keyed by stable code.

Templates use ``str.format`` fields filled from the parameters a check passes; a missing
parameter never breaks rendering (it is shown as ``?``).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

CATALOGUE: dict[str, tuple[str, str]] = {
    "format_unsupported": (
        'Unsupported definition format {got}; expected "{expected}".',
        '不支持的定义格式 {got},应为 "{expected}"。',
    ),
    "invalid_type": (
        "Wrong type: expected {expected}.",
        "类型错误:应为{expected_zh}。",
    ),
    "required": ("This is required.", "此项必填。"),
    "unknown_key": ("Unknown key {name}.", "未知的键 {name}。"),
    "invalid_value": ("Invalid value: {reason}", "取值无效:{reason}"),
    "invalid_identifier": (
        "{value} is not a valid key: use a lowercase letter followed by lowercase letters, "
        "digits or single underscores, at most 63 characters, not ending in an underscore.",
        "{value} 不是合法的标识:须以小写字母开头,仅含小写字母、数字和单个下划线,"
        "最多 63 个字符,且不以下划线结尾。",
    ),
    "reserved_name": (
        "{value} is reserved and can't be used as a {what} key.",
        "{value} 是保留名称,不能用作{what_zh}的标识。",
    ),
    "duplicate_key": (
        "Duplicate {what} {value}: it is already used at {first}.",
        "{what_zh} {value} 重复:已在 {first} 使用。",
    ),
    "unknown_reference": ("{reason}", "{reason_zh}"),
    "invalid_option": ("{reason}", "{reason_zh}"),
    "too_large": (
        "Too large: {what} has {size}, the limit is {limit}.",
        "超出限制:{what_zh} 为 {size},上限为 {limit}。",
    ),
    "dependency_cycle": (
        "Circular dependency: {cycle}.",
        "存在循环依赖:{cycle}。",
    ),
    "expression": ("{reason}", "{reason_zh}"),
    "widget_arity": (
        "A {widget} widget has {wanted} {what}, not {got}.",
        "{widget} 组件应有 {wanted} 个{what_zh},而不是 {got} 个。",
    ),
    "widget_option": (
        "{name} does not apply to a {widget} widget.",
        "{name} 不适用于 {widget} 组件。",
    ),
    "template_placeholder": (
        "{{{name}}} in the template is not a measure of the widget.",
        "模板中的 {{{name}}} 不是该组件的度量。",
    ),
    "expression_unavailable": (
        "The expression checker is not available; the expression could not be checked.",
        "表达式检查器不可用,无法检查该表达式。",
    ),
}

TYPE_NAMES_ZH: dict[str, str] = {
    "an object": "对象",
    "a list": "列表",
    "a string": "字符串",
    "a boolean": "布尔值",
    "an integer": "整数",
    "a number": "数字",
    "a text or an object with zh/en texts": "文本或含 zh/en 文本的对象",
    "a JSON value": "JSON 值",
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def render(code: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """The English and Chinese messages of ``code`` with ``params`` filled in.

    Codes of the form ``expression_<x>`` use the ``expression`` template; unknown codes
    fall back to ``reason`` / ``reason_zh`` parameters or the code itself.
    """
    values = _Lenient(params)
    if "expected" in values and "expected_zh" not in values:
        values["expected_zh"] = TYPE_NAMES_ZH.get(str(values["expected"]), values["expected"])
    for key in ("what", "reason"):
        if key in values and f"{key}_zh" not in values:
            values[f"{key}_zh"] = values[key]
    template = CATALOGUE.get(code)
    if template is None and code.startswith("expression_"):
        template = CATALOGUE["expression"]
    if template is None:
        template = ("{reason}", "{reason_zh}") if "reason" in values else (code, code)
    formatter = string.Formatter()
    return formatter.vformat(template[0], (), values), formatter.vformat(template[1], (), values)
