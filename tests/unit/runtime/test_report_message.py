"""A report's text from widget results: headline figures per widget type, links, both languages."""

from __future__ import annotations

from runtime.automation.report_message import Links, format_value, report_text, widget_lines

COUNT = {"key": "n", "label": "数量", "label_en": "Count", "format": "integer"}
AMOUNT = {"key": "amount", "label": "金额", "label_en": "Amount", "format": "money"}
LINKS = Links("https://cairn.example.com/", "review")


def test_number_with_compare_and_drill_link() -> None:
    result = {"key": "total", "type": "number", "label": "商机数", "label_en": "Opportunities",
              "measures": [COUNT, AMOUNT],
              "total": {"values": {"n": 1234, "amount": 56.5}, "previous": {"n": 1000}, "delta": {"n": 0.234}}}
    zh = widget_lines(result, dashboard="weekly_review", entity="opportunity", lang="zh", top=5, links=LINKS)
    assert zh[0] == "**商机数**"
    assert zh[1] == "数量: 1,234(上期 1,000,+23%)"
    assert zh[2] == ("金额: 56.50 https://cairn.example.com/a/review/opportunity/?drill=weekly_review.total")
    en = widget_lines(result, dashboard="weekly_review", entity="opportunity", lang="en", top=5, links=LINKS)
    assert en[0] == "**Opportunities**" and en[1] == "Count: 1,234 (previous 1,000, +23%)"


def test_rows_top_n_with_cell_links_and_more() -> None:
    rows = [{"cell": {"region": r}, "labels": {"region": zh}, "labels_en": {"region": en}, "values": {"n": n}}
            for r, zh, en, n in (("east", "华东", "East", 5), ("south", "华南", "South", 3), ("", "", "", 1))]
    result = {"key": "topics", "type": "bar", "label": "议题", "measures": [COUNT], "rows": rows}
    lines = widget_lines(result, dashboard="weekly_review", entity="opportunity", lang="zh", top=2, links=LINKS)
    assert lines[1] == ("- 华东: 数量 5 https://cairn.example.com/a/review/opportunity/"
                        "?drill=weekly_review.topics&cell.region=east")
    assert lines[2].startswith("- 华南: 数量 3 ")
    assert lines[3] == "… 另有 1 项"
    en = widget_lines({**result, "label_en": "Topics"}, dashboard="weekly_review", entity="opportunity",
                      lang="en", top=5, links=Links(None, "review"))
    assert en == ["**Topics**", "- East: Count 5", "- South: Count 3", "- (empty): Count 1"]


def test_records_sentence_funnel_map() -> None:
    records = {"key": "biggest", "type": "table", "label": "最大", "records": [{"id": 7, "title": "大单"}], "rows": []}
    assert widget_lines(records, dashboard="d", entity="opportunity", lang="zh", top=5, links=LINKS)[1] == \
        "- 大单 https://cairn.example.com/a/review/opportunity/7"
    sentence = {"key": "s", "type": "sentence", "label": "一句话", "sentence": "142 个客户", "sentence_en": "142 customers"}
    assert widget_lines(sentence, dashboard="d", entity=None, lang="en", top=5, links=LINKS)[1] == "142 customers"
    funnel = {"key": "f", "type": "funnel", "label": "漏斗",
              "stages": [{"stage": "contact", "label": "接触", "label_en": "Contact", "count": 50, "conversion": 1.0},
                         {"stage": "proposal", "label": "方案", "label_en": "Proposal", "count": 20, "conversion": 0.4}]}
    lines = widget_lines(funnel, dashboard="d", entity="customer", lang="zh", top=5, links=Links(None, "x"))
    assert lines[1:] == ["- 接触: 50 (100.0%)", "- 方案: 20 (40.0%)"]
    points = {"key": "m", "type": "map", "label": "地图", "points": [{"id": 1}, {"id": 2}]}
    assert widget_lines(points, dashboard="d", entity="customer", lang="zh", top=5, links=Links(None, "x"))[1] == "2 个点位"


def test_report_text_joins_widgets_and_formats() -> None:
    a = {"key": "a", "type": "sentence", "label": "A", "sentence": "一"}
    b = {"key": "b", "type": "sentence", "label": "B", "sentence": "二"}
    assert report_text([(a, None), (b, None)], dashboard="d", lang="zh", top=3, links=Links(None, "x")) == \
        "**A**\n一\n\n**B**\n二"
    assert format_value(0.125, "percent", "zh") == "12.5%" and format_value(None, None, "zh") == "—"
    assert format_value(2.0, "decimal", "en") == "2" and format_value(2.25, "decimal", "en") == "2.25"
    assert LINKS.dashboard("weekly_review") == "https://cairn.example.com/apps/review/dashboards/weekly_review"


def test_a_widget_the_reader_may_not_read_says_so() -> None:
    failed = {"key": "x", "type": "bar", "label": "区域", "label_en": "Regions",
              "error": {"code": "forbidden", "message": "Your role may not read Opportunity.", "message_zh": "无权查看商机。"}}
    assert widget_lines(failed, dashboard="d", entity="o", lang="zh", top=5, links=LINKS) == ["**区域**", "(无法查看:无权查看商机。)"]
    assert widget_lines(failed, dashboard="d", entity="o", lang="en", top=5, links=LINKS)[1] == \
        "(not available: Your role may not read Opportunity.)"
