"""mobile app: the first answer to each Idempotency-Key of each user (offline outbox replays),
and the phone's position when a demand was registered in the field

Revision ID: 0020_mobile
Revises: 0019_boundary
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0020_mobile"
down_revision = "0019_boundary"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mobile_idempotent_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("created_at", app.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_mobile_idempotent_user_key"),
    )
    op.create_index("ix_mobile_idempotent_request_created_at", "mobile_idempotent_request",
                    ["created_at"], unique=False)
    op.create_table(
        "mobile_field_position",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("latitude", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("longitude", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("accuracy_m", sa.Integer(), nullable=True),
        sa.Column("recorded_at", app.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["work_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("order_id"),
    )


def downgrade() -> None:
    op.drop_table("mobile_field_position")
    op.drop_index("ix_mobile_idempotent_request_created_at", table_name="mobile_idempotent_request")
    op.drop_table("mobile_idempotent_request")
