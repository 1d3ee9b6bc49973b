"""Loading and validating a definition document, reporting every problem at once.

Validation runs in three stages; each collects *all* of its problems, and a stage runs
only when the ones before it found none (later stages need what earlier ones establish):

1. **envelope**: the document is a JSON object with the supported ``format`` tag and
   within every size limit (:mod:`builder.limits`) — refused cheaply before any parsing;
2. **shape**: the marshmallow schemas (:mod:`builder.schemas`) check types, required and
   unknown keys, identifiers and reserved names, and build the model;
3. **meaning**: duplicates, references and field options (:mod:`builder.references`),
   then — unless entity keys are ambiguous — step and formula cycles and every expression
   (:mod:`builder.expression_checks`).

Whatever the input, the only exception that leaves :func:`load_definition` is
:class:`~builder.errors.DefinitionInvalid`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from marshmallow import ValidationError
from marshmallow.exceptions import SCHEMA

from builder.dashboards import check_dashboards
from builder.errors import ROOT, DefinitionInvalid, Problem, join_path, problem
from builder.expression_checks import check_expressions
from builder.limits import check_limits
from builder.model import FORMAT, App
from builder.references import check_references
from builder.schemas import APP_SCHEMA, Coded
from builder.triggers import load_automation


def load_definition(doc: Any) -> App:
    """Validate the definition document ``doc`` and return its :class:`App`.

    Raises :class:`DefinitionInvalid` listing every problem (with JSON paths and stable
    codes) when the document is not a valid ``cairn.app/1`` definition.
    """
    problems = check_envelope(doc)
    if problems:
        raise DefinitionInvalid(problems)
    try:
        app: App = APP_SCHEMA.load(doc)
    except ValidationError as exc:
        raise DefinitionInvalid(problems_from_messages(exc.messages) or [_unreadable()]) from None
    except RecursionError:  # pragma: no cover - depth is bounded by the envelope check
        raise DefinitionInvalid([_unreadable()]) from None
    app, problems = load_automation(app)
    problems += validate_app(app)
    if problems:
        raise DefinitionInvalid(problems)
    return index_time_rule_fields(app)


def index_time_rule_fields(app: App) -> App:
    """``app`` with every field an elapsed trigger measures from marked ``index``.

    Time-based sweeps scan by that timestamp; indexing it is what keeps their cost
    proportional to the due records rather than to the table.
    """
    wanted: dict[str, set[str]] = {}
    for trigger in app.triggers:
        since = getattr(trigger.on, "since", None)
        if getattr(trigger.on, "type", None) == "elapsed" and since:
            wanted.setdefault(trigger.entity, set()).add(since)
    if not wanted:
        return app
    entities = []
    for entity in app.entities:
        keys = wanted.get(entity.key, set())
        fields = tuple(
            replace(f, index=True) if f.key in keys and not (f.index or f.unique) else f
            for f in entity.fields
        )
        entities.append(replace(entity, fields=fields) if fields != entity.fields else entity)
    return replace(app, entities=tuple(entities))


def validate_app(app: App) -> list[Problem]:
    """Every problem of a loaded ``app`` (stage 3); empty when it is valid."""
    problems = check_references(app)
    keys = [e.key for e in app.entities]
    if len(keys) == len(set(keys)):
        problems += check_expressions(app)
        problems += check_dashboards(app)
    return problems


def check_envelope(doc: Any) -> list[Problem]:
    """Stage 1: an object, the supported format, and within the size limits."""
    if not isinstance(doc, Mapping):
        return [problem(ROOT, "invalid_type", expected="an object")]
    problems = []
    fmt = doc.get("format")
    if "format" not in doc:
        problems.append(problem(join_path(ROOT, "format"), "required"))
    elif fmt != FORMAT:
        shown = repr(fmt[:40]) if isinstance(fmt, str) else "(not a text)"
        problems.append(
            problem(
                join_path(ROOT, "format"),
                "format_unsupported",
                got=shown,
                expected=FORMAT,
            )
        )
    return problems + check_limits(doc)


def _unreadable() -> Problem:
    return problem(ROOT, "invalid_value", reason="the definition could not be read")


def problems_from_messages(messages: Any, path: str = ROOT) -> list[Problem]:
    """Turn marshmallow's nested error messages into problems with JSON paths."""
    out: list[Problem] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == SCHEMA:
                out += problems_from_messages(value, path)
            elif isinstance(key, int):
                out += problems_from_messages(value, join_path(path, key))
            else:
                out += problems_from_messages(value, join_path(path, str(key)))
        return out
    if isinstance(messages, list | tuple):
        for message in messages:
            if isinstance(message, Mapping | list | tuple):
                out += problems_from_messages(message, path)
            else:
                out.append(_problem_from_message(message, path))
        return out
    return [_problem_from_message(messages, path)]


def _problem_from_message(message: Any, path: str) -> Problem:
    if isinstance(message, Coded):
        params = dict(message.params)
        if message.code == "unknown_key":
            params.setdefault("name", _last_key(path))
        return problem(path, message.code, **params)
    text = str(message)
    code, _, expected = text.partition("|")
    if code == "unknown_key":
        return problem(path, code, name=_last_key(path))
    if code == "invalid_type":
        return problem(path, code, expected=expected or "another type")
    if code in ("required", "invalid_value", "too_large", "invalid_identifier"):
        return problem(path, code)
    return problem(path, "invalid_value", reason=text)


def _last_key(path: str) -> str:
    if path.endswith("]"):
        return path[path.rfind("[") + 1 : -1]
    return path[path.rfind(".") + 1 :]
