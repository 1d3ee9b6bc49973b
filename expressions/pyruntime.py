"""Helpers the generated Python evaluators call: context, links, steps, aggregates.

Each helper tolerates a missing resolver, missing records and null values, returning null
(or the documented empty-aggregate value) instead of raising.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from expressions import values
from expressions.scope import CollectionSpec, EvalContext

Record = Mapping[str, Any]
Predicate = Callable[[Record, EvalContext, Record | None], Any]

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


def now(ctx: EvalContext) -> datetime:
    """``now()``: ``ctx.now`` (a naive clock is taken as UTC)."""
    return values.as_aware(ctx.now)


def today(ctx: EvalContext) -> date:
    """``today()``: the date of ``ctx.now`` in ``ctx.tz``."""
    return values.as_aware(ctx.now).astimezone(ctx.tz).date()


def me_id(ctx: EvalContext) -> Any:
    """``me()``: the acting user's id (null without an actor)."""
    return None if ctx.actor is None else ctx.actor.get("id")


def actor_attr(ctx: EvalContext, name: str) -> Any:
    """``me().name``."""
    return None if ctx.actor is None else ctx.actor.get(name)


def has_role(ctx: EvalContext, role: str | None) -> bool:
    """``has_role(role)``: the actor's ``role`` is it, or ``roles`` contains it."""
    actor = ctx.actor
    if actor is None or role is None:
        return False
    if actor.get("role") == role:
        return True
    roles = actor.get("roles")
    return isinstance(roles, list | tuple | set | frozenset) and role in roles


def link(ctx: EvalContext, entity: str, record_id: Any, name: str) -> Any:
    """``base.name`` through a link: field ``name`` of record ``record_id`` of ``entity``."""
    if record_id is None or ctx.resolver is None:
        return None
    target = ctx.resolver.record(entity, record_id)
    return None if target is None else target.get(name)


def user_attr(ctx: EvalContext, user_id: Any, name: str) -> Any:
    """``user.name``: attribute ``name`` of user ``user_id``."""
    if user_id is None or ctx.resolver is None:
        return None
    user = ctx.resolver.user(user_id)
    return None if user is None else user.get(name)


def step(ctx: EvalContext, entity: str, record: Record, key: str, attr: str) -> Any:
    """``steps.key.attr`` of ``record``."""
    if ctx.resolver is None:
        return None if attr == "done_at" else False
    state = ctx.resolver.step(entity, record, key)
    if attr == "done":
        return bool(state.done)
    if attr == "unlocked":
        return bool(state.unlocked)
    return state.done_at


def rows(
    ctx: EvalContext, collection: CollectionSpec, record: Record, where: Predicate | None
) -> Sequence[Record]:
    """The related records of ``collection`` for ``record`` that satisfy ``where``."""
    if ctx.resolver is None:
        return ()
    related = ctx.resolver.related(collection, record)
    if where is None:
        return related
    return [c for c in related if where(c, ctx, record) is True]


def agg_count(ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any) -> int:
    """``count(c [where w])`` or ``count(c.key)`` (non-null values)."""
    found = rows(ctx, c, r, w)
    if key is None:
        return len(found)
    return sum(1 for x in found if x.get(key) is not None)


def agg_sum(ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any) -> Any:
    """``sum(c.key [where w])``; 0 over no rows (a zero duration for durations)."""
    found = [x.get(key) for x in rows(ctx, c, r, w)]
    present = [v for v in found if v is not None]
    if not present:
        return 0
    return values.agg_sum(present[1:], present[0])


def agg_avg(ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any) -> Any:
    """``avg(c.key [where w])``: null over no values."""
    return values.agg_avg(x.get(key) for x in rows(ctx, c, r, w))


def agg_min_of(
    ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any
) -> Any:
    """``min_of(c.key [where w])``."""
    return values.least(*(x.get(key) for x in rows(ctx, c, r, w)))


def agg_max_of(
    ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any
) -> Any:
    """``max_of(c.key [where w])``."""
    return values.greatest(*(x.get(key) for x in rows(ctx, c, r, w)))


def agg_any(ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any) -> bool:
    """``any(c where w)``: false over no rows."""
    return len(rows(ctx, c, r, w)) > 0


def agg_all(ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any) -> bool:
    """``all(c where w)``: true over no rows."""
    if ctx.resolver is None:
        return True
    related = ctx.resolver.related(c, r)
    return w is None or all(w(x, ctx, r) is True for x in related)


def agg_distinct_count(
    ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any
) -> int:
    """``distinct_count(c.key [where w])``."""
    return values.agg_distinct(_hashable(x.get(key)) for x in rows(ctx, c, r, w))


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _created(record: Record) -> tuple[datetime, int]:
    created = record.get("created_at")
    stamp = values.as_aware(created) if isinstance(created, datetime) else _EPOCH
    ident = record.get("id")
    return stamp, ident if isinstance(ident, int) else 0


def agg_latest(
    ctx: EvalContext, c: CollectionSpec, r: Record, w: Predicate | None, key: Any
) -> Any:
    """``latest(c.key)``: the value on the newest related record that has one."""
    best: Record | None = None
    best_key: tuple[datetime, int] | None = None
    for x in rows(ctx, c, r, w):
        if x.get(key) is None:
            continue
        k = _created(x)
        if best_key is None or k > best_key:
            best, best_key = x, k
    return None if best is None else best.get(key)


def list_count(value: Any) -> int:
    """``count(list)``: how many items (0 for null)."""
    return 0 if value is None else len(value)
