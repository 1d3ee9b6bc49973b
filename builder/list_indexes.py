"""The indexes an entity's lists need, derived from its metadata.

A list page is ordered by a column and ``id`` (``-created_at`` is ``created_at DESC, id
DESC``) and may carry a role's row condition. To be index-bound at any table size, each
such query needs a B-tree index whose leading columns are the condition's equality
columns followed by the order: ``(created_at, id)`` for everyone, and e.g.
``(owner, created_at, id)`` for a role that reads ``owner == me()``.

The equality columns come from the ``read_when`` expression's syntax tree: its top-level
``and`` conjuncts of the form ``<column> == me()`` (either side) where the
column is ``owner``, ``created_by`` or a user field. Anything else (an ``or``, a
comparison with another value) gives no index and is simply filtered.

Every entity also gets the indexes of the "recently updated" order: ``(updated_at, id)``
for everyone and ``(owner, updated_at, id)`` for "my records, recently updated" (the home
page's list of each entity); the latter also serves any ``owner`` equality, so these two
take the place of single-column ``updated_at`` and ``owner`` indexes.
"""

from __future__ import annotations

from builder.model import Entity, FieldType
from expressions import ast as a
from expressions.parser import parse

#: The order every list index ends with: the default ``-created_at`` and its tie-breaker.
DEFAULT_ORDER = ("created_at", "id")
#: The "recently updated" order and its tie-breaker.
UPDATED_ORDER = ("updated_at", "id")
#: The orders a list index ends with.
ORDERS = (DEFAULT_ORDER, UPDATED_ORDER)
#: System columns holding a user id, comparable with ``me()``.
USER_COLUMNS = ("owner", "created_by")


def _is_me(node: a.Node) -> bool:
    return isinstance(node, a.Call) and node.name == "me" and not node.args


def _conjuncts(node: a.Node) -> list[a.Node]:
    if isinstance(node, a.BoolOp) and node.op == "and":
        out: list[a.Node] = []
        for operand in node.operands:
            out.extend(_conjuncts(operand))
        return out
    return [node]


def me_columns(entity: Entity, source: str | None) -> tuple[str, ...]:
    """The user-id columns a row condition fixes to the actor (``owner == me()`` → ``owner``)."""
    if not source:
        return ()
    tree, diagnostics = parse(source)
    if tree is None or diagnostics:
        return ()
    user_fields = {f.key for f in entity.fields if f.type is FieldType.USER}
    columns: list[str] = []
    for node in _conjuncts(tree):
        if not (isinstance(node, a.Compare) and node.op == "=="):
            continue
        for name, other in ((node.left, node.right), (node.right, node.left)):
            if isinstance(name, a.Name) and _is_me(other):
                if (name.name in USER_COLUMNS or name.name in user_fields) and name.name not in columns:
                    columns.append(name.name)
    return tuple(columns)


def list_index_columns(entity: Entity) -> tuple[tuple[str, ...], ...]:
    """The column lists of the list indexes of ``entity``, default order first."""
    wanted: list[tuple[str, ...]] = [DEFAULT_ORDER, UPDATED_ORDER, ("owner", *UPDATED_ORDER)]
    for permission in entity.permissions:
        if not permission.read:
            continue
        columns = me_columns(entity, permission.read_when)
        if columns and columns + DEFAULT_ORDER not in wanted:
            wanted.append(columns + DEFAULT_ORDER)
    return tuple(wanted)
