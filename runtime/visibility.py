"""Which records an actor may read: the row conditions of every read path, in one place.

An entity's permission entry for the actor's role decides: no entry (while the entity has
permissions) or ``read: false`` hides every record, ``read_when`` hides the records where
it does not hold, and admins and the system actor (automation, derived state computed on
write) see everything. :class:`Visibility` turns that into SQL for a table or an alias of
it, and hands the expression compiler a row filter so that collection aggregates
(``any(visits where …)``) and link traversals (``customer.name``) see only what the actor
may read — a hidden record is as absent as a record that does not exist.

Row conditions themselves are evaluated over all data: a ``read_when`` that reaches other
records (``customer.region == me().region``) is the definition of what is visible, so the
records it reaches are not filtered again (and conditions that refer to each other can't
recurse).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from builder.model import Entity
from expressions import compile_expression
from expressions.scope import SqlContext
from expressions.types import BOOLEAN
from runtime.apps import PublishedApp
from runtime.context import Actor, CallContext

UNRESTRICTED_ROLES = frozenset({"admin", "system"})


def rule_for(entity: Entity, role: str | None) -> bool | str:
    """True: every record; False: none; a string: the records where it holds.

    ``role`` None means unrestricted (admin, system).
    """
    if role is None or role in UNRESTRICTED_ROLES or not entity.permissions:
        return True
    for permission in entity.permissions:
        if permission.role == role:
            if not permission.read:
                return False
            return permission.read_when or True
    return False


class Visibility:
    """The records of one app a role may read (``role=None``: all of them)."""

    def __init__(self, app: PublishedApp, role: str | None) -> None:
        self.app = app
        self.role = None if role in UNRESTRICTED_ROLES else role

    @classmethod
    def of(cls, app: PublishedApp, actor: Actor) -> Visibility:
        """What ``actor`` may read: keyed off the actor's role and the app's permissions."""
        return cls(app, actor.role)

    @classmethod
    def everything(cls, app: PublishedApp) -> Visibility:
        """No row condition at all (the system actor; derived state computed on write)."""
        return cls(app, None)

    @property
    def unrestricted(self) -> bool:
        """Whether every record of every entity is visible."""
        return self.role is None

    def rule(self, entity_key: str) -> bool | str:
        """True / False / the ``read_when`` source for ``entity_key`` (see :func:`rule_for`)."""
        if self.role is None:
            return True
        entity = self.app.definition.entity(entity_key)
        if entity is None:
            return False
        return rule_for(entity, self.role)

    def sql(self, entity_key: str, table: sa.FromClause, ctx: SqlContext) -> sa.ColumnElement[bool] | None:
        """The condition rows of ``entity_key`` in ``table`` must meet (None: all rows)."""
        rule = self.rule(entity_key)
        if rule is True:
            return None
        if rule is False:
            return sa.false()
        inner = dataclasses.replace(ctx, row_filter=None)
        compiled = compile_expression(rule, self.app.scope(entity_key), expect=BOOLEAN)
        return compiled.to_sql(self.app.binding, inner, table)

    def sql_context(self, call: CallContext) -> SqlContext:
        """The SQL context of a read by ``call``'s actor, with this visibility's row filter."""
        base = SqlContext(
            now=call.now(),
            tz=call.tz,
            dialect=call.session.get_bind().dialect.name,
            actor=call.actor.attributes(),
        )
        if self.unrestricted:
            return base

        def row_filter(entity: str, table: sa.FromClause) -> sa.ColumnElement[bool] | None:
            return self.sql(entity, table, base)

        return dataclasses.replace(base, row_filter=row_filter)

    def visible_ids(self, call: CallContext, entity_key: str, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` that are records of ``entity_key`` the actor may read."""
        wanted = sorted({int(i) for i in ids})
        if not wanted or entity_key not in self.app.tables or entity_key in self.app.archived_entities:
            return set()
        table = self.app.table(entity_key)
        query = sa.select(table.c.id).where(table.c.id.in_(wanted))
        condition = self.sql(entity_key, table, self.sql_context(call))
        if condition is not None:
            query = query.where(condition)
        return set(call.session.scalars(query))


def visible_rows(
    visibility: Visibility, call: CallContext, entity_key: str, query: sa.Select[Any], table: sa.FromClause
) -> sa.Select[Any]:
    """``query`` restricted to the rows of ``table`` the actor may read."""
    condition = visibility.sql(entity_key, table, visibility.sql_context(call))
    return query if condition is None else query.where(condition)
