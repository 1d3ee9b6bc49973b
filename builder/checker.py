"""The seam to the expression checker of :mod:`expressions`.

``builder`` only needs one thing from the language: "check this source against this scope,
expecting this type". This module calls :func:`expressions.check` and normalises its
answer into :class:`Outcome` / :class:`Diagnostic`, so the rest of the builder does not
depend on the checker's exact result classes. The checker is never allowed to crash
validation: an unexpected exception becomes an ``internal`` diagnostic.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from expressions.scope import Scope
from expressions.types import ExprType

_check: Callable[..., Any] | None
try:  # the language package may not provide its checker yet
    from expressions import check as _imported_check  # type: ignore[attr-defined]

    _check = _imported_check
except ImportError:  # pragma: no cover - depends on the expressions package's progress
    _check = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem the checker found in an expression (positions are 1-based)."""

    code: str
    message: str
    message_zh: str
    line: int | None = None
    column: int | None = None
    end_line: int | None = None
    end_column: int | None = None
    suggestion: str | None = None  # the name meant, e.g. "amount" for a misspelt "amont"

    def detail(self) -> dict[str, Any]:
        """Positions and suggestion as a JSON-ready dict (absent values left out)."""
        out: dict[str, Any] = {}
        for name in ("line", "column", "end_line", "end_column", "suggestion"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Outcome:
    """The checker's verdict: the inferred type (None when unknown) and its diagnostics."""

    type: ExprType | None
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the expression checked without diagnostics."""
        return not self.diagnostics


def available() -> bool:
    """Whether :func:`expressions.check` exists in this installation."""
    return _check is not None


def check_source(
    source: str,
    scope: Scope,
    *,
    expect: ExprType | None = None,
    require_sql: bool = False,
) -> Outcome:
    """Check ``source`` against ``scope``; never raises.

    Without a checker the outcome is an unknown type and no diagnostics.
    """
    if _check is None:
        return Outcome(None)
    try:
        result = _check(source, scope, expect=expect, require_sql=require_sql)
    except Exception as exc:  # a checker bug must not turn into a 500 for the designer
        return Outcome(
            None,
            (
                Diagnostic(
                    "internal",
                    f"the expression could not be checked ({exc.__class__.__name__})",
                    f"无法检查该表达式({exc.__class__.__name__})",
                ),
            ),
        )
    return _normalise(result)


def _normalise(result: Any) -> Outcome:
    raw = getattr(result, "diagnostics", None)
    if raw is None and isinstance(result, list | tuple):
        raw = result
    diagnostics = tuple(_diagnostic(d) for d in (raw or ()))
    inferred = getattr(result, "type", None)
    if not isinstance(inferred, ExprType):
        inferred = None
    return Outcome(inferred, diagnostics)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_SUGGESTED = re.compile(r"did you mean `([^`]+)`\?")


def _suggested(value: Any) -> str | None:
    """The suggested name alone ("amount"), from the language's "did you mean `amount`?"."""
    if value is None:
        return None
    text = str(value)
    match = _SUGGESTED.search(text)
    return match.group(1) if match else text


def _diagnostic(raw: Any) -> Diagnostic:
    code = str(getattr(raw, "code", "invalid"))
    message = str(getattr(raw, "message", None) or getattr(raw, "message_en", None) or code)
    message_zh = str(getattr(raw, "message_zh", None) or message)
    suggestion = getattr(raw, "suggestion", None)
    start = getattr(raw, "start", None)
    end = getattr(raw, "end", None)
    return Diagnostic(
        code=code,
        message=message,
        message_zh=message_zh,
        line=_int_or_none(getattr(raw, "line", None) or getattr(start, "line", None)),
        column=_int_or_none(getattr(raw, "column", None) or getattr(start, "column", None)),
        end_line=_int_or_none(getattr(raw, "end_line", None) or getattr(end, "line", None)),
        end_column=_int_or_none(getattr(raw, "end_column", None) or getattr(end, "column", None)),
        suggestion=_suggested(suggestion),
    )


# Text and comments are blanked before looking for names, so "steps.x" inside a string
# literal or after "#" is not mistaken for a reference.
_STRING_OR_COMMENT = re.compile(r'"(?:\\.|[^"\\])*"?|\'(?:\\.|[^\'\\])*\'?|#[^\n]*')
_STEP_REF = re.compile(r"(?<![\w.])steps\s*\.\s*([a-z][a-z0-9_]*)")
_BARE_NAME = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)\b(?!\s*[(.\w])")


@dataclass(frozen=True, slots=True)
class References:
    """The names an expression uses on its own record.

    ``steps`` are the ``steps.<key>`` it names; ``names`` the fields (or collections) of
    the record it reads directly — names inside a ``where`` condition belong to the related
    records and are left out, except ``parent.<field>``.
    """

    steps: frozenset[str]
    names: frozenset[str]


@lru_cache(maxsize=4096)
def references(source: str) -> References:
    """The references of ``source``: from its syntax tree, or textually if it won't parse.

    Cached: a record write asks it of every derived expression of each parent it links to.
    """
    found = _ast_references(source)
    if found is not None:
        return found
    code = _code_only(source)
    return References(frozenset(_STEP_REF.findall(code)), frozenset(_BARE_NAME.findall(code)))


def step_references(source: str) -> frozenset[str]:
    """The step keys ``source`` names as ``steps.<key>``."""
    return references(source).steps


def _code_only(source: str) -> str:
    return _STRING_OR_COMMENT.sub(lambda m: " " * len(m.group(0)), source)


def _ast_references(source: str) -> References | None:
    try:
        from expressions import ast
        from expressions.limits import prescan
        from expressions.parser import parse

        if prescan(source):
            return None
        tree, diagnostics = parse(source)
    except Exception:  # the parser's API is not ours; fall back to the textual scan
        return None
    if tree is None or diagnostics:
        return None
    steps: set[str] = set()
    names: set[str] = set()
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, nested = stack.pop()
        if isinstance(node, tuple):
            stack.extend((item, nested) for item in node)
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.Member) and isinstance(node.base, ast.Name):
            if node.base.name == "steps" and not nested:
                steps.add(node.name)
            elif node.base.name == "parent" and nested:
                names.add(node.name)
        if isinstance(node, ast.Name) and not nested:
            names.add(node.name)
        if isinstance(node, ast.Where):
            stack.append((node.collection, nested))
            stack.append((node.condition, True))
            continue
        for spec in fields(node):
            if spec.name != "span":
                stack.append((getattr(node, spec.name), nested))
    names.discard("steps")
    names.discard("parent")
    return References(frozenset(steps), frozenset(names))
