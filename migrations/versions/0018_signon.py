"""single sign-on: the employee number that links a directory (LDAP / OpenID Connect) user to
their staff profile; a profile may wait for its person's first sign-on (no user yet)

Revision ID: 0018_signon
Revises: 0017_order_desk
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_signon"
down_revision = "0017_order_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org_staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employee_no", sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint("uq_org_staff_employee_no", ["employee_no"])
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("org_staff", schema=None) as batch_op:
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_constraint("uq_org_staff_employee_no", type_="unique")
        batch_op.drop_column("employee_no")
