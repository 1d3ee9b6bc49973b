"""Listing records: expression filters, search, equality filters and keyset pages.

There is never a count query: a page asks for one row more than it shows to know whether
another page follows, and the cursor carries the last row's sort value and id.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from builder.model import Entity, FieldType
from expressions import compile_expression
from expressions.errors import ExpressionInvalid
from expressions.scope import SqlContext
from expressions.types import BOOLEAN
from runtime.errors import Invalid
from runtime.evaluation import record_from_row
from runtime.values import ValueProblem, coerce, text_problem, to_json
from runtime.visibility import Visibility

if TYPE_CHECKING:
    from runtime.records import Page, RecordService

PAGE_LIMIT = 200
MAX_BIGINT = 2**63 - 1
INVALID_CURSOR = "The page cursor is not valid; start from the first page."
INVALID_CURSOR_ZH = "分页游标无效,请从第一页开始。"
#: Beyond this many records a sort on a field without an index is refused.
UNINDEXED_SORT_ROWS = 10_000


def _after(
    column: sa.Column[Any], id_column: sa.Column[Any], last_value: Any, last_id: int, descending: bool
) -> sa.ColumnElement[bool]:
    """The keyset condition: rows after (``last_value``, ``last_id``) in the order
    (``column``, ``id``), among rows whose ``column`` has a value.

    A row-value comparison, ``(created_at, id) < (:c, :i)``, which PostgreSQL and SQLite
    (≥ 3.15) turn into one index range. (Nulls of a nullable column are the second range
    of :func:`_nulls_last`.)
    """
    beyond_id = id_column < last_id if descending else id_column > last_id
    if column is id_column:
        return beyond_id
    if last_value is None:  # a column that is never null can't have been a page's last value
        raise Invalid(INVALID_CURSOR, message_zh=INVALID_CURSOR_ZH, errors={"after": ["invalid cursor"]})
    pair, last = sa.tuple_(column, id_column), sa.tuple_(sa.literal(last_value, column.type), sa.literal(last_id, id_column.type))
    return pair < last if descending else pair > last


def _nulls_last(
    table: sa.Table,
    column: sa.Column[Any],
    conditions: list[sa.ColumnElement[bool]],
    last: tuple[Any, int] | None,
    descending: bool,
    limit: int,
) -> sa.Select[Any]:
    """A page ordered by a column that may be null, nulls last in both directions.

    No single index order puts nulls last both ways (PostgreSQL sorts them as the largest
    value, SQLite as the smallest), and ``ORDER BY … NULLS LAST`` against an index's order
    makes the database sort every row. So the page is two index ranges of the column's
    ``(column, id)`` index, each in index order and limited: the rows with a value
    (``(column, id)`` after the cursor), then the nulls (in ``id`` order). The outer query puts
    the two together, sorting at most ``2 × limit`` rows. A cursor on a null skips the
    first range.
    """
    # Both parts are ordered by (column, id), the index's order: within the nulls that is
    # by id, and PostgreSQL then reads the null range in index order instead of sorting.
    order = (column.desc(), table.c.id.desc()) if descending else (column.asc(), table.c.id.asc())
    parts: list[sa.Select[Any]] = []
    if last is None or last[0] is not None:
        present = [*conditions, column.is_not(None)]
        if last is not None:
            present.append(_after(column, table.c.id, last[0], last[1], descending))
        values = sa.select(table, sa.literal(0).label("_part")).where(*present)
        parts.append(values.order_by(*order).limit(limit))
    absent = [*conditions, column.is_(None)]
    if last is not None and last[0] is None:
        absent.append(table.c.id < last[1] if descending else table.c.id > last[1])
    parts.append(sa.select(table, sa.literal(1).label("_part")).where(*absent).order_by(*order).limit(limit))
    # Each part as a subquery: SQLite allows no ORDER BY/LIMIT on a member of a UNION.
    both = sa.union_all(*(sa.select(part.subquery()) for part in parts)).subquery()
    outer = (both.c[column.key].desc(), both.c.id.desc()) if descending else (both.c[column.key].asc(), both.c.id.asc())
    return sa.select(both).order_by(both.c._part, *outer).limit(limit)


class RecordLister:
    """Pages of one entity's records as the service's actor may see them."""

    def __init__(self, service: RecordService) -> None:
        self.service = service

    def page(
        self,
        entity_key: str,
        *,
        where: str | None = None,
        search: str | None = None,
        filters: Mapping[str, Any] | None = None,
        order_by: str = "-created_at",
        after: str | None = None,
        limit: int = 50,
        condition: sa.ColumnElement[bool] | None = None,
    ) -> Page:
        """A page of records, newest first by default, with keyset pagination.

        ``where`` is an expression (compiled to SQL), ``search`` matches text fields,
        ``filters`` are equality filters by field key, ``condition`` an extra Core condition
        on the entity's table (a dashboard drill-down, see
        :meth:`runtime.dashboards.DashboardService.drill`). There is never a count query.
        """
        entity = self.service.app.entity(entity_key)
        self.service._require(entity, "read")
        table = self.service.app.table(entity_key)
        limit = max(1, min(int(limit), PAGE_LIMIT))
        for name, text in (("where", where), ("search", search), ("order_by", order_by), ("after", after)):
            _check_text(name, text)
        query = sa.select(table)
        conditions: list[sa.ColumnElement[bool]] = []
        if where:
            conditions.append(self._where(entity_key, table, where))
        if condition is not None:
            conditions.append(condition)
        readable = self._visibility().sql(entity_key, table, self._sql_context())
        if readable is not None:
            conditions.append(readable)
        if filters:
            for key, raw in filters.items():
                conditions.append(self._filter(entity, table, key, raw))
        if search:
            text_fields = [
                f for f in entity.fields if f.type in (FieldType.TEXT, FieldType.LONG_TEXT, FieldType.PHONE, FieldType.EMAIL, FieldType.CHOICE)
            ]
            if text_fields:
                needle = search[:100]
                conditions.append(
                    sa.or_(*(sa.func.instr(table.c[f.key], needle) > 0 if self._is_sqlite() else sa.func.strpos(table.c[f.key], needle) > 0 for f in text_fields))
                )
        descending = order_by.startswith("-")
        order_key = order_by.lstrip("-") or "id"
        if order_key not in table.c or order_key.startswith("_") or entity.field(order_key) and entity.field(order_key).type is FieldType.LOCATION:  # type: ignore[union-attr]
            raise Invalid(
                f"Can't sort by {order_key!r}.",
                message_zh=f"不能按 {order_key} 排序。",
                errors={"order_by": ["unknown or unsortable field"]},
            )
        column = table.c[order_key]
        if order_key not in self._indexed_sorts(entity):
            self._refuse_unindexed_sort(entity, table, order_key)
        last = self._decode_cursor(after, column) if after else None
        if order_key == "id" or not column.nullable:
            tie = table.c.id.desc() if descending else table.c.id.asc()
            if last is not None:
                conditions.append(_after(column, table.c.id, last[0], last[1], descending))
            if conditions:
                query = query.where(*conditions)
            # No IS NULL term: the order is exactly the list index's (column, id).
            query = query.order_by(tie) if order_key == "id" else query.order_by(column.desc() if descending else column.asc(), tie)
            rows = self._run(query.limit(limit + 1))
        else:
            rows = self._run(_nulls_last(table, column, conditions, last, descending, limit + 1))
        items = [record_from_row(entity, r) for r in rows[:limit]]
        cursor = None
        if len(rows) > limit:
            final = rows[limit - 1]
            cursor = self._encode_cursor(final[order_key], final["id"])
        from runtime.records import Page

        return Page(items=items, next_cursor=cursor)

    def _indexed_sorts(self, entity: Entity) -> set[str]:
        """Sort keys an index serves in the list's order: ``id``, ``created_at`` and
        ``updated_at`` (list indexes), and fields with an index (``index``/``unique``, links,
        users; ``(field, id)`` — see :func:`runtime.tables.field_indexes`)."""
        keys = {"id", "created_at", "updated_at"}
        keys.update(
            f.key for f in entity.fields if f.index or f.unique or f.type in (FieldType.LINK, FieldType.USER)
        )
        return keys

    def _refuse_unindexed_sort(self, entity: Entity, table: sa.Table, order_key: str) -> None:
        """Refuses a sort no index serves once the table holds more than
        :data:`UNINDEXED_SORT_ROWS` records (sorting them all would cost every page).

        The count stops at the limit, so checking costs at most that many index entries.
        The message names the field by its label (the list page shows it to whoever chose
        the sort) and says what the app's designer can do.
        """
        probe = sa.select(sa.func.count()).select_from(sa.select(table.c.id).limit(UNINDEXED_SORT_ROWS + 1).subquery())
        if int(self.service.session.execute(probe).scalar_one()) <= UNINDEXED_SORT_ROWS:
            return
        spec = entity.field(order_key)
        en, zh = (spec.label.get("en"), spec.label.get("zh")) if spec is not None else (order_key, order_key)
        raise Invalid(
            f"Can't sort by “{en}” ({order_key}): this list has more than {UNINDEXED_SORT_ROWS:,} "
            "records and the field has no index, so every page would sort them all. Sort by "
            "another field, or ask the app's designer to mark the field as indexed "
            "(\"index\": true) and publish.",
            message_zh=f"无法按“{zh}”({order_key})排序:该列表的记录超过 {UNINDEXED_SORT_ROWS:,} 条,"
            "且该字段没有索引,每一页都要对全部记录排序。请按其他字段排序,或请应用设计者将该字段设为索引"
            "(\"index\": true)并发布。",
            errors={"order_by": ["field not indexed"]},
            code="sort_not_indexed",
        )

    def _run(self, query: sa.Select[Any]) -> list[Any]:
        """The rows of ``query``; a value the database can't compute is the caller's 422.

        A filter may be valid and still fail in the database, e.g. arithmetic beyond the
        range of its numbers (``amount * 99999999999999999999`` on PostgreSQL). The
        database's message is not passed on (it would show SQL).
        """
        session = self.service.session
        try:
            return list(session.execute(query).mappings())
        except (sa.exc.DataError, OverflowError):  # OverflowError: SQLite's driver, out-of-range ints
            session.rollback()
            raise Invalid(
                "The filter can't be computed by the database: a value in it is out of range (e.g. a "
                "number beyond ±9.2×10^18 or arithmetic that overflows) or text it can't hold (a NUL "
                "character). Use smaller numbers and plain text.",
                message_zh="数据库无法计算该筛选条件:其中的值超出范围(例如超过 ±9.2×10^18 的数字或溢出的运算),"
                "或含有无法保存的文本(空字符)。请使用更小的数字和普通文本。",
                errors={"where": ["out of range"]},
                code="filter_out_of_range",
            ) from None

    def _where(self, entity_key: str, table: sa.Table, source: str) -> sa.ColumnElement[bool]:
        """A caller's filter expression as SQL; its diagnostics become a 422."""
        try:
            compiled = compile_expression(source, self.service.app.scope(entity_key), expect=BOOLEAN)
            return compiled.to_sql(self.service.app.binding, self._sql_context(), table)
        except ExpressionInvalid as error:
            raise Invalid(
                f"The filter expression is not valid: {error}",
                message_zh="筛选表达式无效:" + "; ".join(d.message_zh for d in error.diagnostics),
                errors={"where": [f"{d.line}:{d.column} {d.message}" for d in error.diagnostics]},
                detail={
                    "diagnostics": [
                        {"code": d.code, "message": d.message, "message_zh": d.message_zh, "line": d.line, "column": d.column, "suggestion": d.suggestion}
                        for d in error.diagnostics
                    ]
                },
                code="invalid_expression",
            ) from None

    def _is_sqlite(self) -> bool:
        return self.service.session.get_bind().dialect.name == "sqlite"

    def _filter(self, entity: Entity, table: sa.Table, key: str, raw: Any) -> sa.ColumnElement[bool]:
        if key in ("owner", "created_by", "id"):
            try:
                number = int(raw)
                if abs(number) > MAX_BIGINT:
                    raise ValueError(raw)
                return table.c[key] == number
            except (TypeError, ValueError):
                raise Invalid(f"Filter {key} needs a number.", message_zh=f"筛选 {key} 需要数字。", errors={key: ["expected a number"]}) from None
        if key == "stage" and entity.stages:
            return table.c.stage == str(raw)
        f = entity.field(key)
        if f is None or f.type in (FieldType.LOCATION, FieldType.MULTI_CHOICE, FieldType.PHOTO, FieldType.FILE):
            raise Invalid(f"Can't filter by {key!r}.", message_zh=f"不能按 {key} 筛选。", errors={key: ["unknown or unfilterable field"]})
        if isinstance(raw, str):
            _check_text(key, raw)
        try:
            value = coerce(f, raw, self.service.ctx.tz) if f.type is not FieldType.FORMULA else raw
        except ValueProblem as problem:
            raise Invalid(problem.message, message_zh=problem.message_zh, errors={key: [problem.message]}) from None
        return table.c[key] == value if value is not None else table.c[key].is_(None)

    @staticmethod
    def _encode_cursor(value: Any, record_id: int) -> str:
        raw = json.dumps([to_json(value), record_id], default=str)
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode_cursor(self, cursor: str, column: sa.Column[Any]) -> tuple[Any, int]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            value, record_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(record_id, int) or abs(record_id) > MAX_BIGINT:
                raise ValueError
            if isinstance(value, int) and abs(value) > MAX_BIGINT:
                raise ValueError
        except (ValueError, TypeError, json.JSONDecodeError):
            raise Invalid(INVALID_CURSOR, message_zh=INVALID_CURSOR_ZH, errors={"after": ["invalid cursor"]}) from None
        if value is not None:
            value = self._cursor_value(column, value)
        return value, record_id

    @staticmethod
    def _cursor_value(column: sa.Column[Any], value: Any) -> Any:
        """The cursor's JSON value in the Python type of the sort column."""
        from expressions.sqltypes import ExactDecimal, UTCDateTime

        try:
            if isinstance(column.type, ExactDecimal):
                return Decimal(str(value))
            if isinstance(column.type, UTCDateTime):
                moment = datetime.fromisoformat(str(value))
                return moment.astimezone(UTC) if moment.tzinfo else moment
            if isinstance(column.type, sa.Date):
                return date.fromisoformat(str(value))
        except (ArithmeticError, ValueError):  # OverflowError is an ArithmeticError
            raise Invalid(INVALID_CURSOR, message_zh=INVALID_CURSOR_ZH, errors={"after": ["invalid cursor"]}) from None
        return value

    def _sql_context(self) -> SqlContext:
        """The actor's SQL context: collections and links inside filters see only rows the
        actor may read (the row filter of :class:`runtime.visibility.Visibility`)."""
        return self._visibility().sql_context(self.service.ctx)

    def _visibility(self) -> Visibility:
        return Visibility.of(self.service.app, self.service.ctx.actor)



def _check_text(name: str, text: str | None) -> None:
    """Refuses a query parameter the database can't take (NUL, lone surrogates)."""
    problem = text_problem(text) if text else None
    if problem:
        en, zh = problem
        raise Invalid(
            f"The query parameter {name} {en}.",
            message_zh=f"查询参数 {name} {zh}。",
            errors={name: [en]},
            code="invalid_text",
        )
