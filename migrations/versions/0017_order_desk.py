"""the order desk (issue 16): look-up keys of customers' phones for the registration desk,
and typed return-visit questions (yes/no, 1–5 satisfaction, choice, text)

Revision ID: 0017_order_desk
Revises: 0016_lifecycle_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_order_desk"
down_revision = "0016_lifecycle_notifications"
branch_labels = None
depends_on = None

# The seeded questions: two yes/no questions and a satisfaction scale.
_SEEDED_KINDS = {"on_time": "yes_no", "solved": "yes_no", "attitude": "satisfaction"}


def upgrade() -> None:
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("phone_tail_key", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_customer_phone_key"), ["phone_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_phone_tail_key"), ["phone_tail_key"], unique=False)
    with op.batch_alter_table("callback_question", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="text", nullable=False))
        batch_op.add_column(sa.Column("options", sa.String(length=500), nullable=True))

    from app.models.customer import phone_keys

    bind = op.get_bind()
    customer = sa.table("customer", sa.column("id", sa.Integer), sa.column("phone", sa.String),
                        sa.column("phone_key", sa.String), sa.column("phone_tail_key", sa.String))
    last_id = 0
    while True:  # in batches: a province's archive does not fit in memory at once
        rows = bind.execute(sa.select(customer.c.id, customer.c.phone)
                            .where(customer.c.id > last_id, customer.c.phone.is_not(None))
                            .order_by(customer.c.id).limit(5000)).all()
        if not rows:
            break
        for row in rows:
            bind.execute(customer.update().where(customer.c.id == row.id).values(**phone_keys(row.phone)))
        last_id = rows[-1].id
    question = sa.table("callback_question", sa.column("code", sa.String), sa.column("kind", sa.String))
    for code, kind in _SEEDED_KINDS.items():
        bind.execute(question.update().where(question.c.code == code).values(kind=kind))


def downgrade() -> None:
    with op.batch_alter_table("callback_question", schema=None) as batch_op:
        batch_op.drop_column("options")
        batch_op.drop_column("kind")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phone_tail_key"))
        batch_op.drop_index(batch_op.f("ix_customer_phone_key"))
        batch_op.drop_column("phone_tail_key")
        batch_op.drop_column("phone_key")
