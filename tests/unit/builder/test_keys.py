"""Keys made from labels: pinyin for Chinese, a slug otherwise, always valid, unique, stable."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.keys import generate_key, label_text, slug
from builder.naming import RESERVED_ENTITY_KEYS, RESERVED_FIELD_KEYS, is_identifier


@pytest.mark.parametrize(
    ("label", "key"),
    [
        ("客户名称", "ke_hu_ming_cheng"),
        ("订单金额", "ding_dan_jin_e"),
        ("重庆门店", "chong_qing_men_dian"),
        ("Order Amount", "order_amount"),
        ("  Café crème!  ", "cafe_creme"),
        ("订单A金额2", "ding_dan_a_jin_e_2"),
        ("2024 目标", "field_2024_mu_biao"),
        ("!!!", "field"),
        ("", "field"),
        ("___", "field"),
    ],
)
def test_a_label_gives_a_readable_key(label: str, key: str) -> None:
    assert generate_key(label) == key


def test_clashes_take_the_first_free_suffix() -> None:
    assert generate_key("客户名称", ["ke_hu_ming_cheng"]) == "ke_hu_ming_cheng_2"
    assert generate_key("客户名称", ["ke_hu_ming_cheng", "ke_hu_ming_cheng_2"]) == "ke_hu_ming_cheng_3"
    assert generate_key("Name", ["name"]) == "name_2"


def test_reserved_names_are_never_given() -> None:
    assert generate_key("ID") == "id_2"
    assert generate_key("Owner") == "owner_2"
    assert generate_key("Users", kind="entity") == "users_2"
    assert generate_key("ID", kind="step") == "id"
    assert generate_key("and", kind="step") == "and_2"


def test_long_labels_stay_within_the_limit_also_with_a_suffix() -> None:
    long = "销售" * 40
    key = generate_key(long)
    assert len(key) <= 63 and is_identifier(key)
    again = generate_key(long, [key])
    assert again != key and len(again) <= 63 and is_identifier(again)


def test_localized_labels_prefer_readable_english() -> None:
    assert generate_key({"zh": "门店销售", "en": "Store sales"}, kind="app") == "store_sales"
    assert generate_key({"zh": "门店销售", "en": ""}, kind="app") == "men_dian_xiao_shou"
    assert label_text({"zh": "门店", "en": "¥¥"}) == "门店"
    assert label_text(None) == "" and slug(42) == "field"


@given(st.text(max_size=80), st.lists(st.text(max_size=20), max_size=5), st.sampled_from(["field", "entity", "step", "app"]))
def test_any_label_gives_a_valid_free_stable_key(label: str, taken: list[str], kind: str) -> None:
    key = generate_key(label, taken, kind=kind)
    assert is_identifier(key)
    assert key not in taken
    assert key not in (RESERVED_FIELD_KEYS if kind == "field" else RESERVED_ENTITY_KEYS if kind == "entity" else set())
    assert generate_key(label, taken, kind=kind) == key
