"""What the designer's expression editor asks while an admin types: is it right, what type
is it, what does it mean, and which names can be used here.

The server stays the only judge of the language: :func:`check_in_scope` runs the real
checker against the scope of one entity of a (possibly invalid) draft and answers with
diagnostics (1-based line / column / end and a suggestion for a misspelt name), the
inferred type, a plain-language explanation built from the expression's top-level
``and`` / ``or`` parts and their ``#`` labels (the same parts and labels the rep's form
explains with), and the names in scope for autocompletion. Names depend only on the
draft's content, so they are cached with it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from typing import Any

from builder import checker
from builder.model import App, Entity, LocalizedText
from builder.scope import scope_for
from expressions import compile_expression
from expressions import typed as t
from expressions.functions.library import LIBRARY
from expressions.types import BOOLEAN, ExprType
from runtime.evaluation import part_labels, split_label

#: Expression kinds the editor asks about: (expected type, must compile to SQL).
KINDS: dict[str, tuple[ExprType | None, bool]] = {
    "condition": (BOOLEAN, False),
    "row_condition": (BOOLEAN, True),
    "formula": (None, False),
    "value": (None, False),
    # Assignment rules judge each candidate: ``me()`` is the candidate, with load and history.
    "candidate_condition": (BOOLEAN, False),
    "candidate_value": (None, False),
}

_SYSTEM_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "created_at": ("创建时间", "Created at"),
    "updated_at": ("更新时间", "Updated at"),
    "created_by": ("创建人", "Created by"),
    "owner": ("负责人", "Owner"),
    "stage": ("阶段", "Stage"),
    "stage_entered_at": ("进入阶段时间", "Entered stage at"),
}

_KEYWORDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("me()", "user", "当前用户", "The acting user", "me().role, me().region, me().id, me().manager"),
    ("and", "boolean", "并且", "and", "a and b"),
    ("or", "boolean", "或者", "or", "a or b"),
    ("not", "boolean", "非", "not", "not a"),
    ("in", "boolean", "属于", "in", 'region in ["华东", "华南"]'),
    ("where", "", "筛选", "where", "count(visits where created_at >= now() - 7d)"),
    ("true", "boolean", "真", "true", "true"),
    ("false", "boolean", "假", "false", "false"),
    ("null", "null", "空值", "null", "x == null"),
)


def _label(text: LocalizedText | None, fallback: str) -> dict[str, str]:
    if text is None:
        return {"zh": fallback, "en": fallback}
    return {"zh": text.zh or text.en or fallback, "en": text.en or text.zh or fallback}


@cache
def function_names() -> tuple[dict[str, Any], ...]:
    """Every library function with its signatures and documentation (built once)."""
    out = []
    for name in LIBRARY.names():
        function = LIBRARY.functions[name]
        signatures = " | ".join(o.describe(name) for o in function.overloads) or (
            f"{name}(collection [where condition])" if name in ("count", "any", "all")
            else f"{name}(collection.field [where condition])"
        )
        entry: dict[str, Any] = {
            "name": name,
            "kind": "function",
            "type": None,
            "label": {"zh": name, "en": name},
            "signature": signatures,
        }
        doc = "; ".join(part for part in (function.doc, function.example) if part)
        if doc:
            entry["doc"] = doc
        out.append(entry)
    return tuple(out)


def _names(app: App, entity: Entity) -> list[dict[str, Any]]:
    spec = scope_for(app, entity.key).entity_spec()
    assert spec is not None
    names: list[dict[str, Any]] = []
    for f in spec.fields:
        model = entity.field(f.name)
        if model is not None:
            label = _label(model.label, f.name)
        else:
            zh, en = _SYSTEM_LABELS.get(f.name, (f.name, f.name))
            label = {"zh": zh, "en": en}
        names.append({"name": f.name, "kind": "field", "type": str(f.type), "label": label})
    for step in entity.steps:
        label = _label(step.label, step.key)
        for attr, typ in (("done", "boolean"), ("done_at", "datetime"), ("unlocked", "boolean")):
            names.append({"name": f"steps.{step.key}.{attr}", "kind": "step", "type": typ, "label": label})
    for collection in spec.collections:
        child = app.entity(collection.entity)
        link = child.field(collection.link_field) if child is not None else None
        text = link.related_label if link is not None and link.related_label else (child.label if child else None)
        names.append({
            "name": collection.name,
            "kind": "collection",
            "type": f"collection<{collection.entity}>",
            "label": _label(text, collection.name),
        })
    names.append({"name": "parent", "kind": "variable", "type": f"record<{entity.key}>",
                  "label": {"zh": "外层记录(在 where 条件中)", "en": "The outer record (inside a where condition)"}})
    for name, typ, zh, en, doc in _KEYWORDS:
        names.append({"name": name, "kind": "keyword", "type": typ or None, "label": {"zh": zh, "en": en}, "doc": doc})
    names.extend(dict(entry) for entry in function_names())
    return names


_NAMES: OrderedDict[tuple[str, str], list[dict[str, Any]]] = OrderedDict()
_NAMES_LOCK = threading.Lock()
_NAMES_SIZE = 256


def names_in_scope(digest: str, app: App, entity: Entity) -> list[dict[str, Any]]:
    """The names an expression on ``entity`` may use (cached by draft content and entity)."""
    key = (digest, entity.key)
    with _NAMES_LOCK:
        hit = _NAMES.get(key)
        if hit is not None:
            _NAMES.move_to_end(key)
            return hit
    names = _names(app, entity)
    with _NAMES_LOCK:
        _NAMES[key] = names
        while len(_NAMES) > _NAMES_SIZE:
            _NAMES.popitem(last=False)
    return names


def explain(source: str, root: t.TNode) -> dict[str, str]:
    """A plain-language reading of a checked expression, in Chinese and English."""
    if root.type == BOOLEAN:
        nodes = root.operands if isinstance(root, t.TBool) else (root,)
        texts = [source[n.span.start : n.span.end] for n in nodes]
        labels = part_labels(source, [(n.span.line, n.span.column, text) for n, text in zip(nodes, texts, strict=True)])
        split = [split_label(label) for label in labels]
        plain = [" ".join(text.split()) for text in texts]
        parts = [zh or text for (zh, _en), text in zip(split, plain, strict=True)]
        parts_en = [en or text for (_zh, en), text in zip(split, plain, strict=True)]
        if len(parts) == 1:
            return {"zh": f"当「{parts[0]}」成立时为真", "en": f"True when “{parts_en[0]}” holds"}
        numbered_zh = ";".join(f"{i}. {p}" for i, p in enumerate(parts, 1))
        numbered_en = "; ".join(f"{i}. {p}" for i, p in enumerate(parts_en, 1))
        assert isinstance(root, t.TBool)
        if root.op == "and":
            return {"zh": f"以下 {len(parts)} 项全部成立时为真:{numbered_zh}",
                    "en": f"True when all {len(parts)} of these hold: {numbered_en}"}
        return {"zh": f"以下 {len(parts)} 项任一成立时为真:{numbered_zh}",
                "en": f"True when any of these {len(parts)} holds: {numbered_en}"}
    shown = " ".join(source.split())
    return {"zh": f"计算出一个 {root.type} 类型的值:{shown}", "en": f"Computes a {root.type} value: {shown}"}


def check_in_scope(app: App, entity: Entity, source: str, kind: str) -> dict[str, Any]:
    """``{"ok", "type", "diagnostics", "explanation"}`` of ``source`` on ``entity``."""
    expect, require_sql = KINDS[kind]
    scope = scope_for(app, entity.key)
    if kind.startswith("candidate_"):
        from builder.triggers.expressions import candidate_scope

        scope = candidate_scope(scope)
    outcome = checker.check_source(source, scope, expect=expect, require_sql=require_sql)
    diagnostics = [
        {
            "line": d.line,
            "column": d.column,
            "end_line": d.end_line,
            "end_column": d.end_column,
            "code": d.code,
            "message": d.message,
            "message_zh": d.message_zh,
            "suggestion": d.suggestion,
        }
        for d in outcome.diagnostics
    ]
    explanation = None
    if outcome.ok and source.strip():
        try:
            compiled = compile_expression(source, scope, expect=expect)
        except Exception:  # the checker said yes; an explanation is a courtesy, not a verdict
            compiled = None
        if compiled is not None:
            explanation = explain(source, compiled.root)
    return {
        "ok": outcome.ok,
        "type": str(outcome.type) if outcome.type is not None else None,
        "diagnostics": diagnostics,
        "explanation": explanation,
    }
