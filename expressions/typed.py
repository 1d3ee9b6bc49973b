"""The typed tree: the checker's output, input of both compilers.

Every node carries its static ``type``, whether it ``nullable`` at run time, whether it
has an SQL form (``sql``), and the source ``span`` it came from. ``depth`` on names says
which record a name reads: 0 the record being evaluated (or the related record inside a
``where``), 1 the record around that ``where`` (``parent``), and so on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from expressions.ast import Span
from expressions.scope import CollectionSpec
from expressions.types import ExprType

if TYPE_CHECKING:
    from expressions.functions.registry import Function


@dataclass(frozen=True, slots=True, eq=False)
class TNode:
    """Base of typed nodes."""

    span: Span
    type: ExprType
    nullable: bool
    sql: bool


@dataclass(frozen=True, slots=True, eq=False)
class TLiteral(TNode):
    """A constant value (already in its Python form)."""

    value: Any


@dataclass(frozen=True, slots=True, eq=False)
class TList(TNode):
    """A list literal."""

    items: tuple[TNode, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TField(TNode):
    """A field of the record ``depth`` levels out, on ``entity``."""

    entity: str
    name: str
    depth: int


@dataclass(frozen=True, slots=True, eq=False)
class TLink(TNode):
    """``base.name`` where ``base`` is a link to a record of ``entity``."""

    base: TNode
    entity: str
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class TMe(TNode):
    """``me()``: the acting user (its id as a value)."""


@dataclass(frozen=True, slots=True, eq=False)
class TUserAttr(TNode):
    """``base.name`` where ``base`` is a user (``me().role``, ``owner.manager``)."""

    base: TNode
    name: str


@dataclass(frozen=True, slots=True, eq=False)
class TStep(TNode):
    """``steps.<step>.<attr>`` of the record ``depth`` levels out."""

    entity: str
    step: str
    attr: str
    depth: int


@dataclass(frozen=True, slots=True, eq=False)
class TUnary(TNode):
    """``-x`` (``op`` ``neg``) or ``not x``."""

    op: str
    operand: TNode


@dataclass(frozen=True, slots=True, eq=False)
class TChain(TNode):
    """A left-associative arithmetic chain; each step has its operator and result type."""

    first: TNode
    steps: tuple[tuple[str, TNode, ExprType], ...]


@dataclass(frozen=True, slots=True, eq=False)
class TCompare(TNode):
    """``left op right`` for ``== != < <= > >=`` (never null)."""

    op: str
    left: TNode
    right: TNode


@dataclass(frozen=True, slots=True, eq=False)
class TIn(TNode):
    """``left in right`` / ``left not in right`` (never null)."""

    negated: bool
    left: TNode
    right: TNode


@dataclass(frozen=True, slots=True, eq=False)
class TBool(TNode):
    """``and`` / ``or`` over two or more operands (null counts as false)."""

    op: str
    operands: tuple[TNode, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TCall(TNode):
    """A call of a library function (including the lazy ``if`` and ``coalesce``)."""

    function: Function
    args: tuple[TNode, ...]


@dataclass(frozen=True, slots=True, eq=False)
class TAggregate(TNode):
    """An aggregate over a related collection, optionally projected and filtered."""

    function: Function
    collection: CollectionSpec
    parent_entity: str
    field: str | None
    field_type: ExprType | None
    where: TNode | None
    depth: int
    items: TNode | None = None  # ``count(list_value)``: the list counted instead of rows


def children(node: TNode) -> tuple[TNode, ...]:
    """The direct typed children of ``node`` (for generic walks)."""
    if isinstance(node, TList):
        return node.items
    if isinstance(node, TLink | TUserAttr):
        return (node.base,)
    if isinstance(node, TUnary):
        return (node.operand,)
    if isinstance(node, TChain):
        return (node.first, *(s[1] for s in node.steps))
    if isinstance(node, TCompare | TIn):
        return (node.left, node.right)
    if isinstance(node, TBool):
        return node.operands
    if isinstance(node, TCall):
        return node.args
    if isinstance(node, TAggregate):
        if node.items is not None:
            return (node.items,)
        return () if node.where is None else (node.where,)
    return ()


def is_constant(node: TNode) -> bool:
    """Whether ``node`` reads nothing of the record (foldable to one value).

    Context calls (``now()``, ``today()``, ``me()``, ``has_role``) and ``me().<attr>`` are
    constant for one evaluation; fields, links, steps and aggregates are not.
    """
    if isinstance(node, TField | TStep | TAggregate | TLink):
        return False
    if isinstance(node, TUserAttr):
        base = node.base
        return isinstance(base, TCall) and base.function.name == "me"
    return all(is_constant(c) for c in children(node))
