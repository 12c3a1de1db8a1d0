"""intake across zones: the cursor of the results relay (feedback outbox → gateway)

Revision ID: 0019_boundary
Revises: 0018_signon
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_boundary"
down_revision = "0018_signon"
branch_labels = None
depends_on = None


def upgrade() -> None:
    relay = op.create_table(
        "intake_relay",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(relay, [{"id": 1, "last_seq": 0}])


def downgrade() -> None:
    op.drop_table("intake_relay")
