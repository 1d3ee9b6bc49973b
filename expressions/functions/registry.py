"""The function registry: each library function with its overloads and implementations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    INTEGER,
    LOCATION,
    NULL,
    TEXT,
    USER,
    ExprType,
    ListType,
    list_of,
)

#: Parameter patterns an overload may use, and the types each admits.
_PATTERNS: dict[str, Callable[[ExprType], bool]] = {
    "any": lambda t: not t.name == "collection",
    "integer": lambda t: t == INTEGER,
    "number": lambda t: t in (INTEGER, DECIMAL),
    "text": lambda t: t == TEXT,
    "boolean": lambda t: t == BOOLEAN,
    "date": lambda t: t == DATE,
    "datetime": lambda t: t == DATETIME,
    "temporal": lambda t: t in (DATE, DATETIME),
    "duration": lambda t: t == DURATION,
    "location": lambda t: t == LOCATION,
    "user": lambda t: t == USER,
    "ordered": lambda t: t in (INTEGER, DECIMAL, TEXT, DATE, DATETIME, DURATION),
    "list<text>": lambda t: isinstance(t, ListType) and t.item in (TEXT, NULL),
    "list": lambda t: isinstance(t, ListType),
}


def unify(a: ExprType, b: ExprType) -> ExprType | None:
    """The common type of ``a`` and ``b`` (integer widens to decimal; null joins all)."""
    if a == b:
        return a
    if a == NULL:
        return b
    if b == NULL:
        return a
    if {a, b} == {INTEGER, DECIMAL}:
        return DECIMAL
    if isinstance(a, ListType) and isinstance(b, ListType):
        item = unify(a.item, b.item)
        return None if item is None else list_of(item)
    return None


def unify_all(types: list[ExprType]) -> ExprType | None:
    """The common type of all ``types``."""
    result: ExprType | None = NULL
    for t in types:
        if result is None:
            return None
        result = unify(result, t)
    return result


Returns = ExprType | Callable[[list[ExprType]], ExprType | None]


@dataclass(frozen=True)
class Overload:
    """One signature: parameter patterns (the last repeats if ``variadic``) and result."""

    params: tuple[str, ...]
    returns: Returns
    variadic: bool = False
    optional: int = 0  # how many trailing params may be left out

    def matches(self, args: list[ExprType]) -> bool:
        """Whether argument types ``args`` fit this overload (null fits any pattern)."""
        n = len(self.params)
        if self.variadic:
            if len(args) < n:
                return False
        elif not n - self.optional <= len(args) <= n:
            return False
        for i, t in enumerate(args):
            pattern = self.params[min(i, n - 1)]
            if t != NULL and not _PATTERNS[pattern](t):
                return False
        return True

    def result(self, args: list[ExprType]) -> ExprType | None:
        """The result type for ``args`` (None when they cannot be combined)."""
        if isinstance(self.returns, ExprType):
            return self.returns
        return self.returns(args)

    def describe(self, name: str) -> str:
        """``name(p1, p2, ...)`` for messages and documentation."""
        params = list(self.params)
        if self.variadic:
            params.append("...")
        return f"{name}({', '.join(params)})"


SqlImpl = Callable[..., Any]


@dataclass(frozen=True)
class Function:
    """A library function.

    ``kind`` is ``scalar`` (arguments evaluated, then ``py`` called), ``lazy`` (``if``,
    ``coalesce``: compiled specially), ``context`` (reads the evaluation context:
    ``now``, ``today``, ``me``, ``has_role``) or ``aggregate`` (over a collection).
    ``py`` takes the argument values (and the time zone first when ``needs_tz``).
    ``sql`` builds the SQLAlchemy form, or is None when the function has none.
    """

    name: str
    overloads: tuple[Overload, ...]
    py: Callable[..., Any] | None
    sql: SqlImpl | None = None
    kind: str = "scalar"
    needs_tz: bool = False
    nullable: bool = True
    doc: str = ""
    example: str = ""

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and other.name == self.name

    def arities(self) -> str:
        """A human description of the allowed argument counts."""
        counts: set[str] = set()
        for o in self.overloads:
            n = len(o.params)
            if o.variadic:
                counts.add(f"{n} or more")
            elif o.optional:
                counts.add(f"{n - o.optional}–{n}")
            else:
                counts.add(str(n))
        return " or ".join(sorted(counts))


@dataclass
class Registry:
    """Functions by name."""

    functions: dict[str, Function] = field(default_factory=dict)

    def add(self, function: Function) -> Function:
        """Register ``function`` (names are unique)."""
        if function.name in self.functions:
            raise ValueError(f"duplicate function {function.name}")
        self.functions[function.name] = function
        return function

    def get(self, name: str) -> Function | None:
        """The function called ``name``, or None."""
        return self.functions.get(name)

    def names(self) -> list[str]:
        """All function names, sorted."""
        return sorted(self.functions)


def same_as_args(args: list[ExprType]) -> ExprType | None:
    """Result type rule: the common type of all arguments."""
    return unify_all(args)


def same_as_first(args: list[ExprType]) -> ExprType | None:
    """Result type rule: the type of the first argument."""
    return args[0] if args else None
