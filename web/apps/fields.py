"""WTForms fields for Cairn's field types, exchanging values in their JSON form.

Each field's ``data`` is the value as the REST API would carry it (see
:mod:`runtime.values`): strings for text and exact numbers, ISO strings for dates, lists for
multi-choice and files, ``{"lat", "lng", "accuracy"}`` for locations. Checking a value is
not done here but by :func:`runtime.values.coerce` (the one place that knows what a value
of a field type may be), so that the form and the API give the same messages.

Several widgets post more than one input. Those extra inputs are named ``<name>__<part>``;
a field key never contains ``__``, so they can't collide with another field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import Field
from wtforms.utils import unset_value

PRESENT = "__present"


class JsonValueField(Field):  # type: ignore[misc]
    """Base: one text input; ``data`` is the JSON value (None when empty)."""

    def process_formdata(self, valuelist: Sequence[str]) -> None:
        """Takes the first posted value; blank is None; not posted keeps the initial value."""
        if not valuelist:
            return
        self.data = self.parse(valuelist[0])

    def parse(self, raw: str) -> Any:
        """The JSON value of the posted text."""
        return raw.strip() or None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)


class TextValueField(JsonValueField):
    """Text-like types keep their text as typed (long text keeps inner whitespace)."""

    def parse(self, raw: str) -> Any:
        """Trailing spaces go; inner line breaks stay."""
        text = raw.replace("\r\n", "\n").strip()
        return text or None


class IntegerValueField(JsonValueField):
    """Whole numbers: posted as text, given to the runtime as int when they look like one."""

    def parse(self, raw: str) -> Any:
        """An int for ``"12"``, the text otherwise (the runtime explains what's wrong)."""
        text = raw.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            return text


class DurationValueField(JsonValueField):
    """A duration: seconds, or text like ``48h``, ``30m``, ``2d``."""

    def parse(self, raw: str) -> Any:
        """Seconds as int when only digits were typed."""
        text = raw.strip()
        if not text:
            return None
        return int(text) if text.isdigit() else text

    def _value(self) -> str:
        if isinstance(self.data, int | float) and not isinstance(self.data, bool):
            seconds = int(self.data)
            for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
                if seconds and seconds % size == 0:
                    return f"{seconds // size}{unit}"
            return str(seconds)
        return super()._value()


class BooleanValueField(JsonValueField):
    """A checkbox followed by a hidden ``false`` so that unticking is posted too."""

    def process_formdata(self, valuelist: Sequence[str]) -> None:
        """True when the box was ticked (its value comes before the hidden one)."""
        if valuelist:
            self.data = valuelist[0] == "true"


class ChoiceValueField(JsonValueField):
    """One option value (a ``<select>``); unknown values are refused by the runtime."""


class IdValueField(JsonValueField):
    """A record or user id (link picker, user select)."""

    def parse(self, raw: str) -> Any:
        """The id as int; anything else is None (the picker only posts ids)."""
        text = raw.strip()
        return int(text) if text.isdigit() else None


class MultiValueField(Field):  # type: ignore[misc]
    """Several values under one name, plus a hidden marker so "none chosen" is posted too."""

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """Reads every value of the name; the marker input ``<name>__present`` is skipped."""
        self.process_errors: list[Any] = []
        if data is unset_value:
            data = self.default
        self.object_data = data
        self.data = list(data) if isinstance(data, list | tuple) else []
        self.raw_data = None
        if formdata is not None and (self.name in formdata or self.name + PRESENT in formdata):
            self.raw_data = formdata.getlist(self.name)
            self.data = self.parse(self.raw_data)

    def parse(self, values: Sequence[str]) -> list[Any]:
        """The posted values without blanks and duplicates."""
        return list(dict.fromkeys(v for v in values if v))


class FileIdsField(MultiValueField):
    """Ids of uploaded files; new files may also arrive as ``<name>__upload`` parts."""

    def parse(self, values: Sequence[str]) -> list[Any]:
        """The posted ids as ints."""
        return list(dict.fromkeys(int(v) for v in values if v.strip().isdigit()))


class LocationValueField(Field):  # type: ignore[misc]
    """Latitude, longitude and accuracy inputs (filled by the browser's geolocation or by hand)."""

    PARTS = ("lat", "lng", "accuracy")

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        """Reads ``<name>__lat``, ``<name>__lng`` and ``<name>__accuracy``."""
        self.process_errors: list[Any] = []
        if data is unset_value:
            data = self.default
        self.object_data = data
        self.data = data if isinstance(data, dict) else None
        self.raw_data = None
        names = [f"{self.name}__{p}" for p in self.PARTS]
        if formdata is not None and any(n in formdata for n in names):
            raw = {p: (formdata.get(n) or "").strip() for p, n in zip(self.PARTS, names, strict=True)}
            self.raw_data = list(raw.values())
            if not raw["lat"] and not raw["lng"]:
                self.data = None
            else:
                self.data = {
                    "lat": _number(raw["lat"]),
                    "lng": _number(raw["lng"]),
                    "accuracy": _number(raw["accuracy"]) if raw["accuracy"] else None,
                }

    def part(self, name: str) -> str:
        """The text shown in one of the inputs."""
        if not isinstance(self.data, dict) or self.data.get(name) is None:
            return ""
        return str(self.data[name])


def _number(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text  # the runtime refuses it with a message
