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
    _upgrade_default_scoring()


def _upgrade_default_scoring() -> None:
    """The default scoring rule set as seeded (version 1 by "system", never edited) scored every
    kind of work with the order rules (a visit got the base points and the late deduction):
    give it a second version with the rules per kind of work.  An edited set is left alone."""
    from app.models.base import utcnow
    from app.rules.seed import DEFAULT_RULE_SETS

    rule_set = sa.table("rule_set", sa.column("id", sa.Integer), sa.column("domain", sa.String),
                        sa.column("name", sa.String), sa.column("version", sa.Integer),
                        sa.column("priority", sa.Integer), sa.column("updated_by", sa.String),
                        sa.column("updated_at", app.models.base.UTCDateTime()),
                        sa.column("description", sa.Text))
    version = sa.table("rule_set_version", sa.column("rule_set_id", sa.Integer), sa.column("version", sa.Integer),
                       sa.column("rules", sa.JSON), sa.column("priority", sa.Integer),
                       sa.column("author", sa.String), sa.column("comment", sa.String),
                       sa.column("created_at", app.models.base.UTCDateTime()))
    bind = op.get_bind()
    for domain, name, _priority, description, rules in DEFAULT_RULE_SETS:
        if domain != "scoring":
            continue
        row = bind.execute(sa.select(rule_set.c.id, rule_set.c.priority).where(
            rule_set.c.domain == domain, rule_set.c.name == name, rule_set.c.version == 1,
            rule_set.c.updated_by == "system")).first()
        if row is None:
            continue
        now = utcnow()
        bind.execute(version.insert().values(rule_set_id=row.id, version=2, rules=rules, priority=row.priority,
                                             author="system", comment="按工作类别计分（迁移 0015）", created_at=now))
        bind.execute(rule_set.update().where(rule_set.c.id == row.id).values(
            version=2, updated_at=now, description=description))


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
