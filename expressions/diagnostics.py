"""Diagnostics: what is wrong with an expression, where, in English and Chinese."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from expressions.ast import Span

#: Stable diagnostic codes (documented in docs/expressions.md).
CODES = (
    "syntax",
    "unknown_name",
    "unknown_function",
    "type_mismatch",
    "arity",
    "not_boolean",
    "not_sql",
    "too_complex",
    "invalid_literal",
    "misplaced_where",
)

_MESSAGES: dict[str, tuple[str, str]] = {
    # key: (English, Chinese); placeholders filled with str.format
    "syntax.unexpected_char": ("unexpected character `{char}`", "无法识别的字符 `{char}`"),
    "syntax.unexpected_token": (
        "unexpected {token}; expected {expected}",
        "此处不应出现 {token}；应为 {expected}",
    ),
    "syntax.unexpected_end": (
        "the expression ends too early; expected {expected}",
        "表达式不完整；应为 {expected}",
    ),
    "syntax.chained_comparison": (
        "comparisons cannot be chained; combine them with `and`",
        "比较运算不能连写，请用 `and` 连接",
    ),
    "syntax.bad_escape": ("invalid escape `{escape}` in text", "文本中的转义 `{escape}` 无效"),
    "syntax.single_equals": ("use `==` to compare", "比较请使用 `==`"),
    "syntax.empty": ("the expression is empty", "表达式为空"),
    "unknown_name.field": (
        "unknown field `{name}` on {entity}",
        "{entity} 上没有字段 `{name}`",
    ),
    "unknown_name.entity": (
        "the scope has no entity `{entity}`",
        "作用域中没有实体 `{entity}`",
    ),
    "unknown_name.dunder": (
        "`{name}` is not a name of this language",
        "`{name}` 不是本语言中的名称",
    ),
    "unknown_name.step": ("unknown step `{name}` on {entity}", "{entity} 上没有步骤 `{name}`"),
    "unknown_name.step_attr": (
        "a step has `done`, `done_at` and `unlocked`, not `{name}`",
        "步骤只有 `done`、`done_at` 和 `unlocked`，没有 `{name}`",
    ),
    "unknown_name.user_attr": (
        "a user has no attribute `{name}`",
        "用户没有属性 `{name}`",
    ),
    "unknown_name.member": (
        "a value of type {type} has no member `{name}`",
        "类型 {type} 的值没有成员 `{name}`",
    ),
    "unknown_name.parent": (
        "`parent` is only available inside `where`",
        "`parent` 只能在 `where` 条件中使用",
    ),
    "unknown_name.bare": (
        "`{name}` must be followed by `.` and a name",
        "`{name}` 后面必须跟 `.` 和名称",
    ),
    "unknown_function": ("unknown function `{name}`", "没有函数 `{name}`"),
    "arity": (
        "`{name}` takes {expected} argument(s), {given} given",
        "`{name}` 需要 {expected} 个参数，实际给了 {given} 个",
    ),
    "type_mismatch.operator": (
        "`{op}` cannot combine {left} and {right}",
        "`{op}` 不能用于 {left} 和 {right}",
    ),
    "type_mismatch.unary": ("`{op}` cannot be applied to {type}", "`{op}` 不能用于 {type}"),
    "type_mismatch.argument": (
        "argument {index} of `{name}` must be {expected}, not {given}",
        "`{name}` 的第 {index} 个参数应为 {expected}，而不是 {given}",
    ),
    "type_mismatch.branches": (
        "the values {left} and {right} do not have a common type",
        "{left} 与 {right} 没有共同的类型",
    ),
    "type_mismatch.list_items": (
        "list items must share one type; found {left} and {right}",
        "列表中的元素类型必须一致；发现了 {left} 和 {right}",
    ),
    "type_mismatch.collection": (
        "`{name}` is a collection; use it inside an aggregate such as `count({name})`",
        "`{name}` 是关联集合，请在汇总函数中使用，例如 `count({name})`",
    ),
    "type_mismatch.not_collection": (
        "`{name}` needs a related collection, e.g. `{name}(visits where ...)`",
        "`{name}` 需要关联集合，例如 `{name}(visits where ...)`",
    ),
    "type_mismatch.needs_field": (
        "`{name}` needs a field of the collection, e.g. `{name}(visits.amount)`",
        "`{name}` 需要集合中的字段，例如 `{name}(visits.amount)`",
    ),
    "type_mismatch.needs_where": (
        "`{name}` needs a condition: `{name}(collection where condition)`",
        "`{name}` 需要条件：`{name}(集合 where 条件)`",
    ),
    "not_boolean": (
        "a condition must be true or false, but this is {type}",
        "条件必须是真或假，但这里是 {type}",
    ),
    "not_sql": (
        "{what} cannot be computed in the database",
        "{what} 无法在数据库中计算",
    ),
    "too_complex.length": (
        "the expression is {length} characters long; the limit is {limit}",
        "表达式长度为 {length} 个字符，超过上限 {limit}",
    ),
    "too_complex.depth": (
        "the expression is nested more than {limit} levels deep",
        "表达式嵌套超过 {limit} 层",
    ),
    "too_complex.list": (
        "a list may hold at most {limit} items",
        "列表最多包含 {limit} 个元素",
    ),
    "too_complex.nodes": (
        "the expression has more than {limit} parts",
        "表达式的组成部分超过 {limit} 个",
    ),
    "too_complex.integer": (
        "the integer {text} is too large (the limit is ±{limit})",
        "整数 {text} 过大（上限为 ±{limit}）",
    ),
    "too_complex.decimal": (
        "the number {text} has more than {limit} significant digits",
        "数字 {text} 的有效位数超过 {limit} 位",
    ),
    "too_complex.text": (
        "the text literal is longer than {limit} characters",
        "文本常量超过 {limit} 个字符",
    ),
    "misplaced_where": (
        "`where` may only follow the collection in an aggregate call such as `count(...)`",
        "`where` 只能用在汇总函数的集合参数之后，例如 `count(...)`",
    ),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in an expression, with its position (1-based; end exclusive)."""

    code: str
    message: str
    message_zh: str
    line: int
    column: int
    end_line: int
    end_column: int
    suggestion: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (for API error bodies)."""
        return {
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "suggestion": self.suggestion,
        }


def make(key: str, span: Span, suggestion: str | None = None, **values: object) -> Diagnostic:
    """A diagnostic from the message catalogue entry ``key`` (``code.detail``)."""
    english, chinese = _MESSAGES[key]
    code = key.split(".", 1)[0]
    message = english.format(**values)
    message_zh = chinese.format(**values)
    if suggestion is not None:
        message += f" — did you mean `{suggestion}`?"
        message_zh += f"——您是否想输入 `{suggestion}`？"
    return Diagnostic(
        code,
        message,
        message_zh,
        span.line,
        span.column,
        span.end_line,
        span.end_column,
        None if suggestion is None else f"did you mean `{suggestion}`?",
    )


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (for "did you mean"), or None."""
    pool = list(candidates)
    found = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    if found:
        return found[0]
    lowered = {c.lower(): c for c in pool}
    return lowered.get(name.lower())
