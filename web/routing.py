"""URL converters shared by every blueprint."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

# Ids are 64-bit signed integers on every database Cairn runs on.
MAX_ID = 2**63 - 1
# What a number too large for an id becomes: no row has a negative id, so it names nothing.
NO_ID = -1


class IdConverter(IntegerConverter):
    """``<int:…>`` that never hands the database a number its id column can't hold.

    A larger number can't name anything: it becomes ``NO_ID``, so the route answers as for
    any unknown id (404) instead of overflowing the database's integer type (500). The URL
    still matches its rule, so the method check and the ``Allow`` header stay as they are.
    """

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        return number if isinstance(number, int) and number <= MAX_ID else NO_ID


def init_app(app: Flask) -> None:
    """Installs the converters; call before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
