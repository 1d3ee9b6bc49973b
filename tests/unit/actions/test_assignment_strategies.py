"""Assignment strategies as pure functions over candidates."""

from __future__ import annotations

from collections import Counter
from typing import Any

from runtime.assignment import (
    Candidate,
    WeightSpec,
    as_number,
    least_loaded,
    matching,
    round_robin,
    score,
    weighted,
)

REPS = [Candidate(3, "cat", load=2), Candidate(1, "ann", load=5), Candidate(2, "bob", load=2)]


def test_round_robin_is_fair_over_many_assignments() -> None:
    last: int | None = None
    counts: Counter[int] = Counter()
    order = []
    for _ in range(30):
        pick = round_robin(REPS, last)
        assert pick.user_id is not None
        counts[pick.user_id] += 1
        order.append(pick.user_id)
        last = pick.user_id
    assert counts == {1: 10, 2: 10, 3: 10}
    assert order[:6] == [1, 2, 3, 1, 2, 3]


def test_round_robin_survives_candidates_leaving_and_joining() -> None:
    # The last pick (2) left the team: the turn goes to the next id after it.
    assert round_robin([Candidate(1), Candidate(3)], 2).user_id == 3
    assert round_robin([Candidate(1), Candidate(3)], 3).user_id == 1
    assert round_robin([], 3).user_id is None


def test_least_loaded_picks_min_load_with_lowest_id_on_ties() -> None:
    pick = least_loaded(REPS)
    assert pick.user_id == 2 and "lowest load 2" in pick.note
    assert least_loaded(list(reversed(REPS))).user_id == 2  # order of input does not matter


def test_matching_takes_least_loaded_match_and_says_when_nobody_matched() -> None:
    assert matching(REPS, lambda c: c.id != 2, "not bob").user_id == 3
    nobody = matching(REPS, lambda c: False, "industry")
    assert nobody.user_id is None and nobody.note == "nobody matched: industry"


def test_weighted_scores_with_breakdown() -> None:
    weights = [WeightSpec("industry", "行业匹配", 0.6), WeightSpec("capacity", "负载", 0.4)]
    facts: dict[tuple[str, int], Any] = {
        ("industry", 1): True, ("industry", 2): False, ("industry", 3): True,
        ("capacity", 1): 0.5, ("capacity", 2): 0.8, ("capacity", 3): 0.8,
    }
    pick = weighted(REPS, weights, lambda spec, c: facts[(spec.key, c.id)])
    assert pick.user_id == 3
    best = pick.scores[0]
    assert best.user_id == 3 and round(best.total, 6) == 0.92
    assert [(p.key, p.value, p.weight, round(p.points, 6)) for p in best.parts] == [
        ("industry", 1.0, 0.6, 0.6), ("capacity", 0.8, 0.4, 0.32)
    ]
    assert [s.user_id for s in pick.scores] == [3, 1, 2]
    assert "highest score 0.92" in pick.note


def test_weighted_ties_go_to_lower_load_then_lower_id() -> None:
    weights = [WeightSpec("flat", "flat", 1.0)]
    assert weighted(REPS, weights, lambda _s, _c: 1).user_id == 2


def test_values_become_numbers() -> None:
    assert [as_number(v) for v in (True, False, None, 3, "x")] == [1.0, 0.0, 0.0, 3.0, 0.0]
    parts = score(Candidate(1), [WeightSpec("k", "k", 2.0)], lambda _s, _c: None).parts
    assert parts[0].points == 0.0


def test_candidate_attributes_for_me() -> None:
    attrs = Candidate(5, "eve", "rep", "east", 9, load=4, history_matches=2).attributes()
    assert attrs == {"id": 5, "name": "eve", "role": "rep", "region": "east", "manager": 9,
                     "load": 4, "history_matches": 2}
