"""SQLAlchemy models, one module per domain.

Importing this package registers every table on Flask-AppBuilder's declarative base,
which is what Alembic's autogenerate and the test fixtures look at.
"""

from app.models import (  # noqa: F401
    announcement,
    calendar,
    channel,
    clocks,
    customer,
    document,
    energy,
    gateway,
    jobs,
    login,
    mobile,
    notification,
    onsite,
    org,
    points,
    report,
    rules,
    security,
    sync,
    workorder,
)
from app.models.base import Model  # noqa: F401
