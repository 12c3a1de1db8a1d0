"""The work-order list screen, built for province scale.

Flask-AppBuilder's generated list loads whole ORM rows, renders a generic search widget with
every searchable column and runs the filter drop-downs' queries on every page (~80 ms per
page, most of it outside the database).  This screen keeps FAB's URL arguments — filters
``_flt_<n>_<column>``, order ``_oc_/_od_WorkOrderView``, ``page_`` / ``psize_WorkOrderView``
— so bookmarks and the dashboard's links keep working, and:

- selects only the listed columns, with grid and assignee names joined in the same query;
- counts with one capped query (exact up to ``LIST_COUNT_ESTIMATE_THRESHOLD`` rows, then the
  planner's estimate, labelled "about …");
- renders a filter bar of the fields people filter by (state, priority, channel, demand
  type, grid, assignee, number, contact) plus chips for any other active filter;
- reads the viewer's grids and colleagues for the drop-downs once per
  ``PERMISSION_CACHE_SECONDS`` (see ``app.security.manager``).

The number of queries does not depend on the page size (``tests/test_list_query_counts.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import abort, request, url_for
from flask_appbuilder.models.filters import Filters
from flask_appbuilder.urltools import get_filter_args
from flask_babel import get_locale, gettext
from sqlalchemy import select

from app.arguments import ANY_CLOCK, int_arg, order_list_filters
from app.models.base import utcnow
from app.models.clocks import ClockKind
from app.models.org import Grid, StaffProfile
from app.models.workorder import (
    OPEN_STATES,
    Channel,
    DemandType,
    OrderState,
    Priority,
    SupervisionLevel,
    WorkOrder,
)
from app.security.masking import masked
from app.views.common import MAX_PAGE
from app.views.datamodel import count_rows, localise_datetime_filters
from app.views.clocks import describe_left
from app.workflow import clocks
from app.workflow.actor import Actor
from app.workflow.calendar import LOCAL_TZ

VIEW = "WorkOrderView"
PAGE_SIZES = (25, 50, 100)  # offered under the list; any size up to MAX_PAGE_SIZE is taken
MAX_PAGE_SIZE = 100
ENUMS = {
    "channel": Channel, "demand_type": DemandType, "state": OrderState,
    "priority": Priority, "supervision_level": SupervisionLevel,
}
BAR_ENUMS = ("state", "priority", "channel", "demand_type")
LABELLED = ("number", "channel", "demand_type", "contact_name", "phone", "grid", "assignee", "state",
            "priority", "deadline", "supervision_level")
# The filter bar's fields as FAB filter arguments: index 3 of a string column's filters is
# "equal to" (after starts with, ends with, contains), 2 is "contains", and 0 of a
# many-to-one column is "relation".
EQUAL, CONTAINS, RELATION = 3, 2, 0
BAR_KEYS = {
    **{name: f"_flt_{EQUAL}_{name}" for name in BAR_ENUMS},
    "grid": f"_flt_{RELATION}_grid", "assignee": f"_flt_{RELATION}_assignee",
    "number": f"_flt_{CONTAINS}_number", "contact_name": f"_flt_{CONTAINS}_contact_name",
}
_FILTER_ARG = re.compile(r"^_flt_(\d)_(\w+)$")


@dataclass
class Listing:
    columns: list[str]
    rows: list[dict[str, Any]]
    count: int
    page: int
    page_size: int
    order_column: str
    order_direction: str
    chips: list[dict[str, str]] = field(default_factory=list)
    bar: dict[str, str] = field(default_factory=dict)  # the filter bar's arguments in the request
    named: dict[str, str] = field(default_factory=dict)  # ?overdue=1 and the like (app.arguments)

    @property
    def pages(self) -> int:
        return max(1, -(-int(self.count) // self.page_size))

    def url(self, **changes: Any) -> str:
        """This list's URL with some arguments changed (None removes one)."""
        args = [(k, v) for k, v in request.args.items(multi=True) if k not in changes]
        for key, value in changes.items():
            if value is None:
                continue
            for one in value if isinstance(value, (list, tuple)) else [value]:
                args.append((key, one))
        return request.path + ("?" + urlencode(args) if args else "")

    def sort_url(self, column: str) -> str:
        direction = "desc" if column == self.order_column and self.order_direction == "asc" else "asc"
        return self.url(**{f"_oc_{VIEW}": column, f"_od_{VIEW}": direction, f"page_{VIEW}": None})

    def page_url(self, page: int) -> str:
        return self.url(**{f"page_{VIEW}": page})

    def named_url(self, name: str, value: str | None) -> str:
        """This list with one named filter set (or removed), the other of 超期 / 即将超期 off."""
        other = {"overdue": "due_soon", "due_soon": "overdue"}.get(name)
        changes: dict[str, Any] = {name: value, f"page_{VIEW}": None}
        if other:
            changes[other] = None
        return self.url(**changes)

    @property
    def clock_choices(self) -> list[tuple[str, str]]:
        """The 超期 / 即将超期 buttons' clocks: any, then each kind."""
        return [(ANY_CLOCK, gettext("All clocks")), *((k.value, gettext(k.label)) for k in ClockKind)]


def build(view: Any, actor: Actor, session: Any, threshold: int) -> Listing:
    """The page the request asks for: filters, order, page; 400 on malformed arguments."""
    columns = list(view.list_columns)
    now = utcnow()
    # The request's filters and the view's row scope, built through FAB's public interface
    # for this request only (not FAB's shared ``view._filters``).
    filters = view.datamodel.get_filters(list(view.search_columns), getattr(view, "search_filters", None))
    get_filter_args(filters)
    localise_datetime_filters(view.datamodel, filters)
    scope = view.datamodel.get_filters().add_filter_list(view.base_filters)
    named = order_list_filters(k.value for k in ClockKind)
    joined = _JoinedFilters(filters, scope, _NamedFilters(named, now))

    order_column, order_direction = view.base_order
    requested = request.args.get(f"_oc_{VIEW}")
    if requested:
        direction = request.args.get(f"_od_{VIEW}", "asc")
        if requested not in columns or direction not in ("asc", "desc"):
            abort(400, description=gettext("This list cannot be sorted by %(column)s.", column=requested))
        order_column, order_direction = requested, direction
    page_size = int_arg(f"psize_{VIEW}", view.page_size, low=1, high=MAX_PAGE_SIZE)
    page = int_arg(f"page_{VIEW}", 0, low=0, high=MAX_PAGE)

    grid, assignee = Grid, StaffProfile  # joined once each: no alias needed
    counted = view.datamodel.apply_filters(session.query(WorkOrder.id), joined)
    count = count_rows(session, counted, threshold)
    sort_keys = {"grid": grid.name, "assignee": assignee.name}
    sort = sort_keys.get(order_column, getattr(WorkOrder, order_column))
    sort = sort.desc() if order_direction == "desc" else sort.asc()
    tie = WorkOrder.id.desc() if order_direction == "desc" else WorkOrder.id.asc()
    plain = [c for c in columns if c not in ("grid", "assignee")]
    query = (session.query(WorkOrder.id, WorkOrder.deadline_provisional, WorkOrder.suspended.label("_suspended"),
                           *(getattr(WorkOrder, c) for c in plain),
                           grid.name.label("grid"), assignee.name.label("assignee"))
             .select_from(WorkOrder)
             .outerjoin(grid, grid.id == WorkOrder.grid_id)
             .outerjoin(assignee, assignee.id == WorkOrder.assignee_id))
    query = view.datamodel.apply_filters(query, joined)
    records = query.order_by(sort, tie).limit(page_size).offset(page * page_size).all()

    labels = enum_labels()
    nearest = clocks.nearest_open_by_order(session, [r.id for r in records])
    kind_labels = {k.value: gettext(k.label) for k in ClockKind}
    show = url_for(f"{VIEW}.show", pk=0)[:-1]
    rows = []
    for record in records:
        row = dict(record._mapping)
        row["url"] = f"{show}{record.id}"
        for name, mapping in labels.items():
            if name in row and row[name] is not None:
                row[name] = mapping.get(row[name], row[name])
        if "phone" in row:
            row["phone"] = masked("phone", row["phone"], actor.sees_personal_data)
        deadline = record.deadline if "deadline" in columns else None
        # Red exactly when the 超期 button lists it: open, running (not suspended), past a deadline.
        row["overdue"] = bool(deadline and deadline < now and record.state in OPEN_STATES and not record._suspended)
        row["deadline"] = _local(deadline)
        # The open clock falling due first, with its time left (stopped while suspended).
        found = nearest.get(record.id) if record.state in OPEN_STATES else None
        row["next_clock"] = None
        if found is not None:
            clock, suspended = found
            assert clock.deadline is not None
            left = clocks.time_left(clock.deadline, now, bool(clock.round_the_clock))
            late = left.total_seconds() < 0 and not suspended
            row["overdue"] = row["overdue"] or late
            row["next_clock"] = {"kind": clock.kind, "label": kind_labels.get(clock.kind, clock.kind),
                                 "deadline": _local(clock.deadline), "late": late,
                                 "left": gettext("Clock stopped") if suspended else describe_left(left)}
        rows.append(row)
    listing = Listing(columns=columns, rows=rows, count=count, page=page, page_size=page_size,
                      order_column=order_column, order_direction=order_direction)
    listing.named = named
    _describe_filters(view, filters, listing)
    return listing


class _JoinedFilters:
    """The request's filters, the view's base filters (row scope) and the named filters,
    applied in turn through each one's ``apply_all``."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    def apply_all(self, query: Any) -> Any:
        for part in self.parts:
            query = part.apply_all(query)
        return query


class _NamedFilters:
    """``?overdue=1`` (or a clock kind), ``?due_soon=…``, ``?overdue_month=YYYY-MM``,
    ``?supervised_month=YYYY-MM`` (allow-listed in ``app.arguments``) as SQL: the same
    clauses the dashboard and the monthly report count with."""

    def __init__(self, named: dict[str, str], now: dt.datetime) -> None:
        self.named, self.now = named, now

    def apply_all(self, query: Any) -> Any:
        from app.indicators.period import parse_month
        from app.indicators.queries import month_overdue_clause, month_supervised_clause

        for name, value in self.named.items():
            kind = None if value == ANY_CLOCK else value
            if name == "overdue":
                query = query.filter(clocks.overdue_clause(self.now, kind))
            elif name == "due_soon":
                query = query.filter(clocks.due_soon_clause(self.now, kind))
            elif name == "overdue_month":
                query = query.filter(month_overdue_clause(parse_month(value), self.now))
            elif name == "supervised_month":
                query = query.filter(month_supervised_clause(parse_month(value)))
        return query


_ENUM_LABELS: dict[str, dict[str, dict[str, str]]] = {}


def enum_labels() -> dict[str, dict[str, str]]:
    """{column: {value: label}} in the viewer's language (computed once per language)."""
    locale = str(get_locale())
    if locale not in _ENUM_LABELS:
        _ENUM_LABELS[locale] = {name: {m.value: gettext(m.label) for m in enum} for name, enum in ENUMS.items()}
    return _ENUM_LABELS[locale]


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _describe_filters(view: Any, filters: Filters, listing: Listing) -> None:
    """The filter bar's current values, and a chip (with a remove link) for every other one:
    named filters in words, times in station time."""
    bar_keys = set(BAR_KEYS.values())
    search_filters = filters.get_search_filters()
    for name, value in listing.named.items():
        listing.chips.append({"label": named_filter_label(name, value), "operator": "", "value": "",
                              "remove": listing.url(**{name: None, f"page_{VIEW}": None})})
    for key in request.args:
        match = _FILTER_ARG.match(key)
        if not match:
            continue
        index, column = int(match.group(1)), match.group(2)
        if key in bar_keys:
            listing.bar[key] = request.args.get(key, "")
            continue
        choices = search_filters.get(column) or []
        if index >= len(choices):
            continue
        values = request.args.getlist(key)
        enum = ENUMS.get(column)
        if enum:
            shown = [enum.label_of(v) for v in values]
        elif view.datamodel.is_datetime(column):
            shown = [_local_text(v) for v in values]
        elif view.datamodel.is_boolean(column):
            shown = [gettext("Yes") if v in ("y", "1", "true", "on") else gettext("No") for v in values]
        else:
            shown = values
        listing.chips.append({
            "label": str(view.label_columns.get(column, column)),
            "operator": gettext(str(choices[index].name)),
            "value": ", ".join(shown),
            "remove": listing.url(**{key: None, f"page_{VIEW}": None}),
        })


def _local_text(value: str) -> str:
    """A time typed or linked into a filter, as station time ("2026-12-01 11:57")."""
    from dateutil import parser

    try:
        moment = parser.isoparse(value) if "T" in value else parser.parse(value)
    except (ValueError, OverflowError):
        return value
    if moment.tzinfo is None:
        return moment.strftime("%Y-%m-%d %H:%M")
    return _local(moment)


def named_filter_label(name: str, value: str) -> str:
    """A named filter in words: "超期（首次联系）", "2026-11 超期"."""
    if name in ("overdue", "due_soon"):
        word = gettext("Past a deadline") if name == "overdue" else gettext("Falling due soon")
        if value == ANY_CLOCK:
            return word
        return gettext("%(what)s (%(clock)s)", what=word, clock=ClockKind.label_of(value))
    if name == "overdue_month":
        return gettext("Overdue in %(month)s", month=value)
    return gettext("Supervised in %(month)s", month=value)


MAX_OPTIONS = 500


def filter_options(session: Any, actor: Actor) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The grids and colleagues the viewer may filter by (their scope, not the province).
    A drop-down longer than MAX_OPTIONS (a province administrator's) is left out: such a
    viewer filters from the dashboard's links or by URL."""
    def options(query: Any) -> list[tuple[int, str]]:
        rows = [(row[0], row[1]) for row in session.execute(query.limit(MAX_OPTIONS + 1))]
        return rows if len(rows) <= MAX_OPTIONS else []

    grids = options(select(Grid.id, Grid.name).where(actor.grid_clause(Grid.id, Grid.station_id))
                    .order_by(Grid.code))
    staff_query = select(StaffProfile.id, StaffProfile.name)
    if not actor.is_admin:
        staff_query = staff_query.where(StaffProfile.station_id == actor.station_id)
    return grids, options(staff_query.order_by(StaffProfile.name))
