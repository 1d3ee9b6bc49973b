"""The syntax tree: frozen nodes with source spans, built by :mod:`expressions.parser`.

Operator chains of one precedence level (``a + b - c``, ``a and b and c``) are kept flat so
that no pass over the tree recurses once per operand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Span:
    """A source range: 1-based line/column of the start and of just past the end."""

    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    @staticmethod
    def at(source: str, start: int, end: int) -> Span:
        """The span of ``source[start:end]``."""
        line = source.count("\n", 0, start) + 1
        column = start - (source.rfind("\n", 0, start) + 1) + 1
        end_line = source.count("\n", 0, end) + 1
        end_column = end - (source.rfind("\n", 0, end) + 1) + 1
        return Span(line, column, end_line, end_column, start, end)


@dataclass(frozen=True, slots=True)
class Node:
    """Base of every syntax node."""

    span: Span


LiteralValue = int | Decimal | str | bool | timedelta | None


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """``42``, ``3.25``, ``"text"``, ``true``, ``null``, ``48h``; ``kind`` names which."""

    value: LiteralValue
    kind: str  # integer, decimal, text, boolean, null, duration


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    """``[a, b, c]``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Name(Node):
    """A bare name: a field, a collection, ``steps``, ``parent``."""

    name: str


@dataclass(frozen=True, slots=True)
class Member(Node):
    """``base.name``."""

    base: Node
    name: str
    name_span: Span


@dataclass(frozen=True, slots=True)
class Where(Node):
    """``collection where condition`` (only as an aggregate's argument)."""

    collection: Node
    condition: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """``name(arg, ...)``."""

    name: str
    name_span: Span
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    """``-x`` or ``not x``."""

    op: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """``first op1 x1 op2 x2 ...`` for ``+ -`` or ``* / %`` (left-associative)."""

    first: Node
    rest: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``left op right`` for ``== != < <= > >= in not_in``."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    """``a and b and ...`` / ``a or b or ...``."""

    op: str
    operands: tuple[Node, ...]
