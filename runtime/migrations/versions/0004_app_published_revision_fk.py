"""apps.published_revision_id references app_revisions

The initial migration declared this foreign key with ``use_alter`` inside
``create_table``, where it is skipped; this adds it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "fk_apps_published_revision_id_app_revisions"


def upgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.create_foreign_key(
            NAME, "app_revisions", ["published_revision_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("apps", schema=None) as batch_op:
        batch_op.drop_constraint(NAME, type_="foreignkey")
