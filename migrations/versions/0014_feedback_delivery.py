"""feedback that never skips: a commit-order number (seq) on the outbox, its counter row,
the delivery state of each result, and the callback URL and secret of each channel

Revision ID: 0014_feedback_delivery
Revises: 0013_order_clocks
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0014_feedback_delivery"
down_revision = "0013_order_clocks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("channel_feedback_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("next_attempt_at", app.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("failed_at", app.models.base.UTCDateTime(), nullable=True))
        batch_op.create_unique_constraint("uq_channel_feedback_outbox_seq", ["seq"])
        batch_op.create_index("ix_feedback_channel_seq", ["channel", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_channel_feedback_outbox_failed_at"), ["failed_at"],
                              unique=False)

    sequence = op.create_table(
        "channel_feedback_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The counter row the sequencer locks; results already in the outbox are numbered by its
    # first run, in id order.
    op.bulk_insert(sequence, [{"id": 1, "last_seq": 0}])

    op.create_table(
        "channel_callback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("start_after_seq", sa.BigInteger(), nullable=False),
        sa.Column("lease_until", app.models.base.UTCDateTime(), nullable=True),
        sa.Column("lease_holder", sa.String(length=64), nullable=True),
        sa.Column("updated_at", app.models.base.UTCDateTime(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["updated_by_id"], ["ab_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel"),
    )


def downgrade() -> None:
    op.drop_table("channel_callback")
    op.drop_table("channel_feedback_sequence")
    with op.batch_alter_table("channel_feedback_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_feedback_outbox_failed_at"))
        batch_op.drop_index("ix_feedback_channel_seq")
        batch_op.drop_constraint("uq_channel_feedback_outbox_seq", type_="unique")
        batch_op.drop_column("failed_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("seq")
