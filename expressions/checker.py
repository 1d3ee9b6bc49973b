"""The checker: resolves names against a :class:`Scope`, infers types, finds problems.

It turns the syntax tree into the typed tree of :mod:`expressions.typed`, recording every
problem it meets as a :class:`Diagnostic` and carrying on so that one run reports them all.
A subtree with an error checks as ``None``; its parents then stay silent about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from expressions import ast as a
from expressions import diagnostics
from expressions import typed as t
from expressions.diagnostics import Diagnostic, closest
from expressions.functions.library import LIBRARY, LOCAL_DATE
from expressions.functions.registry import Function, unify
from expressions.limits import MAX_NODES
from expressions.scope import CollectionSpec, EntitySpec, Scope
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
    CollectionType,
    ExprType,
    ListType,
    RecordType,
    list_of,
)

_ORDERED = (INTEGER, DECIMAL, TEXT, DATE, DATETIME, DURATION)
_NUMERIC = (INTEGER, DECIMAL)
_STEP_ATTRS = {"done": BOOLEAN, "done_at": DATETIME, "unlocked": BOOLEAN}
_LITERAL_TYPES = {
    "integer": INTEGER,
    "decimal": DECIMAL,
    "text": TEXT,
    "boolean": BOOLEAN,
    "null": NULL,
    "duration": DURATION,
}
_AGGREGATE_NEEDS = {
    "count": "any",
    "sum": "field",
    "avg": "field",
    "min_of": "field",
    "max_of": "field",
    "distinct_count": "field",
    "latest": "field",
    "any": "where",
    "all": "where",
}


def _sql_storable(typ: ExprType) -> bool:
    """Whether a field of this type is one plain SQL column usable in expressions."""
    return typ != LOCATION and not isinstance(typ, ListType)


@dataclass(frozen=True)
class _Env:
    """The records in scope: ``frames[0]`` is the innermost entity (``parent`` is [1])."""

    frames: tuple[str, ...]


class _TooManyNodes(Exception):
    pass


class Checker:
    """Checks one syntax tree against ``scope``; see :meth:`run`."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.problems: list[Diagnostic] = []
        self.count = 0

    # --- entry -------------------------------------------------------------------

    def run(self, node: a.Node) -> t.TNode | None:
        """The typed tree of ``node`` (None if any error); problems in ``self.problems``."""
        if self.scope.entity_spec() is None:
            self.problems.append(
                diagnostics.make("unknown_name.entity", node.span, entity=self.scope.entity)
            )
            return None
        try:
            result = self.visit(node, _Env((self.scope.entity,)))
        except _TooManyNodes:
            self.problems.append(diagnostics.make("too_complex.nodes", node.span, limit=MAX_NODES))
            return None
        return result if not self.problems else None

    def _error(
        self, key: str, span: a.Span, suggestion: str | None = None, **values: object
    ) -> None:
        self.problems.append(diagnostics.make(key, span, suggestion, **values))

    def _entity(self, key: str) -> EntitySpec:
        spec = self.scope.entity_spec(key)
        assert spec is not None
        return spec

    # --- dispatch ----------------------------------------------------------------

    def visit(self, node: a.Node, env: _Env) -> t.TNode | None:
        """Check ``node`` in ``env``."""
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooManyNodes
        if isinstance(node, a.Literal):
            return t.TLiteral(
                node.span, _LITERAL_TYPES[node.kind], node.value is None, True, node.value
            )
        if isinstance(node, a.ListLiteral):
            return self._list(node, env)
        if isinstance(node, a.Name):
            return self._name(node, env)
        if isinstance(node, a.Member):
            return self._member(node, env)
        if isinstance(node, a.Call):
            return self._call(node, env)
        if isinstance(node, a.Unary):
            return self._unary(node, env)
        if isinstance(node, a.Chain):
            return self._chain(node, env)
        if isinstance(node, a.Compare):
            return self._compare(node, env)
        if isinstance(node, a.BoolOp):
            return self._boolop(node, env)
        if isinstance(node, a.Where):
            self._error("misplaced_where", node.span)
            return None
        raise TypeError(f"unknown node {node!r}")  # pragma: no cover

    # --- names -------------------------------------------------------------------

    def _list(self, node: a.ListLiteral, env: _Env) -> t.TNode | None:
        items = [self.visit(i, env) for i in node.items]
        if any(i is None for i in items):
            return None
        typed = [i for i in items if i is not None]
        item_type: ExprType = NULL
        for i in typed:
            joined = unify(item_type, i.type)
            if joined is None or isinstance(joined, CollectionType):
                self._error("type_mismatch.list_items", i.span, left=item_type, right=i.type)
                return None
            item_type = joined
        return t.TList(
            node.span, list_of(item_type), False, all(i.sql for i in typed), tuple(typed)
        )

    def _candidates(self, env: _Env) -> list[str]:
        spec = self._entity(env.frames[0])
        names = [f.name for f in spec.fields] + [c.name for c in spec.collections]
        names.append("steps")
        if len(env.frames) > 1:
            names.append("parent")
        return names

    def _field(self, name: str, span: a.Span, env: _Env, depth: int) -> t.TNode | None:
        entity = env.frames[depth]
        spec = self._entity(entity)
        found = spec.field(name)
        if found is not None:
            return t.TField(span, found.type, True, _sql_storable(found.type), entity, name, depth)
        if name.startswith("__") or not name.isascii():
            self._error("unknown_name.dunder", span, name=name)
            return None
        if spec.collection(name) is not None:
            self._error("type_mismatch.collection", span, name=name)
            return None
        pool = self._candidates(env) if depth == 0 else [f.name for f in spec.fields]
        self._error("unknown_name.field", span, closest(name, pool), name=name, entity=entity)
        return None

    def _name(self, node: a.Name, env: _Env) -> t.TNode | None:
        if node.name in ("steps", "parent"):
            if node.name == "parent" and len(env.frames) < 2:
                self._error("unknown_name.parent", node.span)
            else:
                self._error("unknown_name.bare", node.span, name=node.name)
            return None
        return self._field(node.name, node.span, env, 0)

    def _member(self, node: a.Member, env: _Env) -> t.TNode | None:
        base = node.base
        # steps.<step>.<attr>
        if isinstance(base, a.Member) and isinstance(base.base, a.Name):
            root = base.base.name
            if root == "steps":
                return self._step(base.name, base.name_span, node, env, 0)
            if root == "parent" and len(env.frames) > 1 and base.name == "steps":
                self._error("unknown_name.bare", node.span, name="parent.steps")
                return None
        if isinstance(base, a.Name):
            if base.name == "steps":
                self._error("unknown_name.bare", node.span, name=f"steps.{node.name}")
                return None
            if base.name == "parent":
                if len(env.frames) < 2:
                    self._error("unknown_name.parent", base.span)
                    return None
                return self._field(node.name, node.name_span, env, 1)
            spec = self._entity(env.frames[0])
            if spec.field(base.name) is None and spec.collection(base.name) is not None:
                self._error("type_mismatch.collection", node.span, name=base.name)
                return None
        typed_base = self.visit(base, env)
        if typed_base is None:
            return None
        return self._member_of(typed_base, node)

    def _member_of(self, base: t.TNode, node: a.Member) -> t.TNode | None:
        btype = base.type
        if isinstance(btype, RecordType):
            target = self.scope.entity_spec(btype.entity)
            found = target.field(node.name) if target is not None else None
            if found is None or target is None:
                pool = [f.name for f in target.fields] if target is not None else []
                self._error(
                    "unknown_name.field",
                    node.name_span,
                    closest(node.name, pool),
                    name=node.name,
                    entity=btype.entity,
                )
                return None
            return t.TLink(
                node.span,
                found.type,
                True,
                base.sql and _sql_storable(found.type),
                base,
                btype.entity,
                node.name,
            )
        if btype == USER:
            for spec in self.scope.user_fields:
                if spec.name == node.name:
                    return t.TUserAttr(
                        node.span,
                        spec.type,
                        True,
                        base.sql and _sql_storable(spec.type),
                        base,
                        node.name,
                    )
            pool = [f.name for f in self.scope.user_fields]
            self._error(
                "unknown_name.user_attr", node.name_span, closest(node.name, pool), name=node.name
            )
            return None
        self._error("unknown_name.member", node.name_span, name=node.name, type=btype)
        return None

    def _step(
        self, step: str, step_span: a.Span, node: a.Member, env: _Env, depth: int
    ) -> t.TNode | None:
        entity = env.frames[depth]
        spec = self._entity(entity)
        if step not in spec.steps:
            self._error(
                "unknown_name.step", step_span, closest(step, spec.steps), name=step, entity=entity
            )
            return None
        attr_type = _STEP_ATTRS.get(node.name)
        if attr_type is None:
            self._error(
                "unknown_name.step_attr",
                node.name_span,
                closest(node.name, list(_STEP_ATTRS)),
                name=node.name,
            )
            return None
        return t.TStep(
            node.span,
            attr_type,
            node.name == "done_at",
            node.name != "unlocked",
            entity,
            step,
            node.name,
            depth,
        )

    # --- calls -------------------------------------------------------------------

    def _call(self, node: a.Call, env: _Env) -> t.TNode | None:
        function = LIBRARY.get(node.name)
        if function is None:
            self._error(
                "unknown_function",
                node.name_span,
                closest(node.name, LIBRARY.names()),
                name=node.name,
            )
            for arg in node.args:  # still report problems inside the arguments
                if not isinstance(arg, a.Where):
                    self.visit(arg, env)
            return None
        if function.kind == "aggregate":
            return self._aggregate(function, node, env)
        args: list[t.TNode | None] = []
        for arg in node.args:
            if isinstance(arg, a.Where):
                self._error("misplaced_where", arg.span)
                args.append(None)
            else:
                args.append(self.visit(arg, env))
        arity_ok = [o for o in function.overloads if _arity_fits(o, len(args))]
        if not arity_ok:
            self._error(
                "arity", node.span, name=node.name, expected=function.arities(), given=len(args)
            )
            return None
        if any(x is None for x in args):
            return None
        typed = [x for x in args if x is not None]
        types = [x.type for x in typed]
        for overload in arity_ok:
            if overload.matches(types):
                result = overload.result(types)
                if result is None:
                    break
                nullable = function.nullable or (
                    function.kind == "lazy" and any(x.nullable for x in typed[1:])
                )
                if function.kind == "lazy" and function.name == "coalesce":
                    nullable = all(x.nullable for x in typed)
                sql = _call_has_sql(function, typed, result)
                return t.TCall(node.span, result, nullable, sql, function, tuple(typed))
        self._argument_error(function, arity_ok[0], typed, node)
        return None

    def _argument_error(
        self, function: Function, overload: object, typed: list[t.TNode], node: a.Call
    ) -> None:
        from expressions.functions.registry import _PATTERNS, Overload

        assert isinstance(overload, Overload)
        n = len(overload.params)
        for i, arg in enumerate(typed):
            pattern = overload.params[min(i, n - 1)]
            if arg.type != NULL and not _PATTERNS[pattern](arg.type):
                self._error(
                    "type_mismatch.argument",
                    arg.span,
                    name=function.name,
                    index=i + 1,
                    expected=pattern,
                    given=arg.type,
                )
                return
        self._error(
            "type_mismatch.branches",
            node.span,
            left=typed[0].type if typed else NULL,
            right=typed[-1].type if typed else NULL,
        )

    def _aggregate(self, function: Function, node: a.Call, env: _Env) -> t.TNode | None:
        name = function.name
        if len(node.args) != 1:
            self._error("arity", node.span, name=name, expected=1, given=len(node.args))
            return None
        arg = node.args[0]
        where_node: a.Node | None = None
        target = arg
        if isinstance(arg, a.Where):
            target, where_node = arg.collection, arg.condition
        spec = self._entity(env.frames[0])
        collection: CollectionSpec | None = None
        field: str | None = None
        field_span = target.span
        if isinstance(target, a.Name):
            collection = spec.collection(target.name)
        elif isinstance(target, a.Member) and isinstance(target.base, a.Name):
            if spec.field(target.base.name) is None:
                collection = spec.collection(target.base.name)
                field, field_span = target.name, target.name_span
        if collection is None:
            if name == "count" and where_node is None:
                typed_list = self.visit(target, env)
                if typed_list is None:
                    return None
                if not isinstance(typed_list.type, ListType) and typed_list.type != NULL:
                    self._error("type_mismatch.not_collection", target.span, name=name)
                    return None
                return t.TAggregate(
                    node.span,
                    INTEGER,
                    False,
                    False,
                    function,
                    CollectionSpec("", "", ""),
                    env.frames[0],
                    None,
                    None,
                    None,
                    0,
                    typed_list,
                )
            if isinstance(target, a.Name | a.Member):
                root = target if isinstance(target, a.Name) else target.base
                if isinstance(root, a.Name) and spec.field(root.name) is None:
                    pool = [c.name for c in spec.collections]
                    self._error(
                        "unknown_name.field",
                        root.span,
                        closest(root.name, pool),
                        name=root.name,
                        entity=env.frames[0],
                    )
                    return None
            self._error("type_mismatch.not_collection", target.span, name=name)
            return None
        child = self.scope.entity_spec(collection.entity)
        if child is None:
            self._error(
                "unknown_name.field", target.span, name=collection.entity, entity=env.frames[0]
            )
            return None
        needs = _AGGREGATE_NEEDS[name]
        if needs == "field" and field is None:
            self._error("type_mismatch.needs_field", node.span, name=name)
            return None
        if needs == "where" and (where_node is None or field is not None):
            self._error("type_mismatch.needs_where", node.span, name=name)
            return None
        field_type: ExprType | None = None
        if field is not None:
            found = child.field(field)
            if found is None:
                self._error(
                    "unknown_name.field",
                    field_span,
                    closest(field, [f.name for f in child.fields]),
                    name=field,
                    entity=child.key,
                )
                return None
            field_type = found.type
        inner = _Env((child.key, *env.frames))
        where: t.TNode | None = None
        if where_node is not None:
            where = self.visit(where_node, inner)
            if where is None:
                return None
            if where.type not in (BOOLEAN, NULL):
                self._error("not_boolean", where.span, type=where.type)
                return None
        result = self._aggregate_type(name, field_type, node)
        if result is None:
            return None
        sql = (where is None or where.sql) and (field_type is None or _sql_storable(field_type))
        if name == "latest" and child.field("created_at") is None:
            sql = False
        # a sum of integers or durations beyond the type's range is null
        nullable = function.nullable or (name == "sum" and result in (INTEGER, DURATION))
        return t.TAggregate(
            node.span,
            result,
            nullable,
            sql,
            function,
            collection,
            env.frames[0],
            field,
            field_type,
            where,
            0,
        )

    def _aggregate_type(
        self, name: str, field_type: ExprType | None, node: a.Call
    ) -> ExprType | None:
        if name in ("count", "distinct_count"):
            return INTEGER
        if name in ("any", "all"):
            return BOOLEAN
        assert field_type is not None
        if name == "sum" and field_type in (INTEGER, DECIMAL, DURATION):
            return field_type
        if name == "avg" and field_type in _NUMERIC:
            return DECIMAL
        if name in ("min_of", "max_of") and field_type in _ORDERED:
            return field_type
        if name == "latest" and not isinstance(field_type, CollectionType):
            return field_type
        self._error(
            "type_mismatch.argument",
            node.span,
            name=name,
            index=1,
            expected="number" if name in ("sum", "avg") else "ordered",
            given=field_type,
        )
        return None

    # --- operators ---------------------------------------------------------------

    def _unary(self, node: a.Unary, env: _Env) -> t.TNode | None:
        operand = self.visit(node.operand, env)
        if operand is None:
            return None
        if node.op == "not":
            if operand.type not in (BOOLEAN, NULL):
                self._error("not_boolean", operand.span, type=operand.type)
                return None
            return t.TUnary(node.span, BOOLEAN, False, operand.sql, "not", operand)
        if operand.type not in (INTEGER, DECIMAL, DURATION, NULL):
            self._error("type_mismatch.unary", node.span, op="-", type=operand.type)
            return None
        nullable = operand.nullable or operand.type in (INTEGER, DURATION)  # -(-2⁶³) is null
        return t.TUnary(node.span, operand.type, nullable, operand.sql, "neg", operand)

    def _chain(self, node: a.Chain, env: _Env) -> t.TNode | None:
        first = self.visit(node.first, env)
        rest = [(op, self.visit(x, env)) for op, x in node.rest]
        if first is None or any(x is None for _, x in rest):
            return None
        current = first.type
        nullable = first.nullable
        sql = first.sql
        steps: list[tuple[str, t.TNode, ExprType]] = []
        for op, operand in rest:
            assert operand is not None
            result = arithmetic_type(op, current, operand.type)
            if result is None:
                self._error(
                    "type_mismatch.operator", operand.span, op=op, left=current, right=operand.type
                )
                return None
            steps.append((op, operand, result))
            # text concatenation (over 1 MB), division and % (by zero) may give null even
            # from non-null operands, and so does a result out of its type's range
            # (integers beyond 64 bits, durations, dates and datetimes); exact decimals not
            nullable = nullable or operand.nullable or op in ("/", "%") or result != DECIMAL
            sql = sql and operand.sql
            current = result
        return t.TChain(node.span, current, nullable, sql, first, tuple(steps))

    def _compare(self, node: a.Compare, env: _Env) -> t.TNode | None:
        left = self.visit(node.left, env)
        right = self.visit(node.right, env)
        if left is None or right is None:
            return None
        sql = left.sql and right.sql
        if node.op in ("in", "not in"):
            rtype = right.type
            if rtype == NULL:
                rtype = list_of(NULL)
            if not isinstance(rtype, ListType) or unify(left.type, rtype.item) is None:
                self._error(
                    "type_mismatch.operator",
                    node.span,
                    op=node.op,
                    left=left.type,
                    right=right.type,
                )
                return None
            sql = sql and isinstance(right, t.TList)
            return t.TIn(node.span, BOOLEAN, False, sql, node.op == "not in", left, right)
        if {left.type, right.type} == {DATE, DATETIME}:
            # a datetime compared with a date: by its calendar date in the workspace zone
            if left.type == DATETIME:
                left = _local_date(left)
            else:
                right = _local_date(right)
        joined = unify(left.type, right.type)
        bad = joined is None or isinstance(joined, CollectionType)
        if not bad and node.op not in ("==", "!=") and joined not in (*_ORDERED, NULL):
            bad = True
        if bad:
            self._error(
                "type_mismatch.operator", node.span, op=node.op, left=left.type, right=right.type
            )
            return None
        if isinstance(joined, ListType) or joined == LOCATION:
            sql = False
        return t.TCompare(node.span, BOOLEAN, False, sql, node.op, left, right)

    def _boolop(self, node: a.BoolOp, env: _Env) -> t.TNode | None:
        operands = [self.visit(x, env) for x in node.operands]
        ok = True
        for x in operands:
            if x is not None and x.type not in (BOOLEAN, NULL):
                self._error("not_boolean", x.span, type=x.type)
                ok = False
        if not ok or any(x is None for x in operands):
            return None
        typed = tuple(x for x in operands if x is not None)
        return t.TBool(node.span, BOOLEAN, False, all(x.sql for x in typed), node.op, typed)


#: Functions whose SQL form takes a list literal (each item compiled on its own).
_LIST_LITERAL_FUNCTIONS = frozenset({"contains_any", "contains_all", "keyword_density"})


def _sql_value(typ: ExprType) -> bool:
    """Whether a value of ``typ`` can be one SQL value (a parameter or a column)."""
    return _sql_storable(typ) and not isinstance(typ, CollectionType)


def _call_has_sql(function: Function, args: list[t.TNode], result: ExprType) -> bool:
    """Whether a call of ``function`` on ``args`` has an SQL form.

    A list is never one SQL value: only a list *literal* in the list parameter of
    ``contains_any`` / ``contains_all`` / ``keyword_density`` compiles (item by item), or a
    null there. A call that reads nothing of the record (``date(2026, 1, 1)``,
    ``len(["a", "b"])``) is computed once and bound as a parameter, whatever its function.
    """
    sql = function.sql is not None and _sql_value(result) and all(x.sql for x in args)
    if sql:
        for x in args:
            if isinstance(x.type, ListType) and not (
                function.name in _LIST_LITERAL_FUNCTIONS and isinstance(x, t.TList)
            ):
                sql = False
                break
    if not sql and _sql_value(result) and function.kind in ("scalar", "lazy"):
        sql = all(t.is_constant(x) for x in args)
    return sql


def _local_date(node: t.TNode) -> t.TNode:
    """``node`` (a datetime) as its calendar date in the workspace time zone."""
    return t.TCall(node.span, DATE, True, node.sql, LOCAL_DATE, (node,))


def _arity_fits(overload: object, n: int) -> bool:
    from expressions.functions.registry import Overload

    assert isinstance(overload, Overload)
    count = len(overload.params)
    if overload.variadic:
        return n >= count
    return count - overload.optional <= n <= count


def arithmetic_type(op: str, left: ExprType, right: ExprType) -> ExprType | None:
    """The result type of ``left op right`` (None when the operator does not apply)."""
    if left == NULL and right == NULL:
        return NULL
    if left == NULL:
        left = right if right in (*_NUMERIC, TEXT, DURATION) else left
        if left == NULL:
            return right if op in "+-" and right in (DATE, DATETIME) else None
    if right == NULL:
        right = left if left in (*_NUMERIC, TEXT, DURATION) else DURATION
    if left in _NUMERIC and right in _NUMERIC:
        if op == "/":
            return DECIMAL
        return INTEGER if left == right == INTEGER else DECIMAL
    if op == "+":
        if left == right == TEXT:
            return TEXT
        if left in (DATETIME, DATE) and right == DURATION:
            return left
        if left == DURATION and right in (DATETIME, DATE):
            return right
        if left == right == DURATION:
            return DURATION
    if op == "-":
        if left in (DATETIME, DATE) and right == DURATION:
            return left
        if left == right and left in (DATETIME, DATE, DURATION):
            return DURATION
    if op == "*" and {left, right} == {DURATION, INTEGER}:
        return DURATION
    return None
