"""The marshmallow fields of triggers and assignment rules.

Each field loads one JSON value into what the frozen models keep (texts, tuples, numbers)
and reports a bad value as a :class:`~builder.schemas.Coded` message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields

from builder.schemas import MAX_TEXT_LENGTH, Coded, Expression, Identifier, Label, StrictInt, _Str
from builder.triggers.durations import MAX_DURATION, parse_duration


def _fail(code: str, **params: Any) -> ValidationError:
    return ValidationError([Coded(code, **params)])


class Duration(_Str):
    """A positive duration written as ``48h``, ``30d``, ``1d12h`` (kept as its text)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        try:
            delta = parse_duration(text)
        except ValueError:
            raise _fail(
                "invalid_value", reason=f"{text[:40]!r} is not a duration like 90s, 15m, 48h, 30d or 2w"
            ) from None
        if delta <= timedelta(0) or delta > MAX_DURATION:
            raise _fail("invalid_value", reason="a duration must be positive and at most 10 years")
        return text


class Cron(_Str):
    """A five-field cron expression (``0 17 * * fri``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = " ".join(super()._deserialize(value, attr, data, **kwargs).split())
        from croniter import croniter

        if len(text.split()) != 5 or not croniter.is_valid(text):
            raise _fail("invalid_value", reason=f"{text[:60]!r} is not a five-field cron expression")
        return text


class TimeZoneName(_Str):
    """An IANA time zone name (``Asia/Shanghai``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise _fail("invalid_value", reason=f"unknown time zone {text[:60]!r}") from None
        return text


class HttpUrl(_Str):
    """An absolute http(s) URL (where it may point is checked when it is called)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not re.match(r"^https?://[^\s/]+", text) or len(text) > 2000:
            raise _fail("invalid_value", reason="use an absolute http:// or https:// URL")
        return text


class LiteralValue(fields.Field):
    """A JSON scalar, or a list of scalars meaning "any of these" (kept as a tuple)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value is None or isinstance(value, str | int | float | bool):
            return value
        if isinstance(value, list) and all(
            v is None or isinstance(v, str | int | float | bool) for v in value
        ):
            return tuple(value)
        raise _fail("invalid_type", expected="a JSON value")


class ExpressionMap(fields.Field):
    """``{"field": "expression", …}`` kept as a tuple of (key, source) pairs in order."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="an object")
        errors: dict[str, Any] = {}
        out: list[tuple[str, str]] = []
        key_field = Identifier()
        expr_field = Expression()
        for key, source in value.items():
            try:
                out.append((str(key_field.deserialize(key)), str(expr_field.deserialize(source))))
            except ValidationError as exc:
                errors[str(key)] = exc.messages
        if errors:
            raise ValidationError(errors)
        return tuple(out)


class Polymorphic(fields.Field):
    """An object whose ``type`` picks its schema; a bare string is ``{"type": string}``."""

    def __init__(
        self, schemas: Mapping[str, type[Schema]], *, allow_bare: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.schemas = {name: cls() for name, cls in schemas.items()}
        self.allow_bare = allow_bare

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value in self.allow_bare:
            value = {"type": value}
        if not isinstance(value, Mapping):
            raise _fail("invalid_type", expected="an object")
        kind = value.get("type")
        if kind not in self.schemas:
            raise ValidationError(
                {"type": [Coded("invalid_value", reason=(
                    f"unknown type {str(kind)[:40]!r}; use one of " + ", ".join(sorted(self.schemas))
                ))]}
            )
        return self.schemas[kind].load({k: v for k, v in value.items() if k != "type"})


class _Channel(_Str):
    """One of a fixed set of names."""

    def __init__(self, choices: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices = tuple(choices)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in self.choices:
            raise _fail("invalid_value", reason="use one of " + ", ".join(self.choices))
        return text


class _BoundedInt(StrictInt):
    def __init__(self, lo: int, hi: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        number = super()._deserialize(value, attr, data, **kwargs)
        if not self.lo <= number <= self.hi:
            raise _fail("invalid_value", reason=f"use a whole number from {self.lo} to {self.hi}")
        return number


class _FieldMap(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise _fail("invalid_type", expected="an object")
        return tuple((str(k), str(v)) for k, v in value.items())


class _PairList(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, Mapping):
            items = list(value.items())
        elif isinstance(value, list):
            items = [(v, v) if isinstance(v, str) else tuple(v) if isinstance(v, list) else (None, None) for v in value]
        else:
            raise _fail("invalid_type", expected="an object")
        out = []
        for a, b in items:
            if not isinstance(a, str) or not isinstance(b, str):
                raise _fail("invalid_type", expected="an object")
            out.append((a, b))
        return tuple(out)


class _Float(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not -1e6 <= value <= 1e6:
            raise _fail("invalid_type", expected="a number")
        return float(value)


def _opt_expr() -> Expression:
    return Expression(load_default=None, allow_none=True)


def _opt_label(limit: int = MAX_TEXT_LENGTH) -> Label:
    return Label(limit=limit, load_default=None, allow_none=True)
