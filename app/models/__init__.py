"""SQLAlchemy models, one module per domain.

Importing this package registers every table on Flask-AppBuilder's declarative base,
which is what Alembic's autogenerate and the test fixtures look at.
"""

from app.models import channel, customer, notification, org, points, security, workorder  # noqa: F401
from app.models.base import Model  # noqa: F401
