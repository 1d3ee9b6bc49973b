"""Source text to syntax tree: the lark LALR parser (built once) and its transformer."""

from __future__ import annotations

import unicodedata
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Any

import lark
from lark import Token

from expressions import ast as a
from expressions import diagnostics
from expressions.diagnostics import Diagnostic
from expressions.limits import (
    MAX_DECIMAL_DIGITS,
    MAX_INTEGER,
    MAX_LIST_ITEMS,
    MAX_TEXT_LITERAL,
)

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
_TOKEN_NAMES = {
    "NAME": "a name",
    "INT": "a number",
    "DECIMAL": "a number",
    "DURATION": "a duration",
    "STRING": "a text",
    "COMP_OP": "a comparison",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "MUL_OP": "`*`, `/` or `%`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LBRACKET": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "DOT": "`.`",
    "$END": "the end",
}


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = resources.files("expressions").joinpath("grammar.lark").read_text("utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="basic",
        propagate_positions=True,
        maybe_placeholders=True,
    )


class _SyntaxProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _span(meta: Any) -> a.Span:
    return a.Span(
        meta.line, meta.column, meta.end_line, meta.end_column, meta.start_pos, meta.end_pos
    )


def _tspan(token: Token) -> a.Span:
    return a.Span(
        token.line or 1,
        token.column or 1,
        token.end_line or 1,
        token.end_column or 1,
        token.start_pos or 0,
        token.end_pos or 0,
    )


def _unescape(body: str, span: a.Span) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        if nxt == "u":
            digits = body[i + 2 : i + 6]
            if len(digits) == 4 and all(c in "0123456789abcdefABCDEF" for c in digits):
                code = int(digits, 16)
                if not 0xD800 <= code <= 0xDFFF:
                    out.append(chr(code))
                    i += 6
                    continue
            raise _SyntaxProblem(
                diagnostics.make("syntax.bad_escape", span, escape=body[i : i + 6])
            )
        raise _SyntaxProblem(diagnostics.make("syntax.bad_escape", span, escape="\\" + nxt))
    return "".join(out)


class _ToAst:
    """Builds :mod:`expressions.ast` nodes; raises _SyntaxProblem for bad literals.

    Each method takes the rule's position metadata and its already-built children. The
    walk (:meth:`build`) is a plain recursive dispatch on the rule name, cheaper than
    lark's generic Transformer; its depth is bounded by :func:`expressions.limits.prescan`.
    """

    def build(self, tree: lark.Tree[Token]) -> Any:
        """The node for ``tree``."""
        children = [self.build(c) if isinstance(c, lark.Tree) else c for c in tree.children]
        method = getattr(self, str(tree.data))
        return method(tree.meta, children)

    def or_test(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.BoolOp(_span(meta), "or", tuple(children))

    def and_test(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.BoolOp(_span(meta), "and", tuple(children))

    def not_(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.Unary(_span(meta), "not", children[0])

    def compare(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Compare(_span(meta), str(children[1]), children[0], children[2])

    def in_(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.Compare(_span(meta), "in", children[0], children[1])

    def not_in(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.Compare(_span(meta), "not in", children[0], children[1])

    def _chain(self, meta: Any, children: list[Any]) -> a.Node:
        rest = tuple((str(children[i]), children[i + 1]) for i in range(1, len(children), 2))
        return a.Chain(_span(meta), children[0], rest)

    arith = _chain
    term = _chain

    def neg(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Unary(_span(meta), "-", children[1])

    def member(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Member(_span(meta), children[0], str(children[1]), _tspan(children[1]))

    def call(self, meta: Any, children: list[Any]) -> a.Node:
        name: Token = children[0]
        args = tuple(children[1]) if children[1] is not None else ()
        return a.Call(_span(meta), str(name), _tspan(name), args)

    def arglist(self, meta: Any, children: list[Any]) -> list[a.Node]:
        return [c for c in children if c is not None]

    exprlist = arglist

    def where_arg(self, meta: Any, children: list[a.Node]) -> a.Node:
        return a.Where(_span(meta), children[0], children[1])

    def name(self, meta: Any, children: list[Token]) -> a.Node:
        return a.Name(_span(meta), str(children[0]))

    def int_lit(self, meta: Any, children: list[Token]) -> a.Node:
        span = _span(meta)
        text = str(children[0])
        digits = text.replace("_", "")
        if len(digits) > 19 or int(digits) > MAX_INTEGER:
            raise _SyntaxProblem(
                diagnostics.make("too_complex.integer", span, text=text[:40], limit=MAX_INTEGER)
            )
        return a.Literal(span, int(digits), "integer")

    def dec_lit(self, meta: Any, children: list[Token]) -> a.Node:
        span = _span(meta)
        text = str(children[0])
        digits = text.replace("_", "")
        significant = digits.replace(".", "").lstrip("0")
        if len(significant) > MAX_DECIMAL_DIGITS:
            raise _SyntaxProblem(
                diagnostics.make(
                    "too_complex.decimal", span, text=text[:40], limit=MAX_DECIMAL_DIGITS
                )
            )
        try:
            value = Decimal(digits)
        except InvalidOperation:  # pragma: no cover - the grammar only admits digits
            raise _SyntaxProblem(
                diagnostics.make(
                    "too_complex.decimal", span, text=text[:40], limit=MAX_DECIMAL_DIGITS
                )
            ) from None
        return a.Literal(span, value, "decimal")

    def dur_lit(self, meta: Any, children: list[Token]) -> a.Node:
        span = _span(meta)
        text = str(children[0])
        digits = text[:-1].replace("_", "")
        if len(digits) > 12:
            raise _SyntaxProblem(
                diagnostics.make("too_complex.integer", span, text=text[:40], limit=10**12)
            )
        seconds = int(digits) * _DURATION_UNITS[text[-1]]
        if seconds > 999_999_999 * 86400 // 100:  # keep far inside timedelta's range
            raise _SyntaxProblem(
                diagnostics.make("too_complex.integer", span, text=text[:40], limit=10**12)
            )
        return a.Literal(span, timedelta(seconds=seconds), "duration")

    def str_lit(self, meta: Any, children: list[Token]) -> a.Node:
        span = _span(meta)
        raw = str(children[0])
        if len(raw) > MAX_TEXT_LITERAL + 2:
            raise _SyntaxProblem(diagnostics.make("too_complex.text", span, limit=MAX_TEXT_LITERAL))
        return a.Literal(span, _unescape(raw[1:-1], span), "text")

    def true_lit(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Literal(_span(meta), True, "boolean")

    def false_lit(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Literal(_span(meta), False, "boolean")

    def null_lit(self, meta: Any, children: list[Any]) -> a.Node:
        return a.Literal(_span(meta), None, "null")

    def list_lit(self, meta: Any, children: list[Any]) -> a.Node:
        span = _span(meta)
        items = tuple(children[1]) if children[1] is not None else ()
        if len(items) > MAX_LIST_ITEMS:
            raise _SyntaxProblem(diagnostics.make("too_complex.list", span, limit=MAX_LIST_ITEMS))
        return a.ListLiteral(span, items)


_TRANSFORMER = _ToAst()


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_TOKEN_NAMES.get(e, f"`{e.lower()}`") for e in expected})
    if len(names) > 6:
        names = names[:6] + ["…"]
    return ", ".join(names) if names else "something else"


def _point(source: str, pos: int) -> a.Span:
    return a.Span.at(source, pos, min(pos + 1, len(source)) if pos < len(source) else pos)


def _syntax_diagnostic(source: str, err: lark.exceptions.UnexpectedInput) -> Diagnostic:
    if isinstance(err, lark.exceptions.UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = source[pos]
        span = _point(source, pos)
        if char == "=":
            return diagnostics.make("syntax.single_equals", span)
        suggestion = None
        word_end = pos
        while (
            word_end < len(source)
            and not source[word_end].isspace()
            and source[word_end] not in "()[],."
        ):
            word_end += 1
        folded = unicodedata.normalize("NFKC", source[pos:word_end])
        if folded != source[pos:word_end] and folded.isascii() and folded:
            suggestion = folded
        return diagnostics.make("syntax.unexpected_char", span, suggestion, char=char)
    if isinstance(err, lark.exceptions.UnexpectedToken):
        token = err.token
        expected = set(err.expected)
        if token.type == "$END":
            end = len(source.rstrip())
            return diagnostics.make(
                "syntax.unexpected_end",
                a.Span.at(source, end, end),
                expected=_describe_expected(expected),
            )
        span = _tspan(token)
        if token.type == "COMP_OP" and "COMP_OP" not in expected:
            return diagnostics.make("syntax.chained_comparison", span)
        shown = f"`{str(token)[:30]}`"
        return diagnostics.make(
            "syntax.unexpected_token", span, token=shown, expected=_describe_expected(expected)
        )
    pos = getattr(err, "pos_in_stream", 0) or 0  # pragma: no cover - other lark errors
    return diagnostics.make("syntax.unexpected_end", _point(source, pos), expected="more input")


def parse(source: str) -> tuple[a.Node | None, tuple[Diagnostic, ...]]:
    """Parse ``source`` (already within the limits of :mod:`expressions.limits`)."""
    if not source.strip() or all(
        line.strip().startswith("#") or not line.strip() for line in source.splitlines()
    ):
        return None, (diagnostics.make("syntax.empty", a.Span.at(source, 0, len(source))),)
    try:
        tree = _parser().parse(source)
    except lark.exceptions.UnexpectedInput as err:
        return None, (_syntax_diagnostic(source, err),)
    try:
        node = _TRANSFORMER.build(tree)
    except _SyntaxProblem as problem:
        return None, (problem.diagnostic,)
    if not isinstance(node, a.Node):  # pragma: no cover - every rule builds a node
        raise TypeError("unexpected parse result")
    return node, ()
