"""Field values: JSON input → typed Python values, rows ↔ records, records → JSON.

One module owns every representation of a field's value so that the API, the forms, the
automation and the schema migrations agree:

=================  ==========================  ===============================
field type         Python value                JSON
=================  ==========================  ===============================
text-like, choice  ``str``                     string
number/money/%     ``Decimal``                 string (exact), numbers accepted
integer, rating    ``int``                     number
boolean            ``bool``                    true / false
date               ``date``                    "2026-11-23"
datetime           aware ``datetime`` (UTC)    ISO 8601 with offset
duration           ``timedelta``               seconds; "48h"/"30m"/"2d" accepted
multi_choice       ``list[str]``               array of strings
link, user         ``int`` (id)                number
location           ``Location``                {"lat", "lng", "accuracy"}
photo, file        ``list[int]`` (file ids)    array of numbers
=================  ==========================  ===============================
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from builder.model import Field, FieldType
from expressions.scope import Location
from runtime.tables import location_columns

TEXT_TYPES = {
    FieldType.TEXT,
    FieldType.LONG_TEXT,
    FieldType.CHOICE,
    FieldType.PHONE,
    FieldType.EMAIL,
    FieldType.URL,
}
DECIMAL_TYPES = {FieldType.NUMBER, FieldType.MONEY, FieldType.PERCENT}
INTEGER_TYPES = {FieldType.INTEGER, FieldType.RATING}
FILE_TYPES = {FieldType.PHOTO, FieldType.FILE}

DEFAULT_TEXT_LIMIT = {FieldType.LONG_TEXT: 100_000}
TEXT_LIMIT = 1_000
MAX_DECIMAL_DIGITS = 28
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-()]{4,30}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION_SECONDS = 10**10
# Stored moments stay a day inside datetime's range, so that showing one in any time zone
# (offsets are under ±24 h) never overflows.
MIN_MOMENT = datetime(1, 1, 2, tzinfo=UTC)
MAX_MOMENT = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class ValueProblem(ValueError):
    """A value that does not fit its field; ``message`` is English, ``message_zh`` Chinese."""

    def __init__(self, message: str, message_zh: str) -> None:
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh


def _problem(en: str, zh: str) -> ValueProblem:
    return ValueProblem(en, zh)


def text_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` can't be stored, (English, Chinese), or None when it can.

    A NUL character is refused by PostgreSQL's text type, and a lone UTF-16 surrogate (as
    ``"\\ud800"`` in JSON can produce) has no UTF-8 form at all, so neither database can
    hold it. Both are refused everywhere instead of failing at the database.
    """
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return (
            "contains a NUL character (\\u0000), which can't be stored; remove it",
            "含有无法保存的空字符(\\u0000),请删除它",
        )
    return (
        "contains an unpaired surrogate (such as \\ud800), which is not valid text; send proper UTF-8 text",
        "含有不成对的代理字符(如 \\ud800),不是有效文本,请提交正确的 UTF-8 文本",
    )


def parse_duration(value: Any) -> timedelta:
    """A duration from seconds (number) or text like ``48h``, ``30m``, ``2d``."""
    if isinstance(value, bool):
        raise _problem("expected a duration", "应为时长")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _bounded_duration(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return _bounded_duration(float(match.group(1)) * _DURATION_UNITS[match.group(2)])
    raise _problem("expected seconds or a duration like 48h / 30m / 2d", "应为秒数或 48h、30m、2d 这样的时长")


def _bounded_duration(seconds: float) -> timedelta:
    if not math.isfinite(seconds) or abs(seconds) > MAX_DURATION_SECONDS:
        raise _problem(
            "duration out of range; give at most 115740 days (10^10 seconds)",
            "时长超出范围,最多 115740 天(10^10 秒)",
        )
    return timedelta(seconds=seconds)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _problem("expected a number", "应为数字")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise _problem("expected a finite number", "应为有限数字")
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise _problem("expected a number", "应为数字") from None
    else:
        raise _problem("expected a number", "应为数字")
    if not result.is_finite():
        raise _problem("expected a finite number", "应为有限数字")
    if len(result.as_tuple().digits) > MAX_DECIMAL_DIGITS or abs(result.adjusted()) > 20:
        raise _problem("number out of range", "数字超出范围")
    return result


def _integer(value: Any) -> int:
    number = _decimal(value)
    if number != number.to_integral_value():
        raise _problem("expected a whole number", "应为整数")
    result = int(number)
    if abs(result) > 2**63 - 1:
        raise _problem("number out of range", "数字超出范围")
    return result


def _datetime(value: Any, tz: tzinfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _problem("expected a date and time like 2026-11-23T09:30", "应为日期时间,如 2026-11-23T09:30") from None
    else:
        raise _problem("expected a date and time", "应为日期时间")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        moment = parsed.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not MIN_MOMENT <= moment <= MAX_MOMENT:
        raise _problem(
            "date and time out of range; give one between 0001-01-02 and 9999-12-30",
            "日期时间超出范围,应在 0001-01-02 到 9999-12-30 之间",
        )
    return moment


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise _problem("expected a date like 2026-11-23", "应为日期,如 2026-11-23")


def _ids(value: Any, multiple: bool) -> list[int]:
    items = value if isinstance(value, list) else [value]
    if not multiple and len(items) > 1:
        raise _problem("only one file is allowed", "只允许一个文件")
    result = []
    for item in items:
        if isinstance(item, Mapping) and "id" in item:
            item = item["id"]
        if isinstance(item, bool) or not isinstance(item, int):
            raise _problem("expected file ids", "应为文件编号")
        result.append(item)
    if len(result) > 50:
        raise _problem("at most 50 files", "最多 50 个文件")
    return result


def coerce(field: Field, value: Any, tz: tzinfo) -> Any:
    """The typed Python value of JSON ``value`` for ``field``; ``None`` stays ``None``.

    Raises :class:`ValueProblem` with a message a person can act on.
    """
    if value is None or (isinstance(value, str) and value == "" and field.type not in TEXT_TYPES):
        return None
    kind = field.type
    if kind in TEXT_TYPES:
        if not isinstance(value, str):
            raise _problem("expected text", "应为文本")
        unstorable = text_problem(value)
        if unstorable:
            raise _problem(*unstorable)
        limit = field.max_length or DEFAULT_TEXT_LIMIT.get(kind, TEXT_LIMIT)
        if len(value) > limit:
            raise _problem(f"at most {limit} characters", f"最多 {limit} 个字符")
        if value == "":
            return None
        if kind is FieldType.CHOICE and value not in {o.value for o in field.options}:
            raise _problem("not one of the options", "不是可选项之一")
        if kind is FieldType.EMAIL and not _EMAIL.match(value):
            raise _problem("not an e-mail address", "不是有效的电子邮箱")
        if kind is FieldType.PHONE and not _PHONE.match(value):
            raise _problem("not a phone number", "不是有效的电话号码")
        if kind is FieldType.URL and not re.match(r"^https?://[^\s]+$", value):
            raise _problem("not an http(s) address", "不是有效的 http(s) 网址")
        return value
    if kind in DECIMAL_TYPES:
        number = _decimal(value)
        _check_bounds(field, number)
        return number
    if kind in INTEGER_TYPES:
        whole = _integer(value)
        if kind is FieldType.RATING:
            top = int(field.max) if field.max is not None else 5
            if not 0 <= whole <= top:
                raise _problem(f"a rating from 0 to {top}", f"评分应在 0 到 {top} 之间")
        _check_bounds(field, Decimal(whole))
        return whole
    if kind is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise _problem("expected true or false", "应为是或否")
        return value
    if kind is FieldType.DATE:
        return _date(value)
    if kind is FieldType.DATETIME:
        return _datetime(value, tz)
    if kind is FieldType.DURATION:
        if isinstance(value, timedelta):
            return value
        return parse_duration(value)
    if kind is FieldType.MULTI_CHOICE:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _problem("expected a list of options", "应为选项列表")
        allowed = {o.value for o in field.options}
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise _problem(f"not options: {', '.join(unknown[:5])}", f"不是可选项:{'、'.join(unknown[:5])}")
        return list(dict.fromkeys(value))
    if kind in (FieldType.LINK, FieldType.USER):
        if isinstance(value, Mapping) and "id" in value:
            value = value["id"]
        if isinstance(value, bool) or not isinstance(value, int):
            raise _problem("expected a record id", "应为记录编号")
        return value
    if kind is FieldType.LOCATION:
        return _location(value)
    if kind in FILE_TYPES:
        return _ids(value, field.multiple)
    if kind is FieldType.FORMULA:
        raise _problem("a formula field is computed; it can't be written", "公式字段由系统计算,不能写入")
    raise _problem("unsupported field type", "不支持的字段类型")


def _location(value: Any) -> Location:
    if isinstance(value, Location):
        return value
    if not isinstance(value, Mapping):
        raise _problem('expected {"lat": …, "lng": …}', '应为 {"lat": …, "lng": …}')
    try:
        lat = float(value["lat"])
        lng = float(value["lng"])
        acc_raw = value.get("accuracy")
        acc = None if acc_raw is None else float(acc_raw)
    except (KeyError, TypeError, ValueError):
        raise _problem('expected {"lat": …, "lng": …}', '应为 {"lat": …, "lng": …}') from None
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (acc is not None and not 0 <= acc < 10**7):
        raise _problem("coordinates out of range", "坐标超出范围")
    return Location(lat, lng, acc)


def _check_bounds(field: Field, number: Decimal) -> None:
    if field.min is not None and number < field.min:
        raise _problem(f"at least {field.min}", f"不能小于 {field.min}")
    if field.max is not None and number > field.max:
        raise _problem(f"at most {field.max}", f"不能大于 {field.max}")


def is_blank(value: Any) -> bool:
    """Null, empty text and empty lists count as not filled."""
    return value is None or value == "" or value == [] or value == ()


def to_row(field: Field, value: Any) -> dict[str, Any]:
    """The column values of one field's Python value."""
    if field.type is FieldType.LOCATION:
        lat, lng, acc = location_columns(field.key)
        if value is None:
            return {lat: None, lng: None, acc: None}
        return {lat: value.lat, lng: value.lng, acc: value.accuracy}
    return {field.key: value}


def from_row(field: Field, row: Mapping[Any, Any]) -> Any:
    """One field's Python value from a row mapping."""
    if field.type is FieldType.LOCATION:
        lat, lng, acc = location_columns(field.key)
        if row.get(lat) is None or row.get(lng) is None:
            return None
        return Location(row[lat], row[lng], row.get(acc))
    value = row.get(field.key)
    if field.type in DECIMAL_TYPES and value is not None and not isinstance(value, Decimal):
        return _decimal(value)
    return value


def to_json(value: Any) -> Any:
    """The JSON form of a Python field value (see the module table)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
        return int(seconds) if seconds == int(seconds) else seconds
    if isinstance(value, Location):
        return {"lat": value.lat, "lng": value.lng, "accuracy": value.accuracy}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def convert(value: Any, old: Field, new: Field, tz: tzinfo) -> Any:
    """``value`` of field ``old`` as a value of ``new`` (for a type change at publish).

    Raises :class:`ValueProblem` when the value can't be represented in the new type.
    """
    if value is None:
        return None
    if new.type in TEXT_TYPES:
        text = to_json(value)
        if isinstance(text, list | dict):
            raise _problem("can't be shown as text", "无法转换为文本")
        text = "true" if text is True else "false" if text is False else str(text)
        return coerce(new, text, tz)
    if new.type in DECIMAL_TYPES | INTEGER_TYPES:
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, timedelta):
            value = Decimal(str(value.total_seconds()))
        return coerce(new, to_json(value) if not isinstance(value, str) else value, tz)
    if new.type is FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"true", "1", "yes", "是"}:
            return True
        if text in {"false", "0", "no", "否"}:
            return False
        raise _problem("not a yes/no value", "不是是/否值")
    if new.type is FieldType.MULTI_CHOICE and isinstance(value, str):
        return coerce(new, [value], tz)
    return coerce(new, to_json(value), tz)


AUDIT_VALUE_CHARS = 500
AUDIT_SUMMARY_CHARS = 8_000
AUDIT_KEY_CHARS = 100
AUDIT_MESSAGE_CHARS = 2_000


def storable_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (``…`` marks a cut), unstorable characters replaced."""
    cleaned = _UNSTORABLE.sub("\ufffd", text[: limit + 1])
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def _summary_value(value: Any) -> Any:
    """One sent value as it is kept in the audit log: as sent if small, else its JSON cut short."""
    plain = to_json(value) if not isinstance(value, Mapping | list) else value
    if isinstance(plain, str):
        return storable_text(plain, AUDIT_VALUE_CHARS)
    try:
        text = json.dumps(plain, default=str, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = type(plain).__name__
    if len(text) <= AUDIT_VALUE_CHARS:
        return _storable(plain)
    return storable_text(text, AUDIT_VALUE_CHARS)


def _storable(value: Any) -> Any:
    """A small JSON-like value with what a JSON column can't hold made text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else f"<{value.bit_length()}-bit integer>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # NaN/Infinity are not JSON
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {_UNSTORABLE.sub("\ufffd", str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v) for v in value]
    return _UNSTORABLE.sub("\ufffd", str(to_json(value)))


def audit_summary(values: Any) -> dict[str, Any]:
    """A bounded, storable summary of the values a refused write sent, for the audit log.

    Each key is cut to :data:`AUDIT_KEY_CHARS`, each value kept as sent when its JSON is
    at most :data:`AUDIT_VALUE_CHARS` characters and otherwise kept as its JSON text cut
    short; once the summary holds :data:`AUDIT_SUMMARY_CHARS` characters the remaining
    keys are only counted (under the key ``…``). NUL characters and lone surrogates are
    replaced, NaN and infinities become text, so the summary can always be stored.
    """
    if not isinstance(values, Mapping):
        return {"…": storable_text(type(values).__name__, AUDIT_KEY_CHARS)}
    summary: dict[str, Any] = {}
    used = 0
    for index, (key, value) in enumerate(values.items()):
        if used >= AUDIT_SUMMARY_CHARS:
            summary["…"] = f"{len(values) - index} more value(s) not kept"
            break
        name = storable_text(str(key), AUDIT_KEY_CHARS)
        kept = _summary_value(value)
        summary[name] = kept
        used += len(name) + (len(kept) if isinstance(kept, str) else len(json.dumps(kept, default=str)))
    return summary
