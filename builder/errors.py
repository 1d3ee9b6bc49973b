"""The builder's errors: one root with a stable ``code``, and the problems of a definition.

Validation never stops at the first mistake: it collects every :class:`Problem` it finds
(each with the JSON path it refers to and a stable code) and raises one
:class:`DefinitionInvalid` carrying them all. The REST layer maps that to a 422 with one
entry per problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from builder.messages import render

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ROOT = "$"


class BuilderError(Exception):
    """Root of every error the builder raises; ``code`` is stable and machine-readable."""

    code = "builder_error"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a definition.

    ``path`` is a JSON path into the submitted document (``$.entities[0].fields[2].key``),
    ``code`` a stable identifier (``invalid_identifier``, ``expression_unknown_name`` ...),
    ``message`` / ``message_zh`` say what is wrong in English / Chinese, and ``detail``
    carries machine-readable context (the offending value, line and column ...) as a plain
    JSON-ready dict (treat it as read-only).
    """

    path: str
    code: str
    message: str
    message_zh: str
    detail: dict[str, Any] = field(default_factory=dict, hash=False)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``path``, ``code``, ``message``, ``message_zh``, ``detail``)."""
        return {
            "path": self.path,
            "code": self.code,
            "message": self.message,
            "message_zh": self.message_zh,
            "detail": dict(self.detail),
        }


class DefinitionInvalid(BuilderError, ValueError):
    """A definition has problems; ``problems`` lists every one of them."""

    code = "definition_invalid"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        first = f": {self.problems[0].path}: {self.problems[0].message}" if count else ""
        super().__init__(f"the app definition has {count} problem(s){first}")

    @property
    def codes(self) -> set[str]:
        """The distinct problem codes (handy in tests and logs)."""
        return {p.code for p in self.problems}


def problem(
    path: str, code: str, detail: Mapping[str, Any] | None = None, **params: Any
) -> Problem:
    """A :class:`Problem` whose messages come from the catalogue in :mod:`builder.messages`.

    ``params`` fill the message templates; ``detail`` (default: ``params`` that are plain
    JSON values) is attached for machines.
    """
    en, zh = render(code, params)
    if detail is None:
        detail = {k: v for k, v in params.items() if isinstance(v, str | int | float | bool)}
    return Problem(path, code, en, zh, dict(detail))


def join_path(path: str, *parts: str | int) -> str:
    """Extend a JSON path by object keys and list indices: ``join_path("$", "a", 0)``."""
    out = [path]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _PLAIN_KEY.match(part):
            out.append(f".{part}")
        else:
            out.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(out)
