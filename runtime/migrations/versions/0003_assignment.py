"""assignment log and round-robin cursors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "assignment_log",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("entity", sa.String(length=63), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=True),
        sa.Column("field", sa.String(length=63), nullable=False),
        sa.Column("rule_key", sa.String(length=63), nullable=False),
        sa.Column("decided_by", sa.String(length=63), nullable=True),
        sa.Column("strategy", sa.String(length=32), nullable=True),
        sa.Column("assignee_id", sa.BigInteger(), nullable=True),
        sa.Column("trigger_key", sa.String(length=63), nullable=True),
        sa.Column("idempotency_key", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_assignment_log_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assignment_log_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_log")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_assignment_log_idempotency_key")),
    )
    with op.batch_alter_table("assignment_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assignment_log_record", ["app_id", "entity", "record_id", "at"], unique=False
        )
        batch_op.create_index("ix_assignment_log_rule", ["app_id", "rule_key", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_assignment_log_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "assignment_cursors",
        sa.Column("id", _ID, nullable=False),
        sa.Column("workspace_id", _ID, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("rule_key", sa.String(length=63), nullable=False),
        sa.Column("last_user_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_assignment_cursors_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_assignment_cursors_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_cursors")),
        sa.UniqueConstraint(
            "app_id", "rule_key", name=op.f("uq_assignment_cursors_app_id_rule_key")
        ),
    )
    with op.batch_alter_table("assignment_cursors", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assignment_cursors_workspace_id"), ["workspace_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("assignment_cursors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_cursors_workspace_id"))
    op.drop_table("assignment_cursors")
    with op.batch_alter_table("assignment_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assignment_log_workspace_id"))
        batch_op.drop_index("ix_assignment_log_rule")
        batch_op.drop_index("ix_assignment_log_record")
    op.drop_table("assignment_log")
