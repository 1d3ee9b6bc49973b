"""Structured logs: one JSON object per line, with the request, job and workspace they belong to.

``CAIRN_LOG_FORMAT=json`` makes :func:`configure_logging` put a :class:`JsonFormatter` on the
root logger's handler; ``text`` (the default) leaves the usual lines, with the ids appended
when known. The ids travel in context variables: the web layer binds ``request_id`` for a
request, the worker binds ``job_id`` (and ``workspace`` once the job is loaded) for a job,
with :func:`log_context`; every record logged inside gets them (:class:`ContextFilter`).
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

FIELDS = ("request_id", "job_id", "workspace")
_vars: dict[str, ContextVar[Any]] = {name: ContextVar(f"cairn_{name}", default=None) for name in FIELDS}
#: Fills in fields the context variables don't carry (the web layer adds the workspace of
#: the signed-in user this way); returns a mapping of field → value.
_extra_sources: list[Callable[[], dict[str, Any]]] = []
_HANDLER_NAME = "cairn"


def bind(**values: Any) -> None:
    """Sets log fields for the rest of the current context (a request, a job)."""
    for name, value in values.items():
        _vars[name].set(value)


def current() -> dict[str, Any]:
    """The log fields bound now."""
    return {name: var.get() for name, var in _vars.items()}


@contextmanager
def log_context(**values: Any) -> Iterator[None]:
    """Binds ``values`` inside the block; every field is restored after it."""
    tokens = {name: var.set(var.get()) for name, var in _vars.items()}
    bind(**values)
    try:
        yield
    finally:
        for name, token in tokens.items():
            _vars[name].reset(token)


def add_source(source: Callable[[], dict[str, Any]]) -> None:
    """Registers a function that adds fields to each record (once per function)."""
    if source not in _extra_sources:
        _extra_sources.append(source)


class ContextFilter(logging.Filter):
    """Puts ``request_id``, ``job_id`` and ``workspace`` on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current()
        for source in _extra_sources:
            try:
                for name, value in source().items():
                    if fields.get(name) is None:
                        fields[name] = value
            except Exception:  # a log line must never fail
                pass
        for name, value in fields.items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, job_id, workspace
    (plus ``exception`` with the traceback when there is one)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            data[name] = getattr(record, name, None)
        if record.exc_info:
            data["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(data, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The usual text line, with the ids that are set appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = " ".join(f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None) is not None)
        return f"{line} [{ids}]" if ids else line


def configure_logging(log_format: str, *, level: str | int = logging.INFO, stream: Any = None) -> logging.Handler | None:
    """Installs Cairn's handler on the root logger (once; a second call replaces its
    formatter). Returns the handler, or None for ``text`` when a handler was already set up
    by someone else (then only the context filter is added to it)."""
    root = logging.getLogger()
    formatter: logging.Formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for handler in root.handlers:
        if handler.get_name() == _HANDLER_NAME:
            handler.setFormatter(formatter)
            return handler
    if log_format != "json" and root.handlers:
        for handler in root.handlers:
            if not any(isinstance(f, ContextFilter) for f in handler.filters):
                handler.addFilter(ContextFilter())
        return None
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    if root.level == logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(level)
    return handler
