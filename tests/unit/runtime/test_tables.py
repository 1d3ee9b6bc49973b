"""Entity tables built from metadata."""

from __future__ import annotations

from builder.model import Entity, Field, FieldType, LocalizedText, Stage, Step
from expressions.sqltypes import sql_type_for
from expressions.types import DECIMAL
from runtime.tables import bounded, build_table, new_metadata, step_column, table_name_for

L = LocalizedText("x", "x")


def test_names_fit_postgresql_and_stay_stable() -> None:
    long = "a" * 80
    assert len(bounded(long)) == 63 and bounded(long) == bounded(long)
    assert bounded("short") == "short"
    assert table_name_for(12, "visit") == "e12_visit"
    assert step_column("competitor") == "_done_competitor"


def test_table_has_system_stage_step_and_field_columns() -> None:
    entity = Entity(
        key="visit",
        label=L,
        fields=(
            Field("customer", FieldType.LINK, L, target="customer"),
            Field("where", FieldType.LOCATION, L),
            Field("amount", FieldType.MONEY, L, unique=True),
        ),
        steps=(Step("checkin", L, fields=("where",)),),
        stages=(Stage("open", L),),
    )
    table = build_table(new_metadata(), "e1_visit", entity)
    names = [c.name for c in table.columns]
    assert names[:6] == ["id", "created_at", "updated_at", "created_by", "owner", "version"]
    assert {"stage", "stage_entered_at", "_done_checkin", "customer", "where__lat", "where__lng", "where__acc", "amount"} <= set(names)
    indexes = {i.name: (tuple(c.name for c in i.columns), i.unique) for i in table.indexes}
    assert indexes["uq_e1_visit_amount"] == (("amount",), True)
    assert indexes["ix_e1_visit_customer"] == (("customer", "id"), False)  # pages sorted by it
    assert indexes["ix_e1_visit_list"] == (("created_at", "id"), False)
    assert indexes["ix_e1_visit_list__updated"] == (("updated_at", "id"), False)
    assert indexes["ix_e1_visit_list_owner__updated"] == (("owner", "updated_at", "id"), False)
    assert indexes["ix_e1_visit_stage_entered"] == (("stage", "stage_entered_at"), False)
    assert type(table.c.amount.type) is type(sql_type_for(DECIMAL))
