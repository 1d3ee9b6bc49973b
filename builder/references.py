"""Structural checks on a loaded definition: duplicates, references and field options.

These run on the model built by :mod:`builder.schemas` (so every value already has the
right type); the JSON paths are rebuilt from positions, which the model's tuples keep.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App, Entity, Field, FieldType

TEXT_TYPES = frozenset(
    {FieldType.TEXT, FieldType.LONG_TEXT, FieldType.PHONE, FieldType.EMAIL, FieldType.URL}
)
NUMERIC_TYPES = frozenset(
    {
        FieldType.NUMBER,
        FieldType.INTEGER,
        FieldType.MONEY,
        FieldType.PERCENT,
        FieldType.RATING,
        FieldType.DURATION,
    }
)
CHOICE_TYPES = frozenset({FieldType.CHOICE, FieldType.MULTI_CHOICE})
MEDIA_TYPES = frozenset({FieldType.PHOTO, FieldType.FILE})
UNINDEXABLE_TYPES = frozenset(
    {
        FieldType.LONG_TEXT,
        FieldType.MULTI_CHOICE,
        FieldType.LOCATION,
        FieldType.PHOTO,
        FieldType.FILE,
        FieldType.FORMULA,
    }
)
NO_DEFAULT_TYPES = frozenset(
    {FieldType.LINK, FieldType.USER, FieldType.LOCATION, FieldType.FORMULA} | MEDIA_TYPES
)
MAX_LENGTH_LIMIT = 1_000_000
MAX_FILE_MB = 1_024

_WHAT_ZH = {
    "entity": "实体",
    "field": "字段",
    "step": "步骤",
    "stage": "阶段",
    "rule": "规则",
    "role": "角色",
    "permission": "权限",
    "option": "选项",
}


def check_references(app: App) -> list[Problem]:
    """Every duplicate, dangling reference and misused field option of ``app``."""
    problems: list[Problem] = []
    problems += _duplicates(
        ((join_path(ROOT, "roles", i), r) for i, r in enumerate(app.roles)), "role"
    )
    problems += _duplicates(
        ((join_path(ROOT, "entities", i, "key"), e.key) for i, e in enumerate(app.entities)),
        "entity",
    )
    related: dict[tuple[str, str], str] = {}
    for i, entity in enumerate(app.entities):
        base = join_path(ROOT, "entities", i)
        problems += _entity_duplicates(entity, base)
        for j, f in enumerate(entity.fields):
            problems += _field_options(app, f, join_path(base, "fields", j))
            problems += _related_name(app, f, join_path(base, "fields", j), related)
        problems += _steps(entity, base)
        problems += _stages(entity, base)
        if entity.title_field is not None and entity.field(entity.title_field) is None:
            problems.append(
                _unknown(
                    join_path(base, "title_field"),
                    f"title_field {entity.title_field!r} is not a field of {entity.key!r}",
                    f"标题字段 {entity.title_field!r} 不是实体 {entity.key!r} 的字段",
                )
            )
        for k, perm in enumerate(entity.permissions):
            if perm.role not in app.roles:
                problems.append(
                    _unknown(
                        join_path(base, "permissions", k, "role"),
                        f"role {perm.role!r} is not one of the app's roles",
                        f"角色 {perm.role!r} 不在应用的角色列表中",
                    )
                )
    return problems


def _duplicates(items: Iterable[tuple[str, str]], what: str) -> Iterator[Problem]:
    first: dict[str, str] = {}
    for path, key in items:
        if key in first:
            yield problem(
                path, "duplicate_key", what=what, what_zh=_WHAT_ZH[what], value=key,
                first=first[key],
            )  # fmt: skip
        else:
            first[key] = path


def _entity_duplicates(entity: Entity, base: str) -> list[Problem]:
    out: list[Problem] = []
    for name, what in (("fields", "field"), ("steps", "step"), ("stages", "stage"),
                       ("rules", "rule")):  # fmt: skip
        items = getattr(entity, name)
        out += _duplicates(
            ((join_path(base, name, i, "key"), x.key) for i, x in enumerate(items)), what
        )
    out += _duplicates(
        (
            (join_path(base, "permissions", i, "role"), p.role)
            for i, p in enumerate(entity.permissions)
        ),
        "permission",
    )
    for j, f in enumerate(entity.fields):
        out += _duplicates(
            (
                (join_path(base, "fields", j, "options", k), o.value)
                for k, o in enumerate(f.options)
            ),
            "option",
        )
    return out


def _unknown(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "unknown_reference", reason=reason, reason_zh=reason_zh)


def _bad(path: str, reason: str, reason_zh: str) -> Problem:
    return problem(path, "invalid_option", reason=reason, reason_zh=reason_zh)


def _only_for(f: Field, path: str, option: str, types: str, types_zh: str) -> Problem:
    return _bad(
        join_path(path, option),
        f"{option!r} applies only to {types} fields, not to a {f.type.value} field",
        f"{option!r} 仅适用于{types_zh}字段,不适用于 {f.type.value} 字段",
    )


def _field_options(app: App, f: Field, path: str) -> list[Problem]:  # noqa: C901
    out: list[Problem] = []
    typ = f.type
    if typ in CHOICE_TYPES:
        if not f.options:
            out.append(
                _bad(
                    join_path(path, "options"),
                    "a choice field needs at least one option",
                    "选项字段至少需要一个选项",
                )
            )
    elif f.options:
        out.append(_only_for(f, path, "options", "choice", "选项"))
    if typ is FieldType.LINK:
        if f.target is None:
            out.append(problem(join_path(path, "target"), "required"))
        elif app.entity(f.target) is None:
            out.append(
                _unknown(
                    join_path(path, "target"),
                    f"link target {f.target!r} is not an entity of this app",
                    f"关联目标 {f.target!r} 不是本应用的实体",
                )
            )
    else:
        for option in ("target", "related_name", "related_label"):
            if getattr(f, option) is not None:
                out.append(_only_for(f, path, option, "link", "关联"))
    if typ is FieldType.FORMULA:
        if f.formula is None:
            out.append(problem(join_path(path, "formula"), "required"))
        for option in ("required", "required_when", "read_only_when", "unique"):
            if getattr(f, option) not in (None, False):
                out.append(
                    _bad(
                        join_path(path, option),
                        f"{option!r} does not apply to a computed formula field",
                        f"{option!r} 不适用于公式字段",
                    )
                )
    elif f.formula is not None:
        out.append(_only_for(f, path, "formula", "formula", "公式"))
    if typ not in MEDIA_TYPES:
        for option, default in (("multiple", False), ("max_size_mb", None), ("accept", ())):
            if getattr(f, option) != default:
                out.append(_only_for(f, path, option, "photo and file", "图片和文件"))
    elif f.max_size_mb is not None and not 0 < f.max_size_mb <= MAX_FILE_MB:
        out.append(
            _bad(
                join_path(path, "max_size_mb"),
                f"max_size_mb must be between 1 and {MAX_FILE_MB}",
                f"max_size_mb 须在 1 到 {MAX_FILE_MB} 之间",
            )
        )
    out += _bounds(f, path)
    if typ in UNINDEXABLE_TYPES:
        for option in ("unique", "index"):
            if getattr(f, option) and not (typ is FieldType.FORMULA and option == "unique"):
                out.append(
                    _bad(
                        join_path(path, option),
                        f"a {typ.value} field can't be {option}",
                        f"{typ.value} 字段不支持 {option}",
                    )
                )
    if f.default is not None:
        out += _default(f, path)
    return out


def _bounds(f: Field, path: str) -> list[Problem]:
    out: list[Problem] = []
    if f.type not in NUMERIC_TYPES:
        for option in ("min", "max"):
            if getattr(f, option) is not None:
                out.append(_only_for(f, path, option, "numeric", "数值"))
    elif f.min is not None and f.max is not None and f.min > f.max:
        out.append(
            _bad(
                join_path(path, "min"),
                f"min ({f.min}) is greater than max ({f.max})",
                f"最小值 ({f.min}) 大于最大值 ({f.max})",
            )
        )
    if f.max_length is not None:
        if f.type not in TEXT_TYPES:
            out.append(_only_for(f, path, "max_length", "text", "文本"))
        elif not 0 < f.max_length <= MAX_LENGTH_LIMIT:
            out.append(
                _bad(
                    join_path(path, "max_length"),
                    f"max_length must be between 1 and {MAX_LENGTH_LIMIT}",
                    f"max_length 须在 1 到 {MAX_LENGTH_LIMIT} 之间",
                )
            )
    return out


def _default(f: Field, path: str) -> list[Problem]:
    reason = _default_mismatch(f)
    if reason is None:
        return []
    return [_bad(join_path(path, "default"), reason[0], reason[1])]


def _default_mismatch(f: Field) -> tuple[str, str] | None:  # noqa: C901
    value, typ = f.default, f.type
    if typ in NO_DEFAULT_TYPES:
        return (f"a {typ.value} field can't have a default", f"{typ.value} 字段不能设置默认值")
    wrong = (
        f"the default {value!r} is not a valid {typ.value} value",
        f"默认值 {value!r} 不是有效的 {typ.value} 值",
    )
    values = {o.value for o in f.options}
    if typ in TEXT_TYPES:
        if not isinstance(value, str):
            return wrong
        if f.max_length is not None and len(value) > f.max_length:
            return ("the default is longer than max_length", "默认值超过最大长度")
    elif typ is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            return wrong
    elif typ is FieldType.CHOICE:
        if not isinstance(value, str) or value not in values:
            return wrong
    elif typ is FieldType.MULTI_CHOICE:
        if not isinstance(value, tuple) or any(v not in values for v in value):
            return wrong
    elif typ in NUMERIC_TYPES:
        integral = typ in (FieldType.INTEGER, FieldType.RATING, FieldType.DURATION)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return wrong
        if integral and not isinstance(value, int):
            return wrong
        number = Decimal(str(value))
        if (f.min is not None and number < f.min) or (f.max is not None and number > f.max):
            return ("the default is outside min/max", "默认值超出最小值/最大值范围")
    elif typ in (FieldType.DATE, FieldType.DATETIME):
        if not isinstance(value, str) or not _iso(value, typ is FieldType.DATE):
            return wrong
    return None


def _iso(value: str, date_only: bool) -> bool:
    if value in ("today", "now"):
        return True
    try:
        if date_only:
            dt.date.fromisoformat(value)
        else:
            dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _related_name(app: App, f: Field, path: str, seen: dict[tuple[str, str], str]) -> list[Problem]:
    if f.type is not FieldType.LINK or f.related_name is None or f.target is None:
        return []
    target = app.entity(f.target)
    if target is None:
        return []
    where = join_path(path, "related_name")
    name = f.related_name
    if target.field(name) is not None:
        return [
            _unknown(
                where,
                f"related_name {name!r} clashes with field {name!r} of {target.key!r}",
                f"反向集合名 {name!r} 与实体 {target.key!r} 的字段 {name!r} 冲突",
            )
        ]
    first = seen.setdefault((target.key, name), where)
    if first != where:
        return [
            _unknown(
                where,
                f"related_name {name!r} is already used on {target.key!r} by {first}",
                f"反向集合名 {name!r} 已在实体 {target.key!r} 上使用({first})",
            )
        ]
    return []


def _steps(entity: Entity, base: str) -> list[Problem]:
    out: list[Problem] = []
    owner: dict[str, str] = {}
    for s, step in enumerate(entity.steps):
        for k, key in enumerate(step.fields):
            path = join_path(base, "steps", s, "fields", k)
            if entity.field(key) is None:
                out.append(
                    _unknown(
                        path,
                        f"step {step.key!r} owns {key!r}, which is not a field of {entity.key!r}",
                        f"步骤 {step.key!r} 包含的 {key!r} 不是实体 {entity.key!r} 的字段",
                    )
                )
            elif key in owner:
                out.append(
                    _unknown(
                        path,
                        f"field {key!r} is already owned by step {owner[key]!r}",
                        f"字段 {key!r} 已属于步骤 {owner[key]!r}",
                    )
                )
            else:
                owner[key] = step.key
    return out


def _stages(entity: Entity, base: str) -> list[Problem]:
    """``allow_skip_to`` names stages of the same entity that come later."""
    out: list[Problem] = []
    order = [s.key for s in entity.stages]
    for s, stage in enumerate(entity.stages):
        for k, key in enumerate(stage.allow_skip_to):
            path = join_path(base, "stages", s, "allow_skip_to", k)
            if key not in order:
                out.append(
                    _unknown(
                        path,
                        f"stage {stage.key!r} allows skipping to {key!r}, which is not a stage of {entity.key!r}",
                        f"阶段 {stage.key!r} 允许跳转到的 {key!r} 不是实体 {entity.key!r} 的阶段",
                    )
                )
            elif order.index(key) <= s:
                out.append(
                    _bad(
                        path,
                        f"stage {stage.key!r} can only skip forward, but {key!r} does not come after it",
                        f"阶段 {stage.key!r} 只能向后跳转,而 {key!r} 不在它之后",
                    )
                )
    return out
