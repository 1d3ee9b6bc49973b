"""Checking drafts: every problem at once, at paths into the document as submitted."""

from __future__ import annotations

from builder.drafts import check_draft, content_digest, parse_path, render_path
from tests.fixtures_designer import EXPECTED, all_errors_definition
from tests.unit.builder.fixtures import visit_app_definition


def test_a_valid_definition_has_no_problem_and_reads_fully() -> None:
    outcome = check_draft(visit_app_definition())
    assert outcome.valid and outcome.problems == ()
    assert outcome.app is not None and [e.key for e in outcome.app.entities][:2] == ["customer", "visit"]


def test_one_error_of_each_kind_is_reported_at_its_element() -> None:
    outcome = check_draft(all_errors_definition())
    found = {(p.path, p.code) for p in outcome.problems}
    assert [e for e in EXPECTED if e not in found] == []
    assert not outcome.valid and outcome.app is not None


def test_paths_in_messages_point_into_the_submitted_document() -> None:
    duplicate = next(p for p in check_draft(all_errors_definition()).problems if p.code == "duplicate_key")
    # The element before it was set aside while checking; the message still names index 2.
    assert "$.entities[1].fields[2].key" in duplicate.message


def test_an_empty_app_says_what_publishing_needs() -> None:
    outcome = check_draft({"format": "cairn.app/1", "key": "x", "label": "X", "entities": []})
    assert [(p.path, p.code) for p in outcome.problems] == [("$.entities", "entities_required")]
    assert "实体" in outcome.problems[0].message_zh


def test_unreadable_documents() -> None:
    assert [p.code for p in check_draft([1]).problems] == ["invalid_type"]
    outcome = check_draft({"format": "cairn.app/1"})
    assert {p.path for p in outcome.problems} >= {"$.key", "$.label", "$.entities"}


def test_outcomes_are_cached_by_content() -> None:
    a, b = visit_app_definition(), visit_app_definition()
    assert content_digest(a) == content_digest(dict(reversed(list(b.items()))))
    assert check_draft(a) is check_draft(b)


def test_paths_round_trip() -> None:
    for path in ("$", "$.entities[0].fields[12].visible_when", '$.a["odd key"][3]'):
        segments = parse_path(path)
        assert segments is not None and render_path(segments) == path
    assert parse_path("entities") is None
