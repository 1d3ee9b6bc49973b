"""The expression runner of assignment over a published app's expression scopes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa


def assignment_scope(scope: Any) -> Any:
    """``scope`` with ``me().load`` and ``me().history_matches`` (the builder checks rules
    against the same scope: ``builder.triggers.expressions.candidate_scope``)."""
    from builder.triggers.expressions import candidate_scope

    return candidate_scope(scope)


class AppExpressions:
    """The :class:`ExpressionRunner` over a published app's expression scopes."""

    def __init__(self, call: Any, app: Any) -> None:
        from runtime.evaluation import RecordEvaluator

        self.call = call
        self.app = app
        self.evaluator = RecordEvaluator(call, app)

    def evaluate(
        self, entity: str, source: str, record: Mapping[str, Any], actor: Mapping[str, Any] | None
    ) -> Any:
        """The value of ``source`` on ``record`` with ``me()`` = ``actor`` (the candidate)."""
        import dataclasses

        from expressions import compile_expression

        compiled = compile_expression(source, assignment_scope(self.app.scope(entity)))
        context = self.evaluator.context
        if actor is not None:
            context = dataclasses.replace(context, actor=actor)
        return compiled.evaluate(record, context)

    def where(self, entity: str, source: str, table: sa.Table) -> sa.ColumnElement[bool]:
        """``source`` compiled to SQL over ``table`` (the acting user is ``me()``)."""
        from expressions import BOOLEAN, SqlContext, compile_expression

        compiled = compile_expression(source, self.app.scope(entity), expect=BOOLEAN)
        ctx = SqlContext(
            now=self.call.now(),
            tz=self.call.tz,
            dialect=self.call.session.get_bind().dialect.name,
            actor=self.call.actor.attributes(),
        )
        return compiled.to_sql(self.app.binding, ctx, table)  # type: ignore[no-any-return]
