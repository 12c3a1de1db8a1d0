"""A Flask-AppBuilder data interface for lists at province scale.

- The related records a list shows are loaded in one extra query per relationship (never one
  per row), whatever the page size.
- The interfaces of related models (the search form's and the edit form's drop-downs) are built
  once per interface, not once per drop-down option (Flask-AppBuilder builds a new one to read
  each option's primary key: 500 grids cost 500 interfaces, ~30 ms a page); a query that is not
  paged (a drop-down's options) is not counted apart: its length is its count.
- The record count is exact when it is cheap and estimated when it is not: one count capped
  at ``LIST_COUNT_ESTIMATE_THRESHOLD`` rows is exact for shorter lists; for longer ones
  PostgreSQL's planner estimate (``EXPLAIN (FORMAT JSON)``) is shown, labelled
  "约 1,234,000" (:class:`EstimatedCount`). Other databases then count exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Optional, Sequence, Tuple

from flask import current_app, has_app_context
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.utils.base import get_column_root_relation, is_column_dotted
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import RelationshipProperty, selectinload

from app.views.filters import GridCareFilterConverter


class EstimatedCount(int):
    """A row count that is the planner's estimate: arithmetic as an int (pagination works as
    usual), shown as "约 1,234,000" wherever a template prints it."""

    estimated = True

    def __str__(self) -> str:
        number = format(int(self), ",")
        return gettext("about %(count)s", count=number)

    def __html__(self) -> str:
        return str(escape(str(self)))


class _ConvertedOnce(Filters):
    """FAB converts every column of the model into filter objects each time it builds a list's
    filters (the request's, the row scope's, the inner query's: ~8 ms a page on the work
    order's columns). The conversion depends on the model only, so it is done once per
    interface; each Filters gets its own lists (FAB extends them in place with a view's
    ``search_filters``). The filter objects themselves hold no state."""

    def _get_filters(self, cols: list[str]) -> dict:
        cache = self.datamodel._converted_filters
        key = tuple(cols)
        if key not in cache:
            cache[key] = super()._get_filters(cols)
        return {column: list(filters) for column, filters in cache[key].items()}


class EagerInterface(SQLAInterface):
    filter_converter_class = GridCareFilterConverter

    def __init__(self, obj: Any, eager: Sequence[str] = (), session: Any = None) -> None:
        super().__init__(obj, session=session)
        self.eager = tuple(eager)
        self._converted_filters: dict = {}
        self._related: dict[str, "EagerInterface"] = {}

    def get_related_interface(self, col_name: str) -> "EagerInterface":
        """One interface per related model, kept (it holds no session: it reads the request's)."""
        if col_name not in self._related:
            self._related[col_name] = EagerInterface(self.get_related_model(col_name))
        return self._related[col_name]

    def get_filters(self, search_columns: Optional[list[str]] = None,
                    search_filters: Optional[dict] = None) -> Filters:
        return _ConvertedOnce(self.filter_converter_class, self, search_columns=search_columns or [],
                              search_filters=search_filters)

    def get_inner_filters(self, filters: Optional[Filters]) -> Filters:
        """FAB's, on filters converted once (the inner filters are never extended in place)."""
        inner_filters = _ConvertedOnce(self.filter_converter_class, self)
        if filters:
            kept = []
            for flt, value in zip(filters.filters, filters.values):
                name = flt.column_name
                if not is_column_dotted(name) or self.is_relation_many_to_one(
                        get_column_root_relation(name)) or self.is_relation_one_to_one(get_column_root_relation(name)):
                    kept.append((name, flt.__class__, value))
            inner_filters.add_filter_list(kept)
        return inner_filters

    def query(  # type: ignore[override]
        self,
        filters: Optional[Any] = None,
        order_column: str = "",
        order_direction: str = "",
        page: Optional[int] = None,
        page_size: Optional[int] = None,
        select_columns: Optional[list[str]] = None,
        outer_default_load: bool = False,
    ) -> Tuple[int, list[Any]]:
        query = self.session.query(self.obj)
        localise_datetime_filters(self, filters)
        paged = page_size is not None or page is not None
        count = self.list_count(query, filters, select_columns) if paged else 0
        query = self.apply_all(query, filters, order_column, order_direction, page, page_size,
                               select_columns, outer_default_load)
        if self.eager:
            query = query.options(*(selectinload(getattr(self.obj, name)) for name in self.eager))
        rows = query.all()
        return (count if paged else len(rows)), rows

    # --- counts ----------------------------------------------------------------------------
    def list_count(self, query: Any, filters: Any, select_columns: Any) -> int:
        threshold = _threshold()
        if threshold <= 0:
            return self.query_count(query, filters, select_columns)
        filtered = self._apply_inner_all(query, filters, select_columns=select_columns, aliases_mapping={})
        return count_rows(self.session, filtered.with_entities(*self.obj.__mapper__.primary_key), threshold)


def localise_datetime_filters(datamodel: Any, filters: Optional[Filters]) -> None:
    """A time typed into a filter ("2026-11-01" or "2026-11-01 08:00") is station time
    (Asia/Shanghai); the columns hold aware UTC times.  Values that are not times are a
    400 naming the column, not a silently ignored filter."""
    from dateutil import parser
    from flask import abort

    from app.workflow.calendar import LOCAL_TZ

    if not filters:
        return
    for index, (flt, values) in enumerate(zip(filters.filters, filters.values)):
        if not datamodel.is_datetime(flt.column_name):
            continue
        localised = []
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str):
                try:
                    value = parser.isoparse(value) if "T" in value else parser.parse(value)
                except (ValueError, OverflowError):
                    abort(400, description=gettext("%(column)s: %(value)s is not a date or time.",
                                                   column=flt.column_name, value=value[:40]))
            if isinstance(value, dt.datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=LOCAL_TZ)
            localised.append(value)
        filters.values[index] = localised if isinstance(values, list) else localised[0]


def count_rows(session: Any, query: Any, threshold: int) -> int:
    """The number of rows of ``query`` (a Query of primary keys): exact up to ``threshold``
    rows, counted by one query that stops after ``threshold + 1`` rows (an index scan of a few
    thousand entries); beyond it PostgreSQL's planner estimate, as :class:`EstimatedCount`.
    Other databases count exactly beyond the threshold."""
    query = query.order_by(None)
    if threshold <= 0:
        return int(session.scalar(select(func.count()).select_from(query.subquery())))
    capped = session.scalar(select(func.count()).select_from(query.limit(threshold + 1).subquery()))
    if capped <= threshold:
        return int(capped)
    if session.get_bind().dialect.name != "postgresql":
        return int(session.scalar(select(func.count()).select_from(query.subquery())))
    return EstimatedCount(max(_planner_estimate(session, query), threshold + 1))


def _planner_estimate(session: Any, query: Any) -> int:
    connection = session.connection()
    compiled = query.statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    rows = connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + compiled.string, compiled.params).scalar()
    plan = rows if isinstance(rows, list) else json.loads(rows)
    return int(plan[0]["Plan"]["Plan Rows"])


def _threshold() -> int:
    if not has_app_context():
        return 0
    return int(current_app.config.get("LIST_COUNT_ESTIMATE_THRESHOLD", 10000) or 0)


def relationships_in(model: Any, columns: Sequence[str]) -> list[str]:
    mapper = model.__mapper__
    return [c for c in columns if isinstance(mapper.attrs.get(c), RelationshipProperty)]
