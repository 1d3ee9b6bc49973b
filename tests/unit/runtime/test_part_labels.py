"""Exit-criteria part labels in two languages (`中文 | English` comments)."""

from __future__ import annotations

from runtime.evaluation import part_labels, split_label


def test_a_label_with_a_bar_gives_each_language_its_text() -> None:
    assert split_label("预算已确认 | Budget confirmed") == ("预算已确认", "Budget confirmed")
    assert split_label("预算已确认") == ("预算已确认", "预算已确认")
    assert split_label(None) == (None, None)
    assert split_label(" | Budget confirmed") == ("Budget confirmed", "Budget confirmed")
    assert split_label("a|b") == ("a|b", "a|b")  # only " | " separates languages


def test_part_labels_read_the_comment_ending_each_part() -> None:
    source = "budget != null   # 预算已确认 | Budget confirmed\nand amount > 0   # 金额为正"
    parts = [(1, 1, "budget != null"), (2, 5, "amount > 0")]
    labels = part_labels(source, parts)
    assert [split_label(label) for label in labels] == [
        ("预算已确认", "Budget confirmed"),
        ("金额为正", "金额为正"),
    ]
