"""Size limits, checked on the raw document before anything else reads it.

A definition is refused early and cheaply when it is too big: one ``too_large`` problem
per exceeded limit (a 10,000-field entity gives one problem, not 10,000), without
descending into the oversized part. Integers beyond ±10^18 are refused here too (no field
needs them, and formatting a 5,000-digit integer raises in Python), as are NaN and
infinities, which ``json.loads`` accepts but JSON does not have, and texts holding NUL or
lone surrogates, which no database column or UTF-8 response can hold. The walk is iterative and depth-bounded, so deeply
nested or even self-referencing values can't exhaust the stack; values that are not JSON
(sets, objects ...) are reported as ``invalid_type``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from builder.errors import ROOT, Problem, join_path, problem

MAX_DEPTH = 32
MAX_NODES = 300_000
MAX_STRING = 10_000
MAX_INTEGER = 10**18
#: NUL (PostgreSQL text and jsonb refuse it) and lone surrogates (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_OBJECT_KEYS = 200
MAX_LIST = 10_000

#: Limits on specific lists, by path pattern (``*`` = any index).
LIST_LIMITS: dict[tuple[str, ...], int] = {
    ("entities",): 200,
    ("entities", "*", "fields"): 500,
    ("entities", "*", "steps"): 50,
    ("entities", "*", "stages"): 50,
    ("entities", "*", "rules"): 200,
    ("entities", "*", "permissions"): 50,
    ("entities", "*", "fields", "*", "options"): 500,
    ("entities", "*", "fields", "*", "accept"): 50,
    ("entities", "*", "steps", "*", "fields"): 500,
    ("roles",): 50,
    ("triggers",): 500,
    ("assignment_rules",): 200,
    ("dashboards",): 200,
}

_WHAT_ZH = {
    "entities": "实体数",
    "fields": "字段数",
    "steps": "步骤数",
    "stages": "阶段数",
    "rules": "规则数",
    "permissions": "权限数",
    "options": "选项数",
    "accept": "文件类型数",
    "roles": "角色数",
    "triggers": "触发器数",
    "assignment_rules": "分配规则数",
    "dashboards": "仪表盘数",
}


def check_limits(doc: Any) -> list[Problem]:
    """Every size limit ``doc`` exceeds (empty when it is within all of them)."""
    problems: list[Problem] = []
    # (value, its path, its path with list indices replaced by "*")
    stack: list[tuple[Any, tuple[str | int, ...], tuple[str, ...]]] = [(doc, (), ())]
    nodes = 0
    while stack:
        value, parts, pattern = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            problems.append(
                problem(
                    ROOT,
                    "too_large",
                    what="the document (values)",
                    what_zh="文档的值数量",
                    size=f"more than {MAX_NODES}",
                    limit=MAX_NODES,
                )
            )
            break
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                problems.append(_too_large(parts, "the text", "文本长度", len(value), MAX_STRING))
            elif _UNSTORABLE.search(value):
                problems.append(_unstorable(parts))
            continue
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int):
            if abs(value) > MAX_INTEGER:  # also keeps str(int) below Python's digit limit
                problems.append(_too_large(parts, "the number", "数值", "more digits", MAX_INTEGER))
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                problems.append(
                    problem(_path(parts), "invalid_value", reason="numbers must be finite")
                )
            continue
        if len(parts) >= MAX_DEPTH:
            problems.append(_too_large(parts, "the nesting depth", "嵌套深度", "more", MAX_DEPTH))
            continue
        if isinstance(value, Mapping):
            if len(value) > MAX_OBJECT_KEYS:
                problems.append(
                    _too_large(parts, "the object", "对象的键数", len(value), MAX_OBJECT_KEYS)
                )
                continue
            for key, item in value.items():
                if isinstance(key, str) and _UNSTORABLE.search(key):
                    problems.append(_unstorable(parts))
                    break
                if not isinstance(key, str):
                    problems.append(
                        problem(
                            _path(parts),
                            "invalid_type",
                            expected="an object",
                            reason="object keys must be strings",
                        )
                    )
                    break
                stack.append((item, (*parts, key), (*pattern, key)))
            continue
        if isinstance(value, list | tuple):
            limit = LIST_LIMITS.get(pattern, MAX_LIST)
            if len(value) > limit:
                name = str(pattern[-1]) if pattern else "the list"
                problems.append(
                    _too_large(parts, f"{name}", _WHAT_ZH.get(name, "列表长度"), len(value), limit)
                )
                continue
            for index in range(len(value) - 1, -1, -1):
                stack.append((value[index], (*parts, index), (*pattern, "*")))
            continue
        problems.append(problem(_path(parts), "invalid_type", expected="a JSON value"))
    return problems


def _unstorable(parts: tuple[str | int, ...]) -> Problem:
    return problem(
        _path(parts),
        "invalid_value",
        reason="the text contains a NUL character or a lone surrogate, which can't be stored",
        reason_zh="文本包含无法存储的字符(NUL 或孤立代理项)",
    )


def _path(parts: tuple[str | int, ...]) -> str:
    return join_path(ROOT, *parts)


def _too_large(
    parts: tuple[str | int, ...], what: str, what_zh: str, size: object, limit: int
) -> Problem:
    return problem(_path(parts), "too_large", what=what, what_zh=what_zh, size=size, limit=limit)
