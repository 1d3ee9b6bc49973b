"""Loading the raw ``triggers`` and ``assignment_rules`` of an app into frozen models.

Shape problems come from the marshmallow schemas (:func:`problems_from_messages` turns
their messages into :class:`~builder.errors.Problem` objects at JSON paths); with the app
at hand, references and expressions are checked by :mod:`builder.triggers.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from marshmallow import Schema, ValidationError

from builder.errors import ROOT, Problem, join_path, problem
from builder.model import App
from builder.schemas import Coded
from builder.triggers.rules import ASSIGNMENT_RULE_SCHEMA, AssignmentRule
from builder.triggers.trigger import TRIGGER_SCHEMA, Trigger
from builder.triggers.validation import validate_assignment_rules, validate_triggers

_Keyed = TypeVar("_Keyed", Trigger, AssignmentRule)


def problems_from_messages(messages: Any, path: str) -> list[Problem]:
    """Turns marshmallow's nested error messages under ``path`` into problems."""
    out: list[Problem] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                out.extend(problems_from_messages(value, path))
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                out.extend(problems_from_messages(value, join_path(path, int(key))))
            else:
                out.extend(problems_from_messages(value, join_path(path, str(key))))
    elif isinstance(messages, list | tuple):
        for item in messages:
            out.extend(problems_from_messages(item, path))
    elif isinstance(messages, Coded):
        out.append(problem(path, messages.code, **messages.params))
    else:
        text = str(messages)
        code, _, expected = text.partition("|")
        if code == "unknown_key":
            out.append(problem(path, "unknown_key", name=path.rsplit(".", 1)[-1]))
        elif expected:
            out.append(problem(path, code, expected=expected))
        elif code in {"required", "invalid_type", "unknown_key"}:
            out.append(problem(path, code, expected="a valid value"))
        else:
            out.append(problem(path, "invalid_value", reason=text))
    return out


def load_triggers(
    raw: Sequence[Mapping[str, Any]], app: App | None = None, *, path: str = join_path(ROOT, "triggers")
) -> tuple[tuple[Trigger, ...], list[Problem]]:
    """Loads the raw trigger objects; with ``app``, also validates them against it.

    Returns the triggers that loaded (those with shape problems are left out) and every
    problem found.
    """
    places, problems = _load_keyed(raw, Trigger, TRIGGER_SCHEMA, path, "trigger", "触发器")
    if app is not None:
        problems.extend(validate_triggers(app, places, path=path))
    return _loaded(places), problems


def load_assignment_rules(
    raw: Sequence[Mapping[str, Any]], app: App | None = None,
    *, path: str = join_path(ROOT, "assignment_rules"),
) -> tuple[tuple[AssignmentRule, ...], list[Problem]]:
    """Loads the raw assignment rules; with ``app``, also validates them against it."""
    places, problems = _load_keyed(raw, AssignmentRule, ASSIGNMENT_RULE_SCHEMA, path, "assignment rule", "分配规则")
    if app is not None:
        problems.extend(validate_assignment_rules(app, places, path=path))
    return _loaded(places), problems


def _loaded(places: Sequence[_Keyed | None]) -> tuple[_Keyed, ...]:
    return tuple(item for item in places if item is not None)


def _load_keyed(
    raw: Sequence[Any], kind: type[_Keyed], schema: Schema, path: str, what: str, what_zh: str
) -> tuple[list[_Keyed | None], list[Problem]]:
    """Loads each raw object of a keyed section (already-loaded ones pass through).

    Objects with shape problems and repeated keys are None in the list returned (which
    keeps the document's indexes, so later problems point at the right object); every
    problem is returned.
    """
    loaded: list[_Keyed | None] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(raw):
        if isinstance(item, kind):
            loaded.append(item)
            continue
        item_path = join_path(path, index)
        try:
            value: _Keyed = schema.load(item)
        except ValidationError as exc:
            problems.extend(problems_from_messages(exc.messages, item_path))
            loaded.append(None)
            continue
        key = value.key  # type: ignore[attr-defined]
        if key in seen:
            problems.append(problem(join_path(item_path, "key"), "duplicate_key", what=what,
                                    what_zh=what_zh, value=key, first=seen[key]))
            loaded.append(None)
            continue
        seen[key] = item_path
        loaded.append(value)
    return loaded, problems


def load_automation(app: App) -> tuple[App, list[Problem]]:
    """``app`` with its raw ``triggers`` / ``assignment_rules`` loaded, and their problems."""
    from dataclasses import replace

    rule_places, rule_problems = _load_keyed(app.assignment_rules, AssignmentRule, ASSIGNMENT_RULE_SCHEMA,
                                             join_path(ROOT, "assignment_rules"), "assignment rule", "分配规则")
    trigger_places, trigger_problems = _load_keyed(app.triggers, Trigger, TRIGGER_SCHEMA,
                                                   join_path(ROOT, "triggers"), "trigger", "触发器")
    loaded = replace(app, assignment_rules=_loaded(rule_places), triggers=_loaded(trigger_places))
    problems = rule_problems + trigger_problems
    # The places keep the document's indexes: a problem of the third trigger is at
    # $.triggers[2] even when the first one failed to load.
    problems.extend(validate_assignment_rules(loaded, rule_places))
    problems.extend(validate_triggers(loaded, trigger_places))
    return loaded, problems
