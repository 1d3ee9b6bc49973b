"""The standard function library (every function of EXPRESSIONS.md and a few more)."""

from __future__ import annotations

import math
from decimal import Decimal

from expressions import values as v
from expressions.functions import sqlimpl as s
from expressions.functions.registry import (
    Function,
    Overload,
    Registry,
    same_as_args,
    same_as_first,
)
from expressions.scope import Location
from expressions.types import BOOLEAN, DATE, DATETIME, DECIMAL, INTEGER, TEXT, USER, ExprType

LIBRARY = Registry()
_add = LIBRARY.add


def _if_type(args: list[ExprType]) -> ExprType | None:
    return same_as_args(args[1:])


def distance_km(a: Location | None, b: Location | None) -> Decimal | None:
    """Great-circle distance in km between two positions (haversine), to the metre."""
    if a is None or b is None:
        return None
    try:
        lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
        dlat = lat2 - lat1
        dlng = math.radians(b.lng - a.lng)
        h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlng / 2) ** 2
        km = 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(km):
        return None
    rounded = v.round_half_away(Decimal(repr(km)), 3)
    return rounded if isinstance(rounded, Decimal) else None


# logic
_add(
    Function(
        "if",
        (Overload(("boolean", "any", "any"), _if_type),),
        None,
        s.sql_if,
        kind="lazy",
        doc="a if cond else b",
        example='if(amount >= 100000, "A", "B")',
    )
)
_add(
    Function(
        "coalesce",
        (Overload(("any",), same_as_args, variadic=True),),
        None,
        s.sql_coalesce,
        kind="lazy",
        doc="the first non-null argument",
        example="coalesce(referrals, 0)",
    )
)
_add(
    Function(
        "is_blank",
        (Overload(("any",), BOOLEAN),),
        v.is_blank,
        s.sql_is_blank,
        nullable=False,
        doc="null, empty text or empty list",
        example="is_blank(budget_range)",
    )
)

# text
_add(
    Function(
        "len",
        (Overload(("text",), INTEGER), Overload(("list",), INTEGER)),
        v.text_len,
        s.sql_len,
        doc="number of characters (or list items)",
        example='len("项目启动") == 4',
    )
)
_add(Function("lower", (Overload(("text",), TEXT),), v.lower, s.sql_lower, example='lower("ABC")'))
_add(Function("upper", (Overload(("text",), TEXT),), v.upper, s.sql_upper, example='upper("abc")'))
_add(Function("trim", (Overload(("text",), TEXT),), v.trim, s.sql_trim, example='trim(" 客户 ")'))
_add(
    Function(
        "contains",
        (Overload(("text", "text"), BOOLEAN),),
        v.contains,
        s.sql_contains,
        nullable=False,
        example='contains(transcript, "预算")',
    )
)
_add(
    Function(
        "contains_any",
        (Overload(("text", "list<text>"), BOOLEAN),),
        v.contains_any,
        s.sql_contains_any,
        nullable=False,
        example='contains_any(transcript, ["项目启动", "领导重视"])',
    )
)
_add(
    Function(
        "contains_all",
        (Overload(("text", "list<text>"), BOOLEAN),),
        v.contains_all,
        s.sql_contains_all,
        nullable=False,
        example='contains_all(transcript, ["预算", "决策人"])',
    )
)
_add(
    Function(
        "starts_with",
        (Overload(("text", "text"), BOOLEAN),),
        v.starts_with,
        s.sql_starts_with,
        nullable=False,
        example='starts_with(customer_name, "上海")',
    )
)
_add(
    Function(
        "ends_with",
        (Overload(("text", "text"), BOOLEAN),),
        v.ends_with,
        s.sql_ends_with,
        nullable=False,
        example='ends_with(customer_name, "有限公司")',
    )
)
_add(
    Function(
        "count_of",
        (Overload(("text", "text"), INTEGER),),
        v.count_of,
        s.sql_count_of,
        example='count_of(transcript, "竞品")',
    )
)
_add(
    Function(
        "keyword_density",
        (Overload(("text", "list<text>"), DECIMAL),),
        v.keyword_density,
        s.sql_keyword_density,
        example='keyword_density(transcript, ["定制", "升级"]) >= 3',
    )
)
_add(
    Function(
        "left",
        (Overload(("text", "integer"), TEXT),),
        v.left,
        s.sql_left,
        example="left(customer_name, 2)",
    )
)
_add(
    Function(
        "right",
        (Overload(("text", "integer"), TEXT),),
        v.right,
        s.sql_right,
        example="right(phone, 4)",
    )
)

# numbers
_add(
    Function(
        "round",
        (Overload(("number", "integer"), same_as_first, optional=1),),
        v.round_half_away,
        s.sql_round,
        example="round(2.5, 0) == 3",
    )
)
_add(
    Function(
        "floor", (Overload(("number",), INTEGER),), v.floor_, s.sql_floor, example="floor(3.7) == 3"
    )
)
_add(
    Function(
        "ceil", (Overload(("number",), INTEGER),), v.ceil_, s.sql_ceil, example="ceil(3.2) == 4"
    )
)
_add(
    Function(
        "abs", (Overload(("number",), same_as_first),), v.abs_, s.sql_abs, example="abs(-5) == 5"
    )
)
_add(
    Function(
        "min",
        (Overload(("ordered",), same_as_args, variadic=True),),
        v.least,
        s.sql_least,
        example="min(discount, 0.3)",
    )
)
_add(
    Function(
        "max",
        (Overload(("ordered",), same_as_args, variadic=True),),
        v.greatest,
        s.sql_greatest,
        example="max(score, 0)",
    )
)
_add(
    Function(
        "clamp",
        (Overload(("number", "number", "number"), same_as_args),),
        v.clamp,
        s.sql_clamp,
        example="clamp(score, 0, 100)",
    )
)

# time
_add(
    Function(
        "now",
        (Overload((), DATETIME),),
        None,
        s.sql_context,
        kind="context",
        nullable=False,
        example="stage_entered_at <= now() - 48h",
    )
)
_add(
    Function(
        "today",
        (Overload((), DATE),),
        None,
        s.sql_context,
        kind="context",
        nullable=False,
        example="due_date < today()",
    )
)
_add(
    Function(
        "date",
        (Overload(("integer", "integer", "integer"), DATE),),
        v.make_date,
        None,
        example="date(2026, 1, 1)",
    )
)
_add(
    Function(
        "days_between",
        (Overload(("temporal", "temporal"), INTEGER),),
        v.days_between,
        s.sql_days_between,
        needs_tz=True,
        example="days_between(signed_at, today()) <= 30",
    )
)
_add(
    Function(
        "hours_between",
        (Overload(("datetime", "datetime"), INTEGER),),
        v.hours_between,
        s.sql_hours_between,
        example="hours_between(created_at, updated_at) < 24",
    )
)
_add(
    Function(
        "days_since",
        (Overload(("temporal",), INTEGER),),
        None,
        s.sql_days_since,
        needs_tz=True,
        kind="since",
        example="days_since(last_visit_at) > 14",
    )
)
_add(
    Function(
        "hours_since",
        (Overload(("datetime",), INTEGER),),
        None,
        s.sql_hours_since,
        kind="since",
        example="hours_since(stage_entered_at) >= 48",
    )
)
_add(
    Function(
        "weekday",
        (Overload(("temporal",), INTEGER),),
        v.weekday,
        s.sql_weekday,
        needs_tz=True,
        example="weekday(visit_date) <= 5",
    )
)
_add(
    Function(
        "start_of_week",
        (Overload(("temporal",), DATE),),
        v.start_of_week,
        s.sql_start_of_week,
        needs_tz=True,
        example="start_of_week(today())",
    )
)
_add(
    Function(
        "start_of_month",
        (Overload(("temporal",), DATE),),
        v.start_of_month,
        s.sql_start_of_month,
        needs_tz=True,
        example="start_of_month(today())",
    )
)

#: Not callable by name: the checker wraps the datetime side of a comparison between a
#: datetime and a date in it (``created_at >= start_of_week(today())`` compares calendar
#: dates in the workspace time zone).
LOCAL_DATE = Function(
    "local_date",
    (Overload(("temporal",), DATE),),
    v.local_date,
    s.sql_local_date,
    needs_tz=True,
    doc="the calendar date of a datetime in the workspace time zone",
)

# collections (typed by the checker; see expressions.checker)
for _name, _example in (
    ("count", 'count(contacts where role == "采购") >= 2'),
    ("sum", 'sum(orders.amount where status == "已签约")'),
    ("avg", "avg(visits.score)"),
    ("min_of", "min_of(visits.created_at)"),
    ("max_of", "max_of(commitments.due_date)"),
    ("any", "any(commitments where due_date < today())"),
    ("all", "all(commitments where done)"),
    ("distinct_count", "distinct_count(visits.owner)"),
    ("latest", "latest(visits.outcome)"),
):
    _add(
        Function(
            _name,
            (),
            None,
            s.sql_aggregate,
            kind="aggregate",
            example=_example,
            nullable=_name in ("avg", "min_of", "max_of", "latest"),
        )
    )

# context
_add(
    Function(
        "me",
        (Overload((), USER),),
        None,
        s.sql_context,
        kind="context",
        example='owner == me() or me().role == "manager"',
    )
)
_add(
    Function(
        "has_role",
        (Overload(("text",), BOOLEAN),),
        None,
        s.sql_has_role,
        kind="context",
        nullable=False,
        example='has_role("manager")',
    )
)

# location
_add(
    Function(
        "distance_km",
        (Overload(("location", "location"), DECIMAL),),
        distance_km,
        None,
        example="distance_km(check_in_location, customer.location) <= 0.5",
    )
)
