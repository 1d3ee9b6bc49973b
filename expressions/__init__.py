"""The Cairn expression language: a small, typed, side-effect-free language.

Check an expression against the names of a :class:`~expressions.scope.Scope` with
:func:`check`, compile it with :func:`compile_expression`, then evaluate it on a record
(``compiled.evaluate(record, ctx)``), explain it, or turn it into SQLAlchemy Core
(``compiled.to_sql(binding, ctx)``). See ``docs/expressions.md``.
"""

from expressions.check import CheckResult, check
from expressions.compiled import (
    CompiledExpression,
    ExplainPart,
    Explanation,
    clear_cache,
    compile_expression,
)
from expressions.diagnostics import CODES, Diagnostic
from expressions.errors import ExpressionError, ExpressionInvalid
from expressions.functions.library import LIBRARY
from expressions.scope import (
    CollectionSpec,
    DataResolver,
    EntitySpec,
    EvalContext,
    FieldSpec,
    Location,
    Scope,
    SqlBinding,
    SqlContext,
    StepState,
)
from expressions.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DECIMAL,
    DURATION,
    FILE,
    INTEGER,
    LOCATION,
    NULL,
    TEXT,
    USER,
    CollectionType,
    ExprType,
    ListType,
    RecordType,
    collection_of,
    list_of,
    record_of,
)

__all__ = [
    "BOOLEAN",
    "CODES",
    "DATE",
    "DATETIME",
    "DECIMAL",
    "DURATION",
    "FILE",
    "INTEGER",
    "LIBRARY",
    "LOCATION",
    "NULL",
    "TEXT",
    "USER",
    "CheckResult",
    "CollectionSpec",
    "CollectionType",
    "CompiledExpression",
    "DataResolver",
    "Diagnostic",
    "EntitySpec",
    "EvalContext",
    "ExplainPart",
    "Explanation",
    "ExprType",
    "ExpressionError",
    "ExpressionInvalid",
    "FieldSpec",
    "ListType",
    "Location",
    "RecordType",
    "Scope",
    "SqlBinding",
    "SqlContext",
    "StepState",
    "check",
    "clear_cache",
    "collection_of",
    "compile_expression",
    "list_of",
    "record_of",
]
