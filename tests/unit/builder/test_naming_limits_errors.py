"""Identifiers, size limits and the error types."""

from __future__ import annotations

import pytest

from builder.errors import BuilderError, DefinitionInvalid, join_path, problem
from builder.limits import check_limits
from builder.messages import render
from builder.naming import RESERVED_FIELD_KEYS, is_identifier


@pytest.mark.parametrize("key", ["a", "customer", "next_follow_up_at", "a1", "x" * 63, "a_b_c"])
def test_valid_identifiers(key: str) -> None:
    assert is_identifier(key)


@pytest.mark.parametrize(
    "key",
    ["", "A", "1a", "_a", "a__b", "a_", "a-b", "a b", "x" * 64, "客户", "a\n", 'x"; DROP', None, 3],
)
def test_invalid_identifiers(key: object) -> None:
    assert not is_identifier(key)


def test_reserved_field_keys_cover_system_columns_and_keywords() -> None:
    for key in ("id", "version", "owner", "stage", "steps", "parent", "me", "where", "null"):
        assert key in RESERVED_FIELD_KEYS


def test_json_paths() -> None:
    assert join_path("$", "entities", 0, "fields", 2, "key") == "$.entities[0].fields[2].key"
    assert join_path("$", "a b") == '$["a b"]'
    assert join_path("$", 'q"') == '$["q\\""]'


def test_limits_stop_at_the_oversized_part() -> None:
    doc: dict[str, object] = {"entities": [{"fields": [{}] * 600, "steps": [{}] * 10}]}
    (p,) = check_limits(doc)
    assert p.path == "$.entities[0].fields" and p.code == "too_large"
    assert p.detail["size"] == 600 and p.detail["limit"] == 500


def test_limits_survive_self_reference() -> None:
    loop: list[object] = []
    loop.append(loop)
    problems = check_limits({"x": loop})
    assert [p.code for p in problems] == ["too_large"]


def test_problem_rendering_is_bilingual_and_lenient() -> None:
    p = problem("$.x", "too_large", what="fields", what_zh="字段数", size=3, limit=2)
    assert p.message == "Too large: fields has 3, the limit is 2."
    assert "字段数" in p.message_zh
    assert p.as_dict()["detail"] == {"what": "fields", "what_zh": "字段数", "size": 3, "limit": 2}
    # missing parameters never break rendering; user text is not re-interpreted
    assert render("duplicate_key", {"value": "{0}"})[0].startswith("Duplicate ? {0}")
    assert render("no_such_code", {}) == ("no_such_code", "no_such_code")


def test_definition_invalid_is_a_value_error_with_a_code() -> None:
    error = DefinitionInvalid([problem("$", "required")])
    assert isinstance(error, ValueError) and isinstance(error, BuilderError)
    assert error.code == "definition_invalid" and error.codes == {"required"}
    assert "$" in str(error)
