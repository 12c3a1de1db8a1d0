"""work-point ledger exactly once (kind, reversals, rule set version, fired lines and facts
of each entry) and the login history behind the monthly application rate

Revision ID: 0015_workpoint_ledger
Revises: 0014_feedback_delivery
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0015_workpoint_ledger"
down_revision = "0014_feedback_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("work_point_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="points", nullable=False))
        batch_op.add_column(sa.Column("rule_set_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lines", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reverses_id", sa.Integer(), nullable=True))
        batch_op.alter_column("rule_name", existing_type=sa.String(length=128), type_=sa.String(length=255),
                              existing_nullable=True)
        batch_op.create_foreign_key("fk_work_point_entry_reverses_id", "work_point_entry",
                                    ["reverses_id"], ["id"])
        batch_op.create_index("ix_work_point_order", ["order_id"], unique=False)

    op.create_table(
        "login_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("logged_in_at", app.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_history", schema=None) as batch_op:
        batch_op.create_index("ix_login_history_time_user", ["logged_in_at", "user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_history_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("login_history")
    with op.batch_alter_table("work_point_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_work_point_order")
        batch_op.drop_constraint("fk_work_point_entry_reverses_id", type_="foreignkey")
        batch_op.alter_column("rule_name", existing_type=sa.String(length=255), type_=sa.String(length=128),
                              existing_nullable=True)
        batch_op.drop_column("reverses_id")
        batch_op.drop_column("facts")
        batch_op.drop_column("lines")
        batch_op.drop_column("rule_set_version")
        batch_op.drop_column("kind")
