"""Every trigger problem points at the trigger and option that is wrong, also after a
trigger that failed to load (its shape problems set it aside; the indexes stay)."""

from __future__ import annotations

from builder.drafts import check_draft
from builder.triggers.loading import load_assignment_rules, load_triggers
from tests.fixtures_triggers import EXPECTED, trigger_errors_definition


def test_each_kind_of_trigger_error_is_at_its_place() -> None:
    found = [(p.path, p.code) for p in check_draft(trigger_errors_definition()).problems]
    assert sorted(found) == sorted(EXPECTED)


def test_a_broken_or_repeated_trigger_keeps_the_indexes_of_the_others() -> None:
    definition = trigger_errors_definition()
    app = check_draft(definition).app
    assert app is not None
    good = {"key": "ok", "label": "好", "entity": "customer", "on": {"type": "step_completed", "step": "nope"},
            "actions": [{"type": "assign", "rule": "none"}]}
    broken = {"key": "broken", "label": "坏", "on": "created"}  # no actions
    repeated = dict(good)
    triggers, problems = load_triggers([broken, repeated, good], app)
    assert [t.key for t in triggers] == ["ok"]
    paths = {(p.path, p.code) for p in problems}
    assert ("$.triggers[0].actions", "required") in paths
    assert ("$.triggers[2].key", "duplicate_key") in paths
    assert ("$.triggers[1].on.step", "unknown_reference") in paths
    assert ("$.triggers[1].actions[0].rule", "unknown_reference") in paths


def test_a_broken_assignment_rule_keeps_the_indexes_of_the_others() -> None:
    app = check_draft(trigger_errors_definition()).app
    assert app is not None
    broken = {"key": "broken", "label": "坏"}
    bad_role = {"key": "by_role", "label": "按角色", "entity": "customer", "field": "owner", "strategy": "round_robin",
                "candidates": {"role": "nobody"}}
    rules, problems = load_assignment_rules([broken, bad_role], app)
    assert [r.key for r in rules] == ["by_role"]
    assert ("$.assignment_rules[1].candidates.role", "unknown_reference") in {(p.path, p.code) for p in problems}
