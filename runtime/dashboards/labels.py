"""Display labels and number formats of dashboard results (formatting only, no arithmetic)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from builder.dashboards import Dimension, Measure, Widget
from builder.model import App, Entity, FieldType

NULL_LABEL = ("(空)", "(none)")
SYSTEM_LABELS: dict[str, tuple[str, str]] = {
    "id": ("编号", "ID"),
    "created_at": ("创建时间", "Created"),
    "updated_at": ("更新时间", "Updated"),
    "created_by": ("创建人", "Created by"),
    "owner": ("负责人", "Owner"),
    "stage": ("阶段", "Stage"),
    "stage_entered_at": ("进入阶段时间", "Stage entered"),
}
AGG_LABELS: dict[str, tuple[str, str]] = {
    "count_distinct": ("{of} 去重数", "Distinct {of}"),
    "sum": ("{of} 合计", "Sum of {of}"),
    "avg": ("{of} 平均", "Average {of}"),
    "min": ("{of} 最小", "Minimum {of}"),
    "max": ("{of} 最大", "Maximum {of}"),
}
BUCKET_FORMATS = {"day", "week", "month", "quarter"}


def field_label(app: App, entity: Entity, key: str) -> tuple[str, str]:
    """The zh / en label of a field, system column or stage of ``entity``."""
    f = entity.field(key)
    if f is not None:
        return f.label.get("zh"), f.label.get("en")
    return SYSTEM_LABELS.get(key, (key, key))


def path_label(app: App, entity: Entity, path: str) -> tuple[str, str]:
    """The label of ``field`` or ``link.field``."""
    first, _, rest = path.partition(".")
    head = field_label(app, entity, first)
    if not rest:
        return head
    link = entity.field(first)
    target = app.entity(link.target) if link is not None and link.target else None
    if target is None:
        return head
    tail = field_label(app, target, rest)
    return f"{head[0]}·{tail[0]}", f"{head[1]} · {tail[1]}"


def dimension_label(app: App, entity: Entity, dim: Dimension) -> tuple[str, str]:
    """The header of a dimension: its own label, else its field's."""
    zh, en = path_label(app, entity, dim.field)
    return dim.label or dim.label_en or zh, dim.label_en or dim.label or en


def measure_label(app: App, entity: Entity, widget: Widget, measure: Measure) -> tuple[str, str]:
    """The header of a measure: its own label, else one made from its definition."""
    if measure.label or measure.label_en:
        return measure.label or measure.label_en or "", measure.label_en or measure.label or ""
    if measure.ratio is not None:
        a, b = (widget.measure(k) for k in measure.ratio)
        la = measure_label(app, entity, widget, a) if a else (measure.ratio[0],) * 2
        lb = measure_label(app, entity, widget, b) if b else (measure.ratio[1],) * 2
        return f"{la[0]} / {lb[0]}", f"{la[1]} / {lb[1]}"
    if measure.conversion is not None:
        names = [entity.stage(s) for s in measure.conversion]
        zh = [s.label.get("zh") if s else k for s, k in zip(names, measure.conversion, strict=True)]
        en = [s.label.get("en") if s else k for s, k in zip(names, measure.conversion, strict=True)]
        return f"转化率 {zh[0]}→{zh[1]}", f"Conversion {en[0]} → {en[1]}"
    if measure.agg == "count":
        return "数量", "Count"
    of = measure.of or ""
    of_zh, of_en = field_label(app, entity, of) if entity.field(of) is not None or of in SYSTEM_LABELS else (of, of)
    template_zh, template_en = AGG_LABELS[measure.agg or "sum"]
    return template_zh.format(of=of_zh), template_en.format(of=of_en)


def bucket_label(value: date, bucket: str) -> tuple[str, str]:
    """A time bucket's label: ``2026-11-23``, ``2026-11-23 当周``, ``2026-11``, ``2026 Q4``."""
    if bucket == "week":
        return f"{value.isoformat()} 当周", f"Week of {value.isoformat()}"
    if bucket == "month":
        return f"{value.year}年{value.month}月", f"{value.year}-{value.month:02d}"
    if bucket == "quarter":
        quarter = (value.month - 1) // 3 + 1
        return f"{value.year}年第{quarter}季度", f"{value.year} Q{quarter}"
    return value.isoformat(), value.isoformat()


def raw(value: Any) -> str:
    """The cell form of a grouped value: a string; ``""`` is null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    return str(value)


def number(value: Any) -> Any:
    """A figure as JSON: an int when whole, else a float (dates as ISO text)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def formatted(value: Any, fmt: str, lang: str) -> str:
    """A figure as text for a sentence: ``1,234``, ``1,234.5``, ``29%``, ``¥1,234.50``."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if fmt == "percent":
        return f"{value * 100:.0f}%"
    if fmt == "integer":
        return f"{int(round(value)):,}"
    if fmt == "money":
        return f"¥{value:,.2f}" if lang == "zh" else f"{value:,.2f}"
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return text


def choice_labels(entity: Entity, key: str) -> dict[str, tuple[str, str]]:
    """``value → (zh, en)`` of a choice field's options (stages for ``stage``)."""
    if key == "stage":
        return {s.key: (s.label.get("zh"), s.label.get("en")) for s in entity.stages}
    f = entity.field(key)
    if f is None or f.type is not FieldType.CHOICE:
        return {}
    return {o.value: ((o.label.get("zh"), o.label.get("en")) if o.label else (o.value, o.value)) for o in f.options}


def bool_label(value: bool) -> tuple[str, str]:
    """是/否, Yes/No."""
    return ("是", "Yes") if value else ("否", "No")
