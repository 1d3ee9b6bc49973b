"""Property tests: no JSON input makes loading raise anything but DefinitionInvalid."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder import DefinitionInvalid, load_definition
from tests.unit.builder.fixtures import visit_app_definition

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["text", "choice", "link", "customer", "steps.checkin.done", "id", ""]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["key", "label", "type", "fields", "zh", "en", "value", "x"])
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*prefix, index))
    return out


VISIT_PATHS = _paths(visit_app_definition())[1:]


def _load(doc: Any) -> None:
    try:
        load_definition(doc)
    except DefinitionInvalid as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.path.startswith("$") and p.code and p.message and p.message_zh


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_refused_cleanly(doc: Any) -> None:
    _load(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(VISIT_PATHS), json_values), min_size=1, max_size=3))
def test_visit_app_with_values_replaced_is_refused_cleanly(
    changes: list[tuple[tuple[Any, ...], Any]],
) -> None:
    doc: Any = visit_app_definition()
    for path, value in changes:
        target = doc
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    _load(doc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VISIT_PATHS))
def test_visit_app_with_a_key_removed_is_refused_or_loaded(path: tuple[Any, ...]) -> None:
    doc: Any = visit_app_definition()
    target = doc
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    _load(doc)


HOSTILE_VALUES = [10**5000, float("nan"), float("-inf"), "\x00", "\ud800", {"key": 10**5000}, {}]


@pytest.mark.parametrize("path", VISIT_PATHS[::7])
def test_hostile_values_anywhere_are_refused_cleanly(path: tuple[Any, ...]) -> None:
    for value in HOSTILE_VALUES:
        doc: Any = visit_app_definition()
        target = doc
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value
        _load(doc)
