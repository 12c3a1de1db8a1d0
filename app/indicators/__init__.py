"""Indicators (指标): the figures of a station, team, grid or person over a period.

Pure SQLAlchemy, no Flask: every query is limited twice, by the scope asked for and by the
viewer's own row scope (``Actor.order_clause``), so a figure can never include an order the
viewer could not open in the list behind it.
"""

from app.indicators.period import Period, month_period, parse_month  # noqa: F401
from app.indicators.scope import Scope, default_scope, resolve_scope  # noqa: F401
