"""Pure parts of the engine: trigger matching, templates, backoff, cron times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from builder.model import LocalizedText
from builder.triggers import (
    OnCreated,
    OnDeleted,
    OnFieldChanged,
    OnStageChanged,
    OnStepCompleted,
    OnUpdated,
    SetField,
    Trigger,
)
from runtime.automation.engine import matches
from runtime.automation.jobs import backoff
from runtime.automation.sweeps import next_fire
from runtime.automation.templates import render
from runtime.changes import RecordChange

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _trigger(on: object, entity: str = "order", enabled: bool = True) -> Trigger:
    return Trigger(key="t", label=LocalizedText("t", "t"), entity=entity, on=on,  # type: ignore[arg-type]
                   actions=(SetField("x", "1"),), enabled=enabled)


def _change(kind: str, before: dict | None = None, after: dict | None = None, **extra: object) -> RecordChange:
    changed = frozenset(k for k in set(before or {}) | set(after or {})
                        if (before or {}).get(k) != (after or {}).get(k))
    return RecordChange(kind, 1, "sales", "order", 7, AT, before=before, after=after, changed=changed,
                        **extra)  # type: ignore[arg-type]


def test_created_updated_deleted() -> None:
    assert matches(_trigger(OnCreated()), _change("created", after={"a": 1}))
    assert not matches(_trigger(OnCreated()), _change("updated", {"a": 1}, {"a": 2}))
    assert not matches(_trigger(OnCreated(), entity="lead"), _change("created", after={"a": 1}))
    assert not matches(_trigger(OnCreated(), enabled=False), _change("created", after={"a": 1}))
    assert matches(_trigger(OnUpdated()), _change("updated", {"a": 1}, {"a": 2}))
    assert matches(_trigger(OnUpdated(fields=("a",))), _change("updated", {"a": 1}, {"a": 2}))
    assert not matches(_trigger(OnUpdated(fields=("b",))), _change("updated", {"a": 1}, {"a": 2}))
    assert matches(_trigger(OnDeleted()), _change("deleted", before={"a": 1}))


def test_field_changed_from_to() -> None:
    to_done = OnFieldChanged(field="status", to="已验收", has_to=True)
    assert matches(_trigger(to_done), _change("updated", {"status": "草稿"}, {"status": "已验收"}))
    assert not matches(_trigger(to_done), _change("updated", {"status": "已验收", "x": 1},
                                                  {"status": "已验收", "x": 2}))
    assert not matches(_trigger(to_done), _change("updated", {"status": "草稿"}, {"status": "作废"}))
    assert matches(_trigger(to_done), _change("created", after={"status": "已验收"}))
    from_none = OnFieldChanged(field="amount", from_=None, has_from=True)
    assert matches(_trigger(from_none), _change("updated", {"amount": None}, {"amount": Decimal("5")}))
    assert not matches(_trigger(from_none), _change("updated", {"amount": Decimal(1)}, {"amount": Decimal(5)}))
    any_of = OnFieldChanged(field="amount", to=(10, 20), has_to=True)
    assert matches(_trigger(any_of), _change("updated", {"amount": Decimal(1)}, {"amount": Decimal(20)}))
    flag = OnFieldChanged(field="won", to=True, has_to=True)
    assert matches(_trigger(flag), _change("updated", {"won": False}, {"won": True}))
    assert not matches(_trigger(flag), _change("updated", {"won": True}, {"won": 1}))


def test_stage_and_step() -> None:
    to_need = OnStageChanged(to="need")
    assert matches(_trigger(to_need), _change("stage_changed", stage_from="contact", stage_to="need"))
    assert not matches(_trigger(to_need), _change("stage_changed", stage_from="need", stage_to="proposal"))
    assert not matches(_trigger(OnStageChanged(from_="need")),
                       _change("stage_changed", stage_from="contact", stage_to="need"))
    assert matches(_trigger(OnStepCompleted("checkin")), _change("step_completed", step="checkin"))
    assert not matches(_trigger(OnStepCompleted("checkin")), _change("step_completed", step="photo"))


def test_templates() -> None:
    record = {"name": "华联", "amount": Decimal("12.50"), "at": AT, "tags": ["a", "b"], "none": None}
    text = render("客户 {name} {amount} {at} {tags} {none}|{missing} {{literal}} {__class__}", record,
                  ZoneInfo("Asia/Shanghai"))
    assert text == "客户 华联 12.5 2026-11-23 09:00 a, b |{missing} {literal} {__class__}"


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30) == timedelta(hours=1)


def test_cron_in_a_time_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    friday = next_fire("0 17 * * fri", AT, shanghai)
    assert friday == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 17:00 in Shanghai
    assert next_fire("0 17 * * fri", friday, shanghai) == friday + timedelta(days=7)
