"""What every GridCare screen shares: row scope as filters, masking of personal data,
and the refusal of searches on fields the viewer may only see masked."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Any, Callable, Iterator

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import false

from app.extensions import appbuilder, db
from app.security.masking import PERSONAL_FIELDS, masked
from app.workflow.actor import Actor
from app.workflow.errors import MAX_ID, DomainError, OutOfScope


# Labels of columns many screens share; a module's own labels extend (or override) them:
# ``_LABELS = {**COMMON_LABELS, "site": _l("Site")}``.
COMMON_LABELS = {
    "code": _l("Code"), "name": _l("Name"), "station": _l("Station"), "team": _l("Team"), "grid": _l("Grid"),
    "customer": _l("Customer"), "customer_no": _l("Customer number"), "address": _l("Address"),
    "phone": _l("Phone"), "contact_name": _l("Contact"), "transformer": _l("Transformer"),
    "state": _l("State"), "status": _l("Status"), "note": _l("Note"), "reason": _l("Reason"),
    "error": _l("Error"), "active": _l("Active"),
    "updated_at": _l("Updated at"), "started_at": _l("Started at"), "finished_at": _l("Finished at"),
}


def current_actor() -> Actor | None:
    return appbuilder.sm.current_actor()


@dataclass
class Outcome:
    """What became of a ``committed`` block: ``error`` is the domain error refused, if any."""

    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@contextmanager
def committed(*, out_of_scope_404: bool = False, flash_error: bool = True) -> Iterator[Outcome]:
    """Run a screen's call of a domain service and commit it.  On a ``DomainError`` the
    session is rolled back, its message flashed ("danger") and kept in ``outcome.error``;
    with ``out_of_scope_404`` an ``OutOfScope`` answers 404 instead, so a record outside
    the viewer's scope looks like one that does not exist.  The caller decides what follows
    (a success message when ``outcome.ok``, the redirect)::

        with committed(out_of_scope_404=True) as outcome:
            service.do_something(db.session, actor, pk)
        if outcome.ok:
            flash(gettext("Saved"), "success")
    """
    outcome = Outcome()
    try:
        yield outcome
        db.session.commit()
    except OutOfScope as error:
        db.session.rollback()
        if out_of_scope_404:
            abort(404)
        outcome.error = error
    except DomainError as error:
        db.session.rollback()
        outcome.error = error
    if outcome.error is not None and flash_error:
        flash(outcome.error.message, "danger")


def refusal(label: str, error: DomainError) -> str:
    """What a list action says of a selected row it could not act on: the row and the reason
    — except for a row outside the viewer's scope, which is never named."""
    if isinstance(error, OutOfScope):
        return gettext("A selected row is outside your scope.")
    return f"{label}: {error.message}"


class ScopeFilter(BaseFilter):
    """Limits a list to the viewer's row scope; ``scope_of(actor, model)`` gives the clause."""

    name = "scope"
    arg_name = "scope"
    scope_of: Callable[[Actor, Any], Any] = staticmethod(lambda actor, model: actor.order_clause(model))

    def apply(self, query: Any, value: Any) -> Any:
        actor = current_actor()
        if actor is None:
            return query.filter(false())
        return query.filter(self.scope_of(actor, self.model))


class OrderScopeFilter(ScopeFilter):
    pass


class GridScopeFilter(ScopeFilter):
    """For records with a ``grid_id`` (customers, transformers)."""

    scope_of = staticmethod(lambda actor, model: actor.grid_clause(model.grid_id))


class GridRowScopeFilter(ScopeFilter):
    """For the grid table itself."""

    scope_of = staticmethod(lambda actor, model: actor.grid_clause(model.id, model.station_id))


class StationScopeFilter(ScopeFilter):
    """For records with a ``station_id`` (teams, staff): the viewer's own station."""

    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        if actor.is_admin:
            return model.id == model.id
        if actor.station_id is None:
            return false()
        return model.station_id == actor.station_id


class StationRowScopeFilter(ScopeFilter):
    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        if actor.is_admin:
            return model.id == model.id
        if actor.station_id is None:
            return false()
        return model.id == actor.station_id


def mask_formatter(field: str) -> Callable[[Any], Any]:
    def _format(value: Any) -> Any:
        if value is None or value == "":
            return ""
        actor = current_actor()
        return masked(field, value, bool(actor and actor.sees_personal_data))

    return _format


def label_formatter(enum_class: Any) -> Callable[[Any], str]:
    return lambda value: enum_class.label_of(value)


def plain_value(value: Any) -> Any:
    if value is None:
        return ""
    if value is True:
        return gettext("Yes")
    if value is False:
        return gettext("No")
    if isinstance(value, (list, tuple, set)):  # a to-many column (tags): names, never "[]"
        return "、".join(str(getattr(item, "name", None) or item) for item in value)
    return value


def code_value(value: Any) -> Any:
    """A record's code (``important``, ``ST001-G01``): shown as code, not as words to translate."""
    if value is None or value == "":
        return ""
    return Markup('<code class="record-code">{}</code>').format(value)


def _choices_as_selects(cls: Any) -> None:
    """FAB 5 ignores ``form_choices`` (the forms showed free text fields where a drop-down
    was meant, found by the browser tests): make each one a select on the add/edit forms."""
    from flask_appbuilder.fieldwidgets import Select2Widget
    from wtforms import SelectField
    from wtforms.validators import DataRequired, Optional

    for attr, columns in (("add_form_extra_fields", "add_columns"), ("edit_form_extra_fields", "edit_columns")):
        extra = dict(getattr(cls, attr, None) or {})
        for column, choices in cls.form_choices.items():
            if column in extra or column not in (getattr(cls, columns, None) or []):
                continue
            try:
                nullable = cls.datamodel.is_nullable(column)
            except Exception:  # noqa: BLE001 - not a plain column
                nullable = True
            label = (getattr(cls, "label_columns", None) or {}).get(column, column)
            extra[column] = SelectField(
                label, choices=([("", "")] if nullable else []) + list(choices),
                validators=[Optional()] if nullable else [DataRequired()],
                filters=[lambda v: v or None] if nullable else [], widget=Select2Widget())
        setattr(cls, attr, extra)


class GridCareModelView(ModelView):
    """ModelView with row scope, masking, and lists whose related columns are loaded in one
    query each (no N+1).  Its list arguments are checked by ``ListArgumentGuard``."""

    page_size = 25
    personal_fields: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        from flask_appbuilder.models.sqla.interface import SQLAInterface

        from app.views.datamodel import EagerInterface, relationships_in

        # Empty values show as blank and yes/no in the viewer's language, not "None"/"False".
        formatters = dict(getattr(cls, "formatters_columns", {}) or {})
        for column in set(cls.__dict__.get("list_columns") or []) | set(cls.__dict__.get("show_columns") or []):
            formatters.setdefault(column, code_value if column == "code" else plain_value)
        cls.formatters_columns = formatters

        datamodel = cls.__dict__.get("datamodel")
        if isinstance(datamodel, SQLAInterface) and not isinstance(datamodel, EagerInterface):
            columns = cls.__dict__.get("list_columns") or []
            cls.datamodel = EagerInterface(datamodel.obj, relationships_in(datamodel.obj, columns))
        if cls.__dict__.get("form_choices"):
            _choices_as_selects(cls)

    # --- the search form's drop-downs: read once per PERMISSION_CACHE_SECONDS ---------------
    def _get_search_widget(self, form: Any = None, exclude_cols: Any = None, widgets: Any = None) -> Any:
        """The search form's drop-downs (grids, tags…) as the order list's filter bar has them:
        read once per user per PERMISSION_CACHE_SECONDS, not on every page (a province
        administrator's grid drop-down was 500 rows loaded as objects on every page, ~25 ms)."""
        from flask_appbuilder.fields import QuerySelectField

        from app.security.manager import per_user

        actor = current_actor()
        for field in form if form is not None and actor is not None else ():
            if isinstance(field, QuerySelectField):
                key = ("search-options", actor.user_id, self.__class__.__name__, field.name)
                field.query_func = partial(per_user, key, partial(_options, field.query_func, field.get_pk_func))
                field.get_pk_func = attrgetter("pk")
        return super()._get_search_widget(form=form, exclude_cols=exclude_cols, widgets=widgets)

    # --- list actions: only on rows of the viewer's list ----------------------------------
    # Flask-AppBuilder's ``action`` / ``action_post`` load the selected rows without the
    # view's base filters (row scope): any id could be acted on, and named in the messages.
    def rows_in_scope(self, pks: list[str]) -> tuple[list[Any], int]:
        """The selected rows the viewer's list holds, and how many others were selected."""
        scope = self.datamodel.get_filters().add_filter_list(self.base_filters)
        found = []
        for pk in pks:
            item = self.datamodel.get(int(pk), scope) if _is_id(pk) else None
            if item is not None:
                found.append(item)
        return found, len(pks) - len(found)

    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name: str, pk: str) -> Any:
        """One row's action (from its detail page): 404 for an unknown row, 403 for one
        outside the viewer's scope."""
        if not self.is_get_mutation_allowed():
            abort(405)
        chosen = self._permitted_action(name)
        items, _ = self.rows_in_scope([pk])
        if not items:
            known = _is_id(pk) and self.datamodel.get(int(pk)) is not None
            abort(403 if known else 404, description=gettext("A selected row is outside your scope.")
                  if known else None)
        return chosen.func(items[0])

    @expose("/action_post", methods=["POST"])
    def action_post(self) -> Any:
        """The selected rows' action: rows outside the viewer's list are left out, with one
        message that does not name them."""
        chosen = self._permitted_action(request.form.get("action", ""))
        items, refused = self.rows_in_scope(request.form.getlist("rowid"))
        if refused:
            flash(gettext("%(count)d selected rows are outside your scope or no longer exist; they were left out.",
                          count=refused), "warning")
        if not items:
            return redirect(url_for(f"{self.endpoint}.list"))
        return chosen.func(items)

    def _permitted_action(self, name: str) -> Any:
        chosen = self.actions.get(name)
        if chosen is None:
            abort(400, description=gettext("This list has no action %(name)s.", name=name[:40]))
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name), self.class_permission_name):
            abort(403)
        return chosen


# --- list arguments: one allow-list per view and viewer ------------------------------------
# Flask-AppBuilder reads list arguments by *searching* their names (urltools): any name that
# contains ``_flt_<digit>_<column>`` filters, ``_oc_<View>`` sorts, ``page_…`` / ``psize_…``
# are passed to int().  A name is therefore either exactly one this page offers the viewer,
# or refused: 403 when it would filter or sort by a field the viewer sees masked, else 400
# naming it.  Never a prefix match, never a 500.
_FAB_FILTER = re.compile(r"_flt_(\d)_(.*)")
_FAB_ORDER = re.compile(r"_oc_(.*)")
_LIST_ARGUMENT = re.compile(r"_flt_\d_|_oc_|_od_|page_|psize_")
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class ListArguments:
    """What one list view accepts: its filter columns (with the number of operators each has,
    ``_flt_<n>_<column>`` for n below it), its sortable columns, and its masked fields."""

    view: str
    filters: dict[str, int]
    order_columns: frozenset[str]
    personal_fields: frozenset[str]

    @classmethod
    def of(cls, view: Any) -> "ListArguments":
        search = view.datamodel.get_filters(list(view.search_columns),
                                            getattr(view, "search_filters", None)).get_search_filters()
        return cls(view=view.__class__.__name__,
                   filters={column: len(operators) for column, operators in search.items()},
                   order_columns=frozenset(view.order_columns or ()),
                   personal_fields=frozenset(PERSONAL_FIELDS) | frozenset(getattr(view, "personal_fields", ())))

    def allowed(self, sees_personal_data: bool) -> dict[str, Callable[[str], bool]]:
        """Exact argument name -> check of one of its values."""
        masked_out = frozenset() if sees_personal_data else self.personal_fields
        names: dict[str, Callable[[str], bool]] = {}
        for column, count in self.filters.items():
            if column not in masked_out:
                names.update({f"_flt_{n}_{column}": _any_value for n in range(min(count, 10))})
        sortable = self.order_columns - masked_out
        names[f"_oc_{self.view}"] = sortable.__contains__
        names[f"_od_{self.view}"] = ("asc", "desc").__contains__
        names[f"page_{self.view}"] = lambda value: _whole_number(value, 0, MAX_PAGE)
        names[f"psize_{self.view}"] = lambda value: _whole_number(value, 1, MAX_PAGE_SIZE)
        return names


@dataclass(frozen=True)
class _Option:
    """A drop-down option kept between requests: its key and its label, not a database row."""

    pk: Any
    label: str

    def __str__(self) -> str:
        return self.label


def _options(query_func: Callable[[], Any], get_pk: Callable[[Any], Any]) -> list[_Option]:
    return [_Option(get_pk(row), str(row)) for row in query_func()]


def _is_id(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID


def _any_value(_value: str) -> bool:
    return True


def _whole_number(value: str, low: int, high: int) -> bool:
    return value.isascii() and value.isdigit() and low <= int(value) <= high


class ListArgumentGuard:
    """The before-request hook of every generated list screen (and the show/edit pages that
    embed related lists): see the comment above ``_FAB_FILTER``."""

    def __init__(self, appbuilder: Any) -> None:
        from flask_appbuilder.baseviews import BaseCRUDView

        self.views = {view.endpoint: view for view in appbuilder.baseviews if isinstance(view, BaseCRUDView)}
        self._arguments: dict[str, ListArguments] = {}

    def arguments(self, view: Any) -> ListArguments:
        name = view.__class__.__name__
        if name not in self._arguments:
            self._arguments[name] = ListArguments.of(view)
        return self._arguments[name]

    def page_views(self, view: Any) -> list[Any]:
        """The view and the related lists its pages show."""
        related = {cls.__name__ for cls in getattr(view, "related_views", None) or ()}
        return [view, *(v for v in self.views.values() if v.__class__.__name__ in related)]

    def __call__(self) -> None:
        view = self.views.get(request.blueprint or "")
        if view is None or not any(_LIST_ARGUMENT.search(name) for name in request.args):
            return
        actor = current_actor()
        sees = bool(actor and actor.sees_personal_data)
        allowed: dict[str, Callable[[str], bool]] = {}
        masked_fields: set[str] = set()
        for one in self.page_views(view):
            arguments = self.arguments(one)
            allowed.update(arguments.allowed(sees))
            if not sees:
                masked_fields |= arguments.personal_fields
        for name in request.args:
            check = allowed.get(name)
            values = request.args.getlist(name)
            if check is not None and all(check(value) for value in values):
                continue
            if check is None and not _LIST_ARGUMENT.search(name):
                continue  # not a list argument: Flask-AppBuilder ignores it too
            field = _masked_target(name, values, masked_fields)
            if field is not None:
                abort(403, description=gettext("You may not search or sort by %(field)s.", field=field))
            refused = next((value for value in values if check is None or not check(value)), "")
            abort(400, description=gettext("This list does not take %(name)s=%(value)s.",
                                           name=name[:80], value=refused[:40]))


def _masked_target(name: str, values: list[str], masked_fields: set[str]) -> str | None:
    """The masked field a refused argument would have filtered or sorted by, if any."""
    found = _FAB_FILTER.search(name)
    if found and found.group(2) in masked_fields:
        return found.group(2)
    if _FAB_ORDER.search(name) or "_od_" in name:
        for value in values:
            if value in masked_fields:
                return value
    return None
