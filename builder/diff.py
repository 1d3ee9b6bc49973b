"""A readable diff between two definition documents (revision history, publish preview).

Elements are matched by their stable key — entities, fields, steps, stages, rules and
triggers by ``key``, permissions by ``role``, roles by their value or ``key`` — so a
relabelled field is one change, not a removal and an addition. Each change says what
happened in a sentence in Chinese and English ("字段「金额」的标签由「金额」改为「订单金额」")
with the values before and after, and the JSON path of the element (in the newer document,
or in the older one for what was removed). Works on raw documents, so drafts that do not
validate can be compared too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from builder.errors import ROOT, join_path

#: Element kinds: Chinese and English nouns.
NOUNS: dict[str, tuple[str, str]] = {
    "app": ("应用", "app"),
    "entity": ("实体", "entity"),
    "field": ("字段", "field"),
    "step": ("步骤", "step"),
    "stage": ("阶段", "stage"),
    "rule": ("规则", "rule"),
    "permission": ("权限", "permission"),
    "role": ("角色", "role"),
    "trigger": ("触发器", "trigger"),
    "assignment_rule": ("分配规则", "assignment rule"),
    "dashboard": ("仪表盘", "dashboard"),
}

#: Property names: Chinese and English.
PROPERTIES: dict[str, tuple[str, str]] = {
    "label": ("标签", "label"),
    "description": ("说明", "description"),
    "type": ("类型", "type"),
    "help": ("帮助文本", "help text"),
    "required": ("必填", "required"),
    "required_when": ("必填条件", "required-when condition"),
    "visible_when": ("显示条件", "visible-when condition"),
    "read_only_when": ("只读条件", "read-only-when condition"),
    "default": ("默认值", "default"),
    "unique": ("唯一", "unique"),
    "index": ("索引", "index"),
    "min": ("最小值", "minimum"),
    "max": ("最大值", "maximum"),
    "max_length": ("最大长度", "maximum length"),
    "options": ("选项", "options"),
    "target": ("关联对象", "link target"),
    "related_name": ("关联集合名", "related collection name"),
    "related_label": ("关联集合标签", "related collection label"),
    "multiple": ("多个", "multiple"),
    "max_size_mb": ("文件大小上限", "file size limit"),
    "accept": ("文件类型", "accepted file types"),
    "formula": ("公式", "formula"),
    "fields": ("字段", "fields"),
    "unlock_when": ("解锁条件", "unlock condition"),
    "done_when": ("完成条件", "done condition"),
    "locked_message": ("锁定提示", "locked message"),
    "exit_when": ("退出条件", "exit criteria"),
    "guidance": ("指引", "guidance"),
    "allow_back": ("允许回退", "allow moving back"),
    "allow_skip_to": ("允许跳转到", "allowed skips"),
    "assert": ("校验条件", "assertion"),
    "message": ("提示信息", "message"),
    "create": ("新建权限", "create permission"),
    "read": ("查看权限", "read permission"),
    "update": ("修改权限", "update permission"),
    "delete": ("删除权限", "delete permission"),
    "read_when": ("行级查看条件", "row read condition"),
    "write_when": ("行级修改条件", "row write condition"),
    "title_field": ("标题字段", "title field"),
    "key": ("标识", "key"),
    "on": ("触发时机", "trigger event"),
    "when": ("触发条件", "condition"),
    "actions": ("动作", "actions"),
    "entity": ("实体", "entity"),
}

#: Child lists of an element and how their items are matched.
_CHILDREN: dict[str, tuple[tuple[str, str, str], ...]] = {
    "app": (
        ("entities", "entity", "key"),
        ("roles", "role", "key"),
        ("triggers", "trigger", "key"),
        ("assignment_rules", "assignment_rule", "key"),
        ("dashboards", "dashboard", "key"),
    ),
    "entity": (
        ("fields", "field", "key"),
        ("steps", "step", "key"),
        ("stages", "stage", "key"),
        ("rules", "rule", "key"),
        ("permissions", "permission", "role"),
    ),
}
_ORDERED = frozenset({"fields", "steps", "stages"})


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is ``added``, ``removed`` or ``changed``."""

    path: str
    kind: str
    what_zh: str
    what_en: str
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: ``{"path", "kind", "what": {"zh", "en"}, "before", "after"}``."""
        return {
            "path": self.path,
            "kind": self.kind,
            "what": {"zh": self.what_zh, "en": self.what_en},
            "before": self.before,
            "after": self.after,
        }


def _label(element: Any, lang: str) -> str:
    if isinstance(element, str):
        return element
    if not isinstance(element, Mapping):
        return "?"
    label = element.get("label")
    if isinstance(label, Mapping):
        text = label.get(lang) or label.get("zh" if lang == "en" else "en")
        if isinstance(text, str) and text:
            return text
    if isinstance(label, str) and label:
        return label
    ident = element.get("key", element.get("role"))
    return str(ident) if ident is not None else "?"


def _shown(value: Any, lang: str) -> str:
    if value is None:
        return "空" if lang == "zh" else "empty"
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, Mapping) and set(value) <= {"zh", "en"}:
        text = value.get(lang) or value.get("zh" if lang == "en" else "en")
        return str(text) if text is not None else ""
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return "、".join(map(str, value)) if lang == "zh" else ", ".join(map(str, value))
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "…"


def _ident(item: Any, by: str) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping):
        value = item.get(by)
        return value if isinstance(value, str) else None
    return None


def _items(doc: Any, member: str, by: str) -> list[tuple[int, str, Any]]:
    items = doc.get(member) if isinstance(doc, Mapping) else None
    if not isinstance(items, list):
        return []
    out = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        ident = _ident(item, by)
        if ident is not None and ident not in seen:
            seen.add(ident)
            out.append((i, ident, item))
    return out


def _subject(kind: str, element: Any) -> tuple[str, str]:
    noun_zh, noun_en = NOUNS[kind]
    return f"{noun_zh}「{_label(element, 'zh')}」", f"{noun_en} “{_label(element, 'en')}”"


def _compare(kind: str, old: Any, new: Any, path: str) -> Iterator[Change]:
    """Changes of the element's own properties, then of its child lists."""
    subject_zh, subject_en = _subject(kind, old)
    children = {member for member, _, _ in _CHILDREN.get(kind, ())}
    old_props = old if isinstance(old, Mapping) else {}
    new_props = new if isinstance(new, Mapping) else {}
    for name in [*old_props, *(k for k in new_props if k not in old_props)]:
        if name in children or name == "format":
            continue
        before, after = old_props.get(name), new_props.get(name)
        if before == after:
            continue
        prop_zh, prop_en = PROPERTIES.get(name, (name, name.replace("_", " ")))
        yield Change(
            join_path(path, name),
            "changed",
            f"{subject_zh}的{prop_zh}由「{_shown(before, 'zh')}」改为「{_shown(after, 'zh')}」",
            f"The {prop_en} of {subject_en} changed from “{_shown(before, 'en')}” to “{_shown(after, 'en')}”",
            before,
            after,
        )
    for member, child_kind, by in _CHILDREN.get(kind, ()):
        yield from _compare_list(child_kind, member, by, old, new, path, subject_zh, subject_en)


def _compare_list(
    kind: str, member: str, by: str, old: Any, new: Any, path: str, owner_zh: str, owner_en: str
) -> Iterator[Change]:
    before = _items(old, member, by)
    after = _items(new, member, by)
    old_by = {ident: (i, item) for i, ident, item in before}
    new_by = {ident: (i, item) for i, ident, item in after}
    noun_zh, noun_en = NOUNS[kind]
    for i, ident, item in after:
        if ident not in old_by:
            subject_zh, subject_en = _subject(kind, item)
            yield Change(
                join_path(path, member, i),
                "added",
                f"{owner_zh}新增{subject_zh}" if kind != "entity" else f"新增{subject_zh}",
                f"Added {subject_en}" + (f" to {owner_en}" if kind != "entity" else ""),
                None,
                item,
            )
        else:
            yield from _compare(kind, old_by[ident][1], item, join_path(path, member, i))
    for i, ident, item in before:
        if ident not in new_by:
            subject_zh, subject_en = _subject(kind, item)
            yield Change(
                join_path(path, member, i),
                "removed",
                f"{owner_zh}删除了{subject_zh}" if kind != "entity" else f"删除了{subject_zh}",
                f"Removed {subject_en}" + (f" from {owner_en}" if kind != "entity" else ""),
                item,
                None,
            )
    if member in _ORDERED:
        old_order = [ident for _, ident, _ in before if ident in new_by]
        new_order = [ident for _, ident, _ in after if ident in old_by]
        if old_order != new_order:
            yield Change(
                join_path(path, member),
                "changed",
                f"{owner_zh}的{noun_zh}顺序已调整",
                f"The order of the {noun_en}s of {owner_en} changed",
                old_order,
                new_order,
            )


def diff_definitions(old: Any, new: Any) -> list[Change]:
    """The changes that take definition document ``old`` to ``new`` (both raw JSON)."""
    return list(_compare("app", old if isinstance(old, Mapping) else {}, new if isinstance(new, Mapping) else {}, ROOT))
