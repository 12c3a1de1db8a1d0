"""set-based archive sync: the staging table a batch of customer rows is bulk-loaded into
(COPY on PostgreSQL, executemany elsewhere) before one upsert per batch; keyed by the sync run

Revision ID: 0022_sync_staging
Revises: 0021_list_screens
"""

import sqlalchemy as sa
from alembic import op

import app.models.base

revision = "0022_sync_staging"
down_revision = "0021_list_screens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_staging_customer",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("customer_no", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("customer_type", sa.String(length=32), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("phone_key", sa.String(length=64), nullable=True),
        sa.Column("phone_tail_key", sa.String(length=64), nullable=True),
        sa.Column("id_number", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("grid_code", sa.String(length=32), nullable=True),
        sa.Column("transformer_code", sa.String(length=32), nullable=True),
        sa.Column("meter_no", sa.String(length=32), nullable=True),
        sa.Column("contract_capacity_kva", sa.Numeric(precision=10, scale=1), nullable=True),
        sa.Column("tariff", sa.String(length=64), nullable=True),
        sa.Column("source_updated_at", app.models.base.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "row_number", name="pk_sync_staging_customer"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Rows live only inside one batch's transaction: no need to write them to the WAL.
        op.execute("ALTER TABLE sync_staging_customer SET UNLOGGED")


def downgrade() -> None:
    op.drop_table("sync_staging_customer")
