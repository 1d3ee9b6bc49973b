"""Typed tree to a Python function, by generating Python source and compiling it.

The source is generated only from the checked, typed tree: identifiers in it are names this
module makes up (``_k3``, ``_t7``, ``_p2``), never text from the expression, and every value
from the expression (field names, text, numbers) is handed over as a constant in the
function's namespace. The result runs at close to the speed of a hand-written function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import DecimalException
from typing import Any

from expressions import pyruntime, values
from expressions import typed as t
from expressions.types import BOOLEAN, DATE, DATETIME, DECIMAL, DURATION, NULL, TEXT

Evaluator = Callable[..., Any]

#: Run-time failures the generated code turns into null (a last resort: every operation
#: is already guarded; this keeps a malformed record value from escaping as an exception).
GUARDED = (ArithmeticError, DecimalException, TypeError, ValueError, OverflowError, KeyError)

_MAX_NEST = 20
_HELPERS: dict[str, Any] = {
    "_div": values.divide,
    "_mod": values.modulo,
    "_concat": values.concat,
    "_add_dur": values.add_duration,
    "_sub_times": values.subtract_times,
    "_mul_dur": values.multiply_duration,
    "_negate": values.negate,
    "_days_between": values.days_between,
    "_hours_between": values.hours_between,
    "_today": pyruntime.today,
    "_now": pyruntime.now,
    "_me_id": pyruntime.me_id,
    "_actor_attr": pyruntime.actor_attr,
    "_has_role": pyruntime.has_role,
    "_link": pyruntime.link,
    "_user_attr": pyruntime.user_attr,
    "_step": pyruntime.step,
    "_list_count": pyruntime.list_count,
    "_zero_duration": lambda v: timedelta(0) if type(v) is int and v == 0 else v,
    "_GUARDED": GUARDED,
    "_i64": values.int64,
    "_EX": values.EXACT,
}
_EXACT_OPS = {"+": "_EX.add", "-": "_EX.subtract", "*": "_EX.multiply"}
_AGGREGATES = {
    "count": pyruntime.agg_count,
    "sum": pyruntime.agg_sum,
    "avg": pyruntime.agg_avg,
    "min_of": pyruntime.agg_min_of,
    "max_of": pyruntime.agg_max_of,
    "any": pyruntime.agg_any,
    "all": pyruntime.agg_all,
    "distinct_count": pyruntime.agg_distinct_count,
    "latest": pyruntime.agg_latest,
}
_RECORD_VARS = ("r", "p")
#: Text predicates written inline (when the second argument cannot be null), for speed.
_INLINE = {
    "contains": "(({t} := {x}) is not None and {p} in {t})",
    "starts_with": "(({t} := {x}) is not None and {t}.startswith({p}))",
    "ends_with": "(({t} := {x}) is not None and {t}.endswith({p}))",
}


class _Generator:
    def __init__(self) -> None:
        self.namespace: dict[str, Any] = dict(_HELPERS)
        self.defs: list[str] = []
        self.counter = 0
        self._constants: dict[tuple[type, Any], str] = {}

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def const(self, value: Any) -> str:
        try:
            key: tuple[type, Any] | None = (type(value), value)
            if key in self._constants:
                return self._constants[key]
        except TypeError:
            key = None
        name = self.fresh("_k")
        self.namespace[name] = value
        if key is not None:
            self._constants[key] = name
        return name

    def function(self, body: str, prefix: str) -> str:
        """Define ``def name(r, ctx, p): return body`` and return its name."""
        name = self.fresh(prefix)
        self.defs.append(f"def {name}(r, ctx, p=None):\n    return {body}\n")
        return name

    # --- expressions -------------------------------------------------------------

    def emit(self, node: t.TNode) -> tuple[str, int]:
        """Python source for ``node`` and its nesting depth."""
        code, nest = self._emit(node)
        if nest > _MAX_NEST:
            return f"{self.function(code, '_g')}(r, ctx, p)", 1
        return code, nest

    def truth(self, node: t.TNode) -> tuple[str, int]:
        """Source that is exactly True or False (null counts as false)."""
        code, nest = self.emit(node)
        if node.type == NULL:
            return "False", 0
        if node.nullable or node.type != BOOLEAN:
            return f"({code} is True)", nest + 1
        return code, nest

    def _emit(self, node: t.TNode) -> tuple[str, int]:
        if isinstance(node, t.TLiteral):
            return self._literal(node.value), 0
        if isinstance(node, t.TList):
            return self._list(node)
        if isinstance(node, t.TField):
            return f"{_RECORD_VARS[node.depth]}.get({self.const(node.name)})", 1
        if isinstance(node, t.TLink):
            base, nest = self.emit(node.base)
            return (
                f"_link(ctx, {self.const(node.entity)}, {base}, {self.const(node.name)})",
                nest + 1,
            )
        if isinstance(node, t.TMe):  # pragma: no cover - me() is a TCall
            return "_me_id(ctx)", 1
        if isinstance(node, t.TUserAttr):
            base_node = node.base
            if isinstance(base_node, t.TCall) and base_node.function.name == "me":
                return f"_actor_attr(ctx, {self.const(node.name)})", 1
            base, nest = self.emit(base_node)
            return f"_user_attr(ctx, {base}, {self.const(node.name)})", nest + 1
        if isinstance(node, t.TStep):
            return (
                f"_step(ctx, {self.const(node.entity)}, {_RECORD_VARS[node.depth]}, "
                f"{self.const(node.step)}, {self.const(node.attr)})",
                1,
            )
        if isinstance(node, t.TUnary):
            return self._unary(node)
        if isinstance(node, t.TChain):
            return self._chain(node)
        if isinstance(node, t.TCompare):
            return self._compare(node)
        if isinstance(node, t.TIn):
            return self._in(node)
        if isinstance(node, t.TBool):
            parts = [self.truth(x) for x in node.operands]
            joiner = f" {node.op} "
            return f"({joiner.join(c for c, _ in parts)})", max(n for _, n in parts) + 1
        if isinstance(node, t.TCall):
            return self._call(node)
        if isinstance(node, t.TAggregate):
            return self._aggregate(node)
        raise TypeError(f"cannot compile {node!r}")  # pragma: no cover

    def _literal(self, value: Any) -> str:
        if value is None or isinstance(value, bool):
            return repr(value)
        if isinstance(value, int):
            return f"({value!r})"
        return self.const(value)

    def _list(self, node: t.TList) -> tuple[str, int]:
        if all(isinstance(i, t.TLiteral) for i in node.items):
            return self.const(tuple(i.value for i in node.items if isinstance(i, t.TLiteral))), 0
        parts = [self.emit(i) for i in node.items]
        return f"({', '.join(c for c, _ in parts)},)", max(n for _, n in parts) + 1

    def _unary(self, node: t.TUnary) -> tuple[str, int]:
        if node.op == "not":
            code, nest = self.truth(node.operand)
            return f"(not {code})", nest + 1
        code, nest = self.emit(node.operand)
        if node.operand.type == NULL:
            return "None", 0
        if node.operand.type == DURATION:
            return f"_negate({code})", nest + 1
        neg = "_EX.minus({})" if node.operand.type == DECIMAL else "_i64(-{})"
        if not node.operand.nullable:
            return neg.format(code), nest + 1
        tmp = self.fresh("_t")
        return f"(None if ({tmp} := {code}) is None else {neg.format(tmp)})", nest + 1

    def _chain(self, node: t.TChain) -> tuple[str, int]:
        acc, nest = self.emit(node.first)
        acc_type = node.first.type
        acc_nullable = node.first.nullable
        for op, operand, result in node.steps:
            right, rnest = self.emit(operand)
            acc = self._binary(op, acc, acc_type, acc_nullable, right, operand, result)
            nest = max(nest, rnest) + 1
            acc_type = result
            acc_nullable = True
            if nest > _MAX_NEST:
                acc, nest = f"{self.function(acc, '_g')}(r, ctx, p)", 1
        return acc, nest

    def _binary(
        self,
        op: str,
        left: str,
        ltype: Any,
        lnull: bool,
        right: str,
        rnode: t.TNode,
        result: Any,
    ) -> str:
        rtype = rnode.type
        if ltype == NULL or rtype == NULL or result == NULL:
            return "None"
        if result == TEXT:
            return f"_concat({left}, {right})"
        if op == "/":
            return f"_div({left}, {right})"
        if op == "%":
            return f"_mod({left}, {right})"
        if result in (DATETIME, DATE) or (result == DURATION and ltype == rtype == DURATION):
            if ltype == DURATION and rtype != DURATION:
                return f"_add_dur({right}, {left}, 1)"
            return f"_add_dur({left}, {right}, {1 if op == '+' else -1})"
        if result == DURATION and op == "-":
            return f"_sub_times({left}, {right})"
        if result == DURATION and op == "*":
            if ltype == DURATION:
                return f"_mul_dur({left}, {right})"
            return f"_mul_dur({right}, {left})"
        if result == DECIMAL:  # exact, as PostgreSQL's numeric
            fn = _EXACT_OPS[op]
            if not lnull and not rnode.nullable:
                return f"{fn}({left}, {right})"
            a, b = self.fresh("_t"), self.fresh("_t")
            return (
                f"(None if ({a} := {left}) is None or ({b} := {right}) is None else {fn}({a}, {b}))"
            )
        if not lnull and not rnode.nullable:
            return f"_i64({left} {op} {right})"
        a, b = self.fresh("_t"), self.fresh("_t")
        return (
            f"(None if ({a} := {left}) is None or ({b} := {right}) is None else _i64({a} {op} {b}))"
        )

    def _compare(self, node: t.TCompare) -> tuple[str, int]:
        left, lnest = self.emit(node.left)
        right, rnest = self.emit(node.right)
        nest = max(lnest, rnest) + 1
        op = node.op
        if op in ("==", "!="):
            return f"({left} {op} {right})", nest
        if node.left.type == NULL or node.right.type == NULL:
            return "False", 0
        if not node.left.nullable and not node.right.nullable:
            return f"({left} {op} {right})", nest
        checks = []
        if node.left.nullable:
            a = self.fresh("_t")
            checks.append(f"({a} := {left}) is not None")
            left = a
        if node.right.nullable:
            b = self.fresh("_t")
            checks.append(f"({b} := {right}) is not None")
            right = b
        return f"({' and '.join(checks)} and {left} {op} {right})", nest + 1

    def _in(self, node: t.TIn) -> tuple[str, int]:
        left, lnest = self.emit(node.left)
        right_node = node.right
        if isinstance(right_node, t.TList) and all(
            isinstance(i, t.TLiteral) for i in right_node.items
        ):
            try:
                right = self.const(
                    frozenset(i.value for i in right_node.items if isinstance(i, t.TLiteral))
                )
            except TypeError:
                right, _ = self.emit(right_node)
            rnest = 0
        else:
            code, rnest = self.emit(right_node)
            right = f"({code} or ())"
        tmp = self.fresh("_t")
        test = f"(({tmp} := {left}) is not None and {tmp} in {right})"
        if node.negated:
            test = f"(not {test})"
        return test, max(lnest, rnest) + 2

    def _call(self, node: t.TCall) -> tuple[str, int]:
        f = node.function
        name = f.name
        if name == "if":
            cond, n1 = self.truth(node.args[0])
            a, n2 = self.emit(node.args[1])
            b, n3 = self.emit(node.args[2])
            return f"({a} if {cond} else {b})", max(n1, n2, n3) + 1
        if name == "coalesce":
            parts = [self.emit(x) for x in node.args]
            code, nest = parts[-1]
            for part, pnest in reversed(parts[:-1]):
                tmp = self.fresh("_t")
                code = f"({tmp} if ({tmp} := {part}) is not None else {code})"
                nest = max(nest, pnest) + 1
            return code, nest
        if name == "now":
            return "_now(ctx)", 1
        if name == "today":
            return "_today(ctx)", 1
        if name == "me":
            return "_me_id(ctx)", 1
        args = [self.emit(x) for x in node.args]
        nest = max((n for _, n in args), default=0) + 1
        codes = [c for c, _ in args]
        if name == "has_role":
            return f"_has_role(ctx, {codes[0]})", nest
        if name == "days_since":
            return f"_days_between({codes[0]}, _today(ctx), ctx.tz)", nest
        if name == "hours_since":
            return f"_hours_between({codes[0]}, _now(ctx))", nest
        inline = _INLINE.get(name)
        if inline is not None and len(node.args) == 2 and not node.args[1].nullable:
            tmp = self.fresh("_t")
            return inline.format(t=tmp, x=codes[0], p=codes[1]), nest + 1
        assert f.py is not None
        fn = self.const(f.py)
        if f.needs_tz:
            codes.append("ctx.tz")
        return f"{fn}({', '.join(codes)})", nest

    def _aggregate(self, node: t.TAggregate) -> tuple[str, int]:
        if node.items is not None:
            code, nest = self.emit(node.items)
            return f"_list_count({code})", nest + 1
        where = "None"
        if node.where is not None:
            cond, _ = self.truth(node.where)
            where = self.function(cond, "_p")
        helper = self.const(_AGGREGATES[node.function.name])
        key = "None" if node.field is None else self.const(node.field)
        code = f"{helper}(ctx, {self.const(node.collection)}, r, {where}, {key})"
        if node.function.name == "sum" and node.type == DURATION:
            code = f"_zero_duration({code})"
        return code, 1


def compile_python(root: t.TNode) -> Evaluator:
    """A function ``(record, ctx) -> value`` evaluating the typed tree ``root``."""
    gen = _Generator()
    body, _ = gen.emit(root)
    source = "\n".join(gen.defs)
    source += (
        "\ndef _evaluate(r, ctx, p=None):\n"
        f"    try:\n        return {body}\n"
        "    except _GUARDED:\n        return None\n"
    )
    code = compile(source, "<cairn-expression>", "exec")
    exec(code, gen.namespace)  # noqa: S102 - source generated from the typed tree only
    evaluator: Evaluator = gen.namespace["_evaluate"]
    return evaluator
