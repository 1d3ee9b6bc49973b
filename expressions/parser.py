"""Source text to syntax tree: lark LALR parsers (built once), building the tree as they parse.

Two grammars: grammar_flat.lark parses every valid text, with the binary operators in one
flat rule that the builder arranges by precedence; grammar.lark, with a rule per
precedence level, defines the language. A text the flat parse does not take (a syntax
error, a bad literal, or a text only the flat grammar accepts, such as ``a < b < c``) is
parsed again by grammar.lark, whose result is then the answer, diagnostics included.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterator
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


class _SyntaxProblem(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


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


class _Layered(Exception):
    """The flat parse met a text that grammar.lark does not accept (``a < b < c``)."""


class _Paren:
    """``( node )``: the node, and the span of the whole including the brackets.

    A parenthesised operand widens its parent's span to the brackets, so it travels up
    wrapped until the rule that uses it; the node itself keeps the span without them.
    """

    __slots__ = ("node", "span")

    def __init__(self, node: a.Node, span: a.Span) -> None:
        self.node = node
        self.span = span


def _inner(value: Any) -> Any:
    return value.node if type(value) is _Paren else value


def _cover(first: Any, last: Any) -> a.Span:
    """From the start of ``first`` to the end of ``last`` (nodes or bracketed nodes)."""
    s = first.span
    e = last.span
    return a.Span(s.line, s.column, e.end_line, e.end_column, s.start, e.end)


def _from_token(token: Any, last: Any) -> a.Span:
    """From the start of ``token`` to the end of ``last``."""
    e = last.span
    return a.Span(token.line, token.column, e.end_line, e.end_column, token.start_pos, e.end)


def _tokens(first: Any, last: Any) -> a.Span:
    """From the start of token ``first`` to the end of token ``last``."""
    return a.Span(
        first.line, first.column, last.end_line, last.end_column, first.start_pos, last.end_pos
    )


_OR, _AND, _NOT, _COMPARE, _ARITH, _TERM, _NEG = 1, 2, 3, 4, 5, 6, 7
_LEVELS = {
    "OR": _OR,
    "AND": _AND,
    "COMP_OP": _COMPARE,
    "IN": _COMPARE,
    "PLUS": _ARITH,
    "MINUS": _ARITH,
    "MUL_OP": _TERM,
}


def _close(frame: list[Any], last: Any) -> a.Node:
    """The node of an open operation of :meth:`_Builder.expr` whose last operand is ``last``."""
    level, first, items, op = frame
    if level >= _ARITH:
        items.append((op, _inner(last)))
        return a.Chain(_cover(first, last), _inner(first), tuple(items))
    if level == _COMPARE:
        return a.Compare(_cover(first, last), op, _inner(first), _inner(last))
    if level == _NOT:
        return a.Unary(_from_token(first, last), "not", _inner(last))
    items.append(_inner(last))
    return a.BoolOp(_cover(first, last), op, tuple(items))


class _Builder:
    """Builds :mod:`expressions.ast` nodes while lark parses (an inline transformer).

    Lark calls the method named after a rule (or its alias) with the rule's children as
    each reduction happens, so no intermediate parse tree is made and nothing recurses.
    A node's span runs from the first to the last token of its rule, brackets around an
    operand included (what lark's ``propagate_positions`` computed before): the rules
    marked ``!`` in the grammar keep their keyword and bracket tokens for this.
    Bad literals raise _SyntaxProblem. Serves both grammars: ``expr`` is the flat rule of
    grammar_flat.lark, ``or_test`` … ``neg`` are the precedence levels of grammar.lark.
    """

    def expr(self, children: list[Any]) -> Any:
        """A flat sequence of operands and operators (grammar_flat.lark), by precedence.

        Operator-precedence parsing without recursion: ``stack`` holds the operations
        still open, each ``[level, first operand, operands or (op, operand) pairs so far,
        pending operator]``, lowest level at the bottom; an operator closes the ones of a
        higher level. Nodes and spans are exactly those grammar.lark's rules build.
        Raises _Layered for what grammar.lark rejects: a second comparison in one
        comparison, or ``not`` after a comparison, arithmetic operator or unary minus.
        """
        stack: list[list[Any]] = []
        negs: list[Token] = []  # unary minuses before the next operand
        cur: Any = None
        after = 0  # level of the operator just before a prefix; 0 at the start
        i = 0
        n = len(children)
        while i < n:
            child = children[i]
            i += 1
            if type(child) is Token:  # a prefix operator
                if child.type == "MINUS":
                    negs.append(child)
                    after = _NEG
                elif after <= _NOT:
                    stack.append([_NOT, child, None, None])
                    after = _NOT
                else:  # `a + not b`, `a == not b`, `-not a`
                    raise _Layered
                continue
            cur = child
            while negs:
                cur = a.Unary(_from_token(negs[-1], cur), "-", _inner(cur))
                negs.pop()
            if i == n:
                break
            op = children[i]
            i += 1
            kind = op.type
            if kind == "NOT":  # `not in`
                i += 1
                level = _COMPARE
                name = "not in"
            else:
                level = _LEVELS[kind]
                name = str(op)
            while stack and stack[-1][0] > level:
                cur = _close(stack.pop(), cur)
            if stack and stack[-1][0] == level:
                frame = stack[-1]
                if level >= _ARITH:
                    frame[2].append((frame[3], _inner(cur)))
                    frame[3] = name
                elif level == _COMPARE:  # `a < b < c`
                    raise _Layered
                else:
                    frame[2].append(_inner(cur))
            elif level >= _ARITH:
                stack.append([level, cur, [], name])
            elif level == _COMPARE:
                stack.append([level, cur, None, name])
            else:
                stack.append([level, cur, [_inner(cur)], name])
            after = level
        while stack:
            cur = _close(stack.pop(), cur)
        return cur

    def or_test(self, children: list[Any]) -> a.Node:
        return a.BoolOp(
            _cover(children[0], children[-1]), "or", tuple([_inner(c) for c in children])
        )

    def and_test(self, children: list[Any]) -> a.Node:
        return a.BoolOp(
            _cover(children[0], children[-1]), "and", tuple([_inner(c) for c in children])
        )

    def not_(self, children: list[Any]) -> a.Node:
        return a.Unary(_from_token(children[0], children[1]), "not", _inner(children[1]))

    def compare(self, children: list[Any]) -> a.Node:
        left, op, right = children
        return a.Compare(_cover(left, right), str(op), _inner(left), _inner(right))

    def in_(self, children: list[Any]) -> a.Node:
        left, right = children
        return a.Compare(_cover(left, right), "in", _inner(left), _inner(right))

    def not_in(self, children: list[Any]) -> a.Node:
        left, right = children
        return a.Compare(_cover(left, right), "not in", _inner(left), _inner(right))

    def _chain(self, children: list[Any]) -> a.Node:
        rest = tuple(
            [(str(children[i]), _inner(children[i + 1])) for i in range(1, len(children), 2)]
        )
        return a.Chain(_cover(children[0], children[-1]), _inner(children[0]), rest)

    arith = _chain
    term = _chain

    def neg(self, children: list[Any]) -> a.Node:
        return a.Unary(_from_token(children[0], children[1]), "-", _inner(children[1]))

    def member(self, children: list[Any]) -> a.Node:
        base, _, name = children
        s = base.span
        span = a.Span(s.line, s.column, name.end_line, name.end_column, s.start, name.end_pos)
        return a.Member(span, _inner(base), str(name), _tspan(name))

    def call(self, children: list[Any]) -> a.Node:
        name, _, arglist, close = children
        args = tuple(arglist) if arglist is not None else ()
        return a.Call(_tokens(name, close), str(name), _tspan(name), args)

    def arglist(self, children: list[Any]) -> list[a.Node]:
        return [_inner(c) for c in children if c is not None]

    exprlist = arglist

    def where_arg(self, children: list[Any]) -> a.Node:
        collection, condition = children
        return a.Where(_cover(collection, condition), _inner(collection), _inner(condition))

    def atom(self, children: list[Any]) -> _Paren:
        """``( expr )``."""
        return _Paren(_inner(children[1]), _tokens(children[0], children[2]))

    def name(self, children: list[Token]) -> a.Node:
        token = children[0]
        return a.Name(_tokens(token, token), str(token))

    def int_lit(self, children: list[Token]) -> a.Node:
        token = children[0]
        span = _tokens(token, token)
        text = str(token)
        digits = text.replace("_", "")
        if len(digits) > 19 or int(digits) > MAX_INTEGER:
            raise _SyntaxProblem(
                diagnostics.make("too_complex.integer", span, text=text[:40], limit=MAX_INTEGER)
            )
        return a.Literal(span, int(digits), "integer")

    def dec_lit(self, children: list[Token]) -> a.Node:
        token = children[0]
        span = _tokens(token, token)
        text = str(token)
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

    def dur_lit(self, children: list[Token]) -> a.Node:
        token = children[0]
        span = _tokens(token, token)
        text = str(token)
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

    def str_lit(self, children: list[Token]) -> a.Node:
        token = children[0]
        span = _tokens(token, token)
        raw = str(token)
        if len(raw) > MAX_TEXT_LITERAL + 2:
            raise _SyntaxProblem(diagnostics.make("too_complex.text", span, limit=MAX_TEXT_LITERAL))
        return a.Literal(span, _unescape(raw[1:-1], span), "text")

    def true_lit(self, children: list[Token]) -> a.Node:
        return a.Literal(_tokens(children[0], children[0]), True, "boolean")

    def false_lit(self, children: list[Token]) -> a.Node:
        return a.Literal(_tokens(children[0], children[0]), False, "boolean")

    def null_lit(self, children: list[Token]) -> a.Node:
        return a.Literal(_tokens(children[0], children[0]), None, "null")

    def list_lit(self, children: list[Any]) -> a.Node:
        open_, exprlist, close = children
        span = _tokens(open_, close)
        items = tuple(exprlist) if exprlist is not None else ()
        if len(items) > MAX_LIST_ITEMS:
            raise _SyntaxProblem(diagnostics.make("too_complex.list", span, limit=MAX_LIST_ITEMS))
        return a.ListLiteral(span, items)


class _Lexer(lark.lexer.Lexer):
    """Lark's basic lexer in one tight loop: same terminals, order, keywords and positions.

    Built from the grammar's terminals by lark's own rules: terminals tried by priority,
    then longest possible match, then longest pattern, then name, in a single regular
    expression; a string terminal that a pattern terminal of the same priority also
    matches (a keyword such as ``and`` against ``NAME``) becomes a retyping of that
    pattern's tokens. ``tests/unit/expressions`` pins the diagnostics it feeds.
    """

    def __init__(self, conf: Any) -> None:
        flags = conf.g_regex_flags
        terminals = sorted(
            conf.terminals,
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        strings = [t for t in terminals if isinstance(t.pattern, lark.lexer.PatternStr)]
        self.keywords: dict[str, dict[str, str]] = {}
        embedded = set()
        for pattern in terminals:
            if not isinstance(pattern.pattern, lark.lexer.PatternRE):
                continue
            regexp = pattern.pattern.to_regexp()
            for string in strings:
                text = string.pattern.value
                if string.priority != pattern.priority:
                    continue
                found = re.match(regexp, text, flags)
                if found is not None and found.group(0) == text:
                    self.keywords.setdefault(pattern.name, {})[text] = string.name
                    if string.pattern.flags <= pattern.pattern.flags:
                        embedded.add(string.name)
        kept = [t for t in terminals if t.name not in embedded]
        self.regex = re.compile(
            "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in kept), flags
        )
        self.ignore = frozenset(conf.ignore)
        self.multiline = frozenset(t.name for t in kept if _may_span_lines(t.pattern.to_regexp()))
        self.allowed = {t.name for t in kept} - self.ignore

    def lex(self, text: str, parser_state: Any = None) -> Iterator[Token]:  # type: ignore[override]
        match = self.regex.match
        ignore = self.ignore
        multiline = self.multiline
        keywords = self.keywords
        # Token() minus its check for a deprecated keyword, where this lark has it.
        new_token = getattr(Token, "_future_new", Token)
        pos = 0
        line = 1
        line_start = 0
        length = len(text)
        while pos < length:
            found = match(text, pos)
            if found is None:
                raise lark.exceptions.UnexpectedCharacters(
                    text, pos, line, pos - line_start + 1, allowed=self.allowed
                )
            kind: Any = found.lastgroup
            value = found.group(0)
            end = found.end()
            column = pos - line_start + 1
            start_line = line
            if kind in multiline:
                newlines = value.count("\n")
                if newlines:
                    line += newlines
                    line_start = pos + value.rindex("\n") + 1
            if kind not in ignore:
                if kind in keywords:
                    kind = keywords[kind].get(value, kind)
                yield new_token(
                    kind, value, pos, start_line, column, line, end - line_start + 1, end
                )
            pos = end


def _may_span_lines(regexp: str) -> bool:
    """Lark's test for a terminal that may contain a line break."""
    return (
        "\n" in regexp
        or "\\n" in regexp
        or "\\s" in regexp
        or "[^" in regexp
        or ("(?s" in regexp and "." in regexp)
    )


def _grammar(name: str = "grammar.lark") -> str:
    return resources.files("expressions").joinpath(name).read_text("utf-8")


def _building_parser(grammar: str) -> lark.Lark:
    """An LALR parser for ``grammar`` that builds the syntax tree as it goes.

    The freshly built parser is saved and loaded back, in memory (20-40 ms more, once): the
    loaded tables are keyed by plain strings where the built ones hold lark ``Token``
    objects, whose Python-level ``__eq__`` runs on every reduction (about 10% of a parse).
    """
    built = lark.Lark(
        grammar, parser="lalr", lexer=_Lexer, maybe_placeholders=True, transformer=_Builder()
    )
    buffer = io.BytesIO()
    built.save(buffer)
    buffer.seek(0)
    loaded = lark.Lark.load(buffer)
    _key_callbacks_by_table_rules(loaded)
    return loaded


def _key_callbacks_by_table_rules(parser: lark.Lark) -> None:
    """Key the reduction callbacks by the very rule objects of the parse table.

    Loading gives the table and the callbacks equal but distinct rule objects, so finding
    a rule's callback (on every reduction) ran lark's Python-level ``Rule.__eq__``; with
    the table's own objects as keys the dictionary matches them by identity. Skipped if
    lark's internals are laid out otherwise (the parser is then only a little slower).
    """
    inner: Any = getattr(getattr(getattr(parser, "parser", None), "parser", None), "parser", None)
    callbacks = getattr(inner, "callbacks", None)
    table = getattr(inner, "parse_table", None)
    if not isinstance(callbacks, dict) or table is None:  # pragma: no cover - other lark
        return
    rekeyed = dict(callbacks)
    for actions in table.states.values():
        for _, arg in actions.values():
            if isinstance(arg, lark.grammar.Rule) and arg in rekeyed:
                rekeyed[arg] = rekeyed.pop(arg)
    inner.callbacks = rekeyed


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    """The fast parser (grammar_flat.lark), built once per process."""
    return _building_parser(_grammar("grammar_flat.lark"))


@lru_cache(maxsize=1)
def _layered_parser() -> lark.Lark:
    """The parser of grammar.lark, which defines the language and its syntax errors.

    Built only when a text fails the fast parse, once per process.
    """
    return _building_parser(_grammar())


@lru_cache(maxsize=1)
def _plain_parser() -> lark.Lark:
    """grammar.lark's parser building nothing: to look for a syntax error past a bad literal."""
    return lark.Lark(_grammar(), parser="lalr", lexer="basic", maybe_placeholders=True)


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
    if not source.strip() or (
        "#" in source
        and all(line.strip().startswith("#") or not line.strip() for line in source.splitlines())
    ):
        return None, (diagnostics.make("syntax.empty", a.Span.at(source, 0, len(source))),)
    try:
        node = _inner(_parser().parse(source))
    except (lark.exceptions.UnexpectedInput, _SyntaxProblem, _Layered):
        # Whatever is wrong with the text (or with a literal in it), grammar.lark's parser
        # says it, exactly as it would have alone: the fast parser only builds trees.
        return _parse_layered(source)
    if not isinstance(node, a.Node):  # pragma: no cover - every rule builds a node
        raise TypeError("unexpected parse result")
    return node, ()


def _parse_layered(source: str) -> tuple[a.Node | None, tuple[Diagnostic, ...]]:
    """:func:`parse` by grammar.lark, for the texts the fast parser does not take."""
    try:
        node = _inner(_layered_parser().parse(source))
    except lark.exceptions.UnexpectedInput as err:
        return None, (_syntax_diagnostic(source, err),)
    except _SyntaxProblem as problem:
        # A syntax error anywhere takes precedence over a bad literal before it.
        try:
            _plain_parser().parse(source)
        except lark.exceptions.UnexpectedInput as err:
            return None, (_syntax_diagnostic(source, err),)
        return None, (problem.diagnostic,)
    if not isinstance(node, a.Node):  # pragma: no cover - every rule builds a node
        raise TypeError("unexpected parse result")
    return node, ()
