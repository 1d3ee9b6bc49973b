"""Size limits, checked on the raw text before it reaches the parser.

Lark's LALR parser is iterative but the tree transformer and every later pass recurse
once per nesting level, so nesting is measured here with a linear scan that cannot
recurse, and refused as ``too_complex`` before anything else runs.
"""

from __future__ import annotations

from expressions import diagnostics
from expressions.ast import Span
from expressions.diagnostics import Diagnostic

MAX_SOURCE_CHARS = 4_000
MAX_DEPTH = 64
MAX_LIST_ITEMS = 1_000
MAX_NODES = 2_000
MAX_TEXT_CHARS = 1_000_000  # text results longer than this are null
MAX_TEXT_LITERAL = 4_000
MAX_INTEGER = 2**63 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # integer results outside this range are null
MAX_DURATION_SECONDS = 999_999_999 * 86_400  # ±999,999,999 days; longer results are null
DECIMAL_PRECISION = 100_000  # significant digits of exact decimal arithmetic in Python
MAX_DECIMAL_DIGITS = 28
MAX_ROUND_DIGITS = 18
MAX_SQL_DEPTH = 30  # nesting of the SQL form (SQLite's parser stack holds about 32)

_OPEN = "(["
_CLOSE = ")]"
_BINARY_CHARS = set("+*/%<>=!,")
_RESETTING_WORDS = {"and", "or", "in", "where"}
_PREFIX_WORDS = {"not"}


def prescan(source: str) -> list[Diagnostic]:
    """Length and nesting-depth problems of ``source`` (empty when within limits).

    Depth counts open brackets plus the prefix operators (``-``, ``not``) and member
    accesses (``.``) still applying at a point; a binary operator ends those before it.
    """
    if len(source) > MAX_SOURCE_CHARS:
        span = Span.at(source, 0, min(len(source), 1))
        return [
            diagnostics.make("too_complex.length", span, length=len(source), limit=MAX_SOURCE_CHARS)
        ]
    # Every level of depth is opened by one of these characters or by the word ``not``,
    # so when there are at most MAX_DEPTH of them in all the depth cannot be exceeded.
    if (
        source.count("(")
        + source.count("[")
        + source.count("-")
        + source.count(".")
        + source.count("not")
        <= MAX_DEPTH
    ):
        return []
    levels: list[int] = [0]  # pending prefix operators per bracket level
    depth = 0
    previous = ""  # "operand", "operator" or "" (start)
    i = 0
    n = len(source)
    while i < n:
        ch = source[i]
        if ch in "\"'":
            j = i + 1
            while j < n and source[j] != ch and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            i = j + 1
            previous = "operand"
            continue
        if ch == "#":
            j = source.find("\n", i)
            i = n if j < 0 else j
            continue
        if ch in _OPEN:
            levels.append(0)
            previous = "operator"
        elif ch in _CLOSE:
            if len(levels) > 1:
                levels.pop()
            previous = "operand"
        elif ch == "-":
            if previous in ("", "operator"):
                levels[-1] += 1
            else:
                levels[-1] = 0
            previous = "operator"
        elif ch == ".":  # member access nests too: ``a.b.c`` is three levels deep
            levels[-1] += 1
            previous = "operator"
        elif ch in _BINARY_CHARS:
            levels[-1] = 0
            previous = "operator"
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (source[j].isalnum() or source[j] == "_"):
                j += 1
            word = source[i:j]
            if word in _PREFIX_WORDS and source[j : j + 3].strip()[:2] != "in":
                levels[-1] += 1
                previous = "operator"
            elif word in _RESETTING_WORDS or word == "not":
                levels[-1] = 0
                previous = "operator"
            else:
                previous = "operand"
            if len(levels) - 1 + sum(levels) > MAX_DEPTH:
                return [
                    diagnostics.make("too_complex.depth", Span.at(source, i, j), limit=MAX_DEPTH)
                ]
            i = j
            continue
        elif ch.isdigit():
            previous = "operand"
        current = len(levels) - 1 + sum(levels)
        if current > depth:
            depth = current
            if depth > MAX_DEPTH:
                return [
                    diagnostics.make(
                        "too_complex.depth", Span.at(source, i, i + 1), limit=MAX_DEPTH
                    )
                ]
        i += 1
    return []
