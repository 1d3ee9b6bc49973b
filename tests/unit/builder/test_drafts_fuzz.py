"""Property tests: checking a draft never raises, and every problem points into the document."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.drafts import check_draft, parse_path
from tests.unit.builder.fixtures import visit_app_definition
from tests.unit.builder.test_fuzz import HOSTILE_VALUES, VISIT_PATHS, json_values


def _resolves(document: Any, path: str) -> bool:
    """Whether ``path`` names a member of ``document``, or a missing member of an object in it."""
    segments = parse_path(path)
    if segments is None:
        return False
    node = document
    for i, segment in enumerate(segments):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and 0 <= segment < len(node):
            node = node[segment]
        else:
            return isinstance(node, dict) and i == len(segments) - 1
    return True


def _check(document: Any) -> None:
    outcome = check_draft(document)
    for p in outcome.problems:
        assert p.code and p.message and p.message_zh
        assert _resolves(document, p.path), (p.path, p.code)


def _replace(changes: list[tuple[tuple[Any, ...], Any]]) -> Any:
    doc: Any = visit_app_definition()
    for path, value in changes:
        target = doc
        try:
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue
    return doc


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_is_checked_cleanly(doc: Any) -> None:
    _check(doc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(VISIT_PATHS), json_values), min_size=1, max_size=4))
def test_a_damaged_visit_app_is_checked_with_paths_into_it(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    _check(_replace(changes))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VISIT_PATHS[::5]), st.sampled_from(HOSTILE_VALUES))
def test_hostile_values_are_checked_cleanly(path: tuple[Any, ...], value: Any) -> None:
    _check(_replace([(path, value)]))
