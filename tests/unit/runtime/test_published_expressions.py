"""A published app keeps its compiled expressions: the record service's per-record path."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

import runtime.apps as apps_module
from expressions import EntitySpec, FieldSpec, Scope
from expressions.errors import ExpressionInvalid
from expressions.types import BOOLEAN, DECIMAL, TEXT
from runtime.apps import PublishedApp
from runtime.clock import FrozenClock
from runtime.context import Actor, CallContext
from runtime.evaluation import RecordEvaluator
from runtime.models import Workspace
from runtime.visibility import Visibility

SCOPE = Scope("deal", (EntitySpec("deal", (FieldSpec("amount", DECIMAL), FieldSpec("name", TEXT))),))
DEAL = SimpleNamespace(key="deal")


def _app() -> PublishedApp:
    return PublishedApp(
        app_id=1, key="t", workspace_id=1, revision_id=1, revision_number=1,
        definition=None, tables={}, _scopes={"deal": SCOPE},  # type: ignore[arg-type]
    )


def _evaluator(app: PublishedApp) -> RecordEvaluator:
    ctx = CallContext(
        session=None,  # type: ignore[arg-type]
        workspace=Workspace(id=1, key="t", name="T", timezone="Asia/Shanghai"),
        actor=Actor(id=1, workspace_id=1, role="rep"),
        clock=FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)),
    )
    return RecordEvaluator(ctx, app, visibility=Visibility.everything(app))


def test_compiled_once_per_source_and_expected_type() -> None:
    app = _app()
    condition = app.compiled("deal", "amount > 10", BOOLEAN)
    assert app.compiled("deal", "amount > 10", BOOLEAN) is condition
    assert app.expressions(BOOLEAN) == {("deal", "amount > 10"): condition}
    value = app.compiled("deal", "amount > 10")
    assert value is not condition  # another expected type, kept apart
    assert app.expressions(None) == {("deal", "amount > 10"): value}


def test_evaluator_answers_from_the_app_s_expressions() -> None:
    app = _app()
    evaluator = _evaluator(app)
    record: dict[str, Any] = {"amount": 20, "name": "a"}
    assert evaluator.holds(DEAL, "amount > 10", record, False) is True  # type: ignore[arg-type]
    assert evaluator.holds(DEAL, "amount > 30", record, False) is False  # type: ignore[arg-type]
    assert evaluator.holds(DEAL, None, record, True) is True  # type: ignore[arg-type]
    assert evaluator.value(DEAL, "amount * 2", record) == 40  # type: ignore[arg-type]
    assert set(app.expressions(BOOLEAN)) == {("deal", "amount > 10"), ("deal", "amount > 30")}
    # Another evaluator of the same app (the next request) finds them compiled.
    kept = app.expressions(BOOLEAN)[("deal", "amount > 10")]
    assert _evaluator(app).holds(DEAL, "amount > 10", record, False) is True  # type: ignore[arg-type]
    assert app.expressions(BOOLEAN)[("deal", "amount > 10")] is kept


def test_invalid_source_still_refused_and_not_kept() -> None:
    app = _app()
    with pytest.raises(ExpressionInvalid):
        _evaluator(app).holds(DEAL, "amount >", {"amount": 1}, False)  # type: ignore[arg-type]
    with pytest.raises(ExpressionInvalid):
        app.compiled("deal", "name", BOOLEAN)  # text where a condition is expected
    assert app.expressions(BOOLEAN) == {}


def test_kept_expressions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apps_module, "_EXPRESSIONS_KEPT", 3)
    app = _app()
    for n in range(10):
        app.compiled("deal", f"amount > {n}", BOOLEAN)
        assert len(app.expressions(BOOLEAN)) <= 3
