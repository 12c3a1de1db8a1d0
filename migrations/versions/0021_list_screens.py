"""list screens at province scale (issue 18): the bills list's order and the customer number's
prefix search served by indexes

- Bills are listed newest period first, ties by id (Flask-AppBuilder adds the primary key):
  (period, id) gives that order straight from the index; on (period) alone PostgreSQL sorted
  the whole latest month (a million rows, ~1.5 s) to show 25. It replaces (period), whose
  prefix it covers.
- The customer archive's "customer number starts with" is an ILIKE prefix: a B-tree with
  varchar_pattern_ops serves it on PostgreSQL (customer numbers start with digits, which
  have no case); MariaDB's unique index already serves LIKE prefixes, SQLite scans.

Revision ID: 0021_list_screens
Revises: 0020_mobile
"""

from alembic import op

revision = "0021_list_screens"
down_revision = "0020_mobile"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customer_bill", schema=None) as batch_op:
        batch_op.create_index("ix_bill_period_id", ["period", "id"], unique=False)
        batch_op.drop_index("ix_bill_period")
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_customer_no_pattern", "customer", ["customer_no"], unique=False,
                        postgresql_ops={"customer_no": "varchar_pattern_ops"})


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_customer_no_pattern", table_name="customer")
    with op.batch_alter_table("customer_bill", schema=None) as batch_op:
        batch_op.create_index("ix_bill_period", ["period"], unique=False)
        batch_op.drop_index("ix_bill_period_id")
