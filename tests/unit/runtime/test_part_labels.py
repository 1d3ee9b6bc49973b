"""Exit-criteria parts take their human label from a trailing comment."""

from __future__ import annotations

from runtime.evaluation import part_labels


def test_comments_label_parts_on_their_own_lines() -> None:
    source = 'budget_range != null   # 预算范围已确认\nand count(contacts where role in ["#采购"]) >= 2  # ≥ 2 位决策人'
    parts = [(1, 1, "budget_range != null"), (2, 5, 'count(contacts where role in ["#采购"]) >= 2')]
    assert part_labels(source, parts) == ["预算范围已确认", "≥ 2 位决策人"]


def test_no_label_when_parts_share_a_line_or_have_no_comment() -> None:
    source = "a != null and b > 2  # both"
    assert part_labels(source, [(1, 1, "a != null"), (1, 15, "b > 2")]) == [None, "both"]
    assert part_labels("x > 1", [(1, 1, "x > 1")]) == [None]
    assert part_labels('x == "#no"', [(1, 1, 'x == "#no"')]) == [None]
