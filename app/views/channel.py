"""Channel screens: API keys of external platforms (admin), per-channel order lists,
duplicate reviews, smart-urban-management (city_call) registration by district managers,
and internal task templates.  Branch-channel screens live in ``channel_branch``."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose, has_access
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app import clock
from app.channels import apikeys, duplicates, tasks
from app.extensions import db
from app.models.channel import (
    ChannelApiKey,
    ChannelApiKeyUse,
    DuplicateReview,
    DuplicateStatus,
    Recurrence,
    TaskKind,
    TaskTemplate,
)
from app.models.org import Grid
from app.models.workorder import Channel, DemandType, OrderState, WorkOrder
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    GridRowScopeFilter,
    OrderScopeFilter,
    StationScopeFilter,
    committed,
    current_actor,
    label_formatter,
    mask_formatter,
)
from app.views.workorder import WithoutDeleteOrEdit, local_time
from app.workflow import service
from app.workflow.errors import DomainError

CATEGORY = "Channels"
CATEGORY_LABEL = _l("Channels")


# --- API keys (administrators) -----------------------------------------------------------
class ChannelApiKeyView(GridCareModelView):
    datamodel = SQLAInterface(ChannelApiKey)
    list_title = _l("API keys of external channels")
    base_permissions = ["can_list", "can_show", "can_create", "revoke"]
    base_order = ("id", "desc")
    list_columns = ["channel", "name", "station", "prefix", "created_at", "revoked_at"]
    show_columns = ["channel", "name", "station", "prefix", "created_at", "revoked_at"]
    formatters_columns = {"channel": label_formatter(Channel), "created_at": local_time,
                          "revoked_at": local_time}
    label_columns = {"channel": _l("Channel"), "name": _l("Client name"), "prefix": _l("Key prefix"), "station": _l("Station"),
                     "created_at": _l("Created at"), "revoked_at": _l("Revoked at")}

    @expose("/create", methods=["GET", "POST"])
    @has_access
    @permission_name("create")
    def create(self) -> Any:
        """Create a key and show it once; only its hash is stored."""
        plain, key = None, None
        if request.method == "POST":
            actor = current_actor()
            with committed() as outcome:
                new = apikeys.create_key(db.session, request.form.get("channel", ""),
                                         request.form.get("name"), actor.user_id if actor else None,
                                         station_code=request.form.get("station") or None)
            if outcome.ok:
                plain, key = new.plain, new.key
        from app.models.org import Station

        stations = db.session.scalars(select(Station).order_by(Station.code)).all()
        return self.render_template("channel/apikey_create.html", plain=plain, key=key,
                                    channels=Channel.choices(), stations=stations)

    @action("revoke", _l("Revoke"), _l("Revoke the selected keys? Their clients are refused at once."),
            "fa-ban", single=False)
    def revoke(self, items: Any) -> Any:
        actor = current_actor()
        for item in items if isinstance(items, list) else [items]:
            apikeys.revoke_key(db.session, item.id, actor.user_id if actor else None)
        db.session.commit()
        flash(gettext("Keys revoked"), "success")
        return redirect(url_for("ChannelApiKeyView.list"))


class ChannelApiKeyUseView(GridCareModelView):
    datamodel = SQLAInterface(ChannelApiKeyUse)
    list_title = _l("Use of API keys")
    base_permissions = ["can_list"]
    base_order = ("id", "desc")
    list_columns = ["used_at", "api_key", "channel", "method", "path", "status", "external_id", "remote_addr"]
    formatters_columns = {"used_at": local_time}
    label_columns = {"used_at": _l("Time"), "api_key": _l("Key"), "channel": _l("Channel"),
                     "method": _l("Method"), "path": _l("Path"), "status": _l("Status"),
                     "external_id": _l("External ID"), "remote_addr": _l("Address")}


# --- per-channel order lists --------------------------------------------------------------
class ChannelOrderView(WithoutDeleteOrEdit, GridCareModelView):
    """A list of one channel's orders in the viewer's scope; details open the order page."""

    datamodel = SQLAInterface(WorkOrder)
    channel = ""
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_columns = ["number", "demand_type", "contact_name", "phone", "grid", "assignee", "state",
                    "deadline", "registered_at"]
    search_columns = ["number", "demand_type", "state", "grid", "assignee", "registered_at", "deadline"]
    personal_fields = ("phone",)
    formatters_columns = {
        "demand_type": label_formatter(DemandType), "state": label_formatter(OrderState),
        "phone": mask_formatter("phone"), "deadline": local_time, "registered_at": local_time,
    }
    label_columns = {
        "number": _l("Number"), "demand_type": _l("Demand type"), "contact_name": _l("Contact"),
        "phone": _l("Phone"), "grid": _l("Grid"), "assignee": _l("Assignee"), "state": _l("State"),
        "deadline": _l("Deadline"), "registered_at": _l("Registered at"),
    }

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        return redirect(url_for("WorkOrderView.show", pk=pk))


def _channel_view(channel: Channel) -> type[ChannelOrderView]:
    words = channel.value.replace("_", " ").title().replace(" ", "")
    return type(f"{words}OrderView", (ChannelOrderView,), {
        "channel": channel.value,
        "list_title": _l(channel.label),  # type: ignore[attr-defined]
        "base_filters": [["id", OrderScopeFilter, None], ["channel", FilterEqual, channel.value]],
    })


CHANNEL_VIEWS = {c.value: _channel_view(c) for c in Channel}


def channel_menu(code: str) -> str:
    return f"Channel orders: {code}"


class ChannelOverviewView(BaseView):
    """Each channel's own figures in the viewer's scope, linking to the channel's list."""

    route_base = "/channels"
    default_view = "overview"
    base_permissions = ["can_overview"]

    @expose("/overview", methods=["GET"])
    @has_access
    @permission_name("overview")
    def overview(self) -> Any:
        import datetime as dt

        from app.channels.figures import channel_figures
        from app.workflow.calendar import LOCAL_TZ

        actor = current_actor()
        assert actor is not None
        today = clock.today()

        def day(name: str, default: dt.date) -> dt.date:
            try:
                return dt.date.fromisoformat(request.args.get(name) or default.isoformat())
            except ValueError:
                flash(gettext("Dates are written YYYY-MM-DD."), "danger")
                return default

        start = day("from", today.replace(day=1))
        end = day("to", today)
        to_utc = lambda d: dt.datetime.combine(d, dt.time(), LOCAL_TZ)  # noqa: E731
        figures = channel_figures(db.session, actor, to_utc(start), to_utc(end + dt.timedelta(days=1)))
        rows = [{
            "channel": f.channel, "label": gettext(Channel(f.channel).label),  # type: ignore[attr-defined]
            "url": url_for(f"{CHANNEL_VIEWS[f.channel].__name__}.list"), "total": f.total,
            "open": f.open, "resolved": f.resolved, "timely_rate": f.timely_rate,
            "duplicates": f.duplicates, "children": f.children,
        } for f in figures]
        return self.render_template("channel/overview.html", rows=rows, start=start.isoformat(),
                                    end=end.isoformat())


# --- duplicates -------------------------------------------------------------------------
class DuplicateReviewView(GridCareModelView):
    datamodel = SQLAInterface(DuplicateReview)
    list_title = _l("Possible duplicates")
    base_permissions = ["can_list", "can_show", "merge", "keep"]
    base_filters = [["id", OrderScopeFilter, None]]
    base_order = ("id", "desc")
    list_columns = ["order", "duplicate_of", "similarity", "matched_on", "status", "created_at"]
    show_columns = list_columns
    search_columns = ["status", "created_at"]
    formatters_columns = {"status": label_formatter(DuplicateStatus), "created_at": local_time}
    label_columns = {"order": _l("Order"), "duplicate_of": _l("Earlier order"),
                     "similarity": _l("Similarity"), "matched_on": _l("Matched on"),
                     "status": _l("Decision"), "created_at": _l("Flagged at")}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        """The review with both orders' timelines side by side (after a merge: the merged one's)."""
        widgets = self._show(pk)  # 404 outside the viewer's scope
        review = db.session.get(DuplicateReview, int(pk))
        assert review is not None
        original = review.duplicate_of
        timelines = [
            (gettext("Earlier order"), original, duplicates.merged_timeline(db.session, original)),
            (gettext("Order"), review.order, list(review.order.events)),
        ]
        return self.render_template("channel/duplicate_show.html", pk=pk, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views,
                                    timelines=timelines, local_time=local_time,
                                    state_label=OrderState.label_of)

    def _decide(self, items: Any, merge: bool) -> Any:
        actor = current_actor()
        assert actor is not None
        for item in items if isinstance(items, list) else [items]:
            try:
                with db.session.begin_nested():
                    review = duplicates.decide(db.session, actor, item.id, merge=merge)
                flash(gettext("%(order)s: %(decision)s", order=review.order.number,
                              decision=DuplicateStatus.label_of(review.status)), "success")
            except DomainError as error:
                flash(error.message, "danger")
        db.session.commit()
        return redirect(url_for("DuplicateReviewView.list"))

    @action("merge", _l("Merge into the earlier order"), _l("Merge the selected orders?"), "fa-compress")
    def merge(self, items: Any) -> Any:
        return self._decide(items, merge=True)

    @action("keep", _l("Keep separate"), None, "fa-clone")
    def keep(self, items: Any) -> Any:
        return self._decide(items, merge=False)


# --- smart urban management: registration by district managers -----------------------------
CITY_CALL_TYPES = [t for t in DemandType if t != DemandType.SERVICE]
_PERSON_FIELDS = [
    ("customer_no", _l("Customer number"), False), ("contact_name", _l("Contact"), False),
    ("phone", _l("Phone"), True), ("address", _l("Address"), False), ("content", _l("Content"), True),
]


def read_form(names: list[str]) -> dict[str, Any]:
    return {name: (request.form.get(name) or "").strip() for name in names}


class CityCallView(BaseView):
    """A district manager registers a call a customer made to them directly."""

    route_base = "/citycall"
    default_view = "register"
    base_permissions = ["can_register"]

    @expose("/register", methods=["GET", "POST"])
    @has_access
    @permission_name("register")
    def register(self) -> Any:
        actor = current_actor()
        assert actor is not None
        grids = list(db.session.scalars(select(Grid).where(actor.grid_clause(Grid.id, Grid.station_id))
                                        .order_by(Grid.code)))
        form = read_form(["place", "demand_type", *[f[0] for f in _PERSON_FIELDS]])
        errors: dict[str, str] = {}
        if request.method == "POST":
            with committed() as outcome:
                grid_id = int(form["place"]) if form["place"].isdigit() else None
                if grid_id not in {g.id for g in grids}:
                    abort(403)
                if form["demand_type"] == DemandType.SERVICE.value:
                    raise_invalid("demand_type", gettext("choose one of the smart urban management types"))
                order = service.register_order(
                    db.session, actor, channel=Channel.CITY_CALL.value,
                    demand_type=form["demand_type"], content=form["content"],
                    contact_name=form["contact_name"] or None, phone=form["phone"] or None,
                    address=form["address"] or None, customer_no=form["customer_no"] or None,
                    grid_id=None if form["customer_no"] else grid_id)
            if outcome.error is not None:
                errors[outcome.error.field or "content"] = outcome.error.message
            else:
                flash(gettext("Registered as %(number)s", number=order.number), "success")
                return redirect(url_for("WorkOrderView.show", pk=order.id))
        return self.render_template(
            "channel/register.html", title=gettext("Register a smart urban management call"),
            intro=None, place_label=gettext("Grid"), places=grids,
            no_place_message=gettext("You own no grid, so there is nothing to register for."),
            demand_types=[(t.value, gettext(t.label)) for t in CITY_CALL_TYPES],  # type: ignore[attr-defined]
            fields=_PERSON_FIELDS, form=form, errors=errors)


def raise_invalid(field: str, message: str) -> None:
    from app.workflow.errors import InvalidInput

    raise InvalidInput(message, field=field)


# --- internal tasks ---------------------------------------------------------------------------
class TaskTemplateView(GridCareModelView):
    datamodel = SQLAInterface(TaskTemplate)
    list_title = _l("Task templates")
    add_title = _l("Set a task")
    base_filters = [["id", StationScopeFilter, None]]
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["title", "kind", "recurrence", "assignee", "team", "grid",
                    "deadline_working_days", "work_points", "active"]
    show_columns = ["title", "kind", "content", "recurrence", "station", "team", "grid", "assignee",
                    "deadline_working_days", "work_points", "starts_on", "active", "created_at"]
    add_columns = ["title", "kind", "content", "recurrence", "assignee", "team", "grid",
                   "deadline_working_days", "work_points", "starts_on"]
    edit_columns = [*add_columns, "active"]
    form_choices = {"kind": TaskKind.choices(), "recurrence": Recurrence.choices()}
    add_form_query_rel_fields = {
        "assignee": [["id", StationScopeFilter, None]],
        "team": [["id", StationScopeFilter, None]],
        "grid": [["id", GridRowScopeFilter, None]],
    }
    edit_form_query_rel_fields = add_form_query_rel_fields
    formatters_columns = {"kind": label_formatter(TaskKind), "recurrence": label_formatter(Recurrence),
                          "created_at": local_time}
    label_columns = {**COMMON_LABELS, "title": _l("Title"), "kind": _l("Kind"), "content": _l("Content"),
                     "recurrence": _l("Repeats"), "assignee": _l("Assignee"),
                     "deadline_working_days": _l("Deadline (working days)"),
                     "work_points": _l("Work points"), "starts_on": _l("Starts on"),
                     "created_at": _l("Created at")}

    def _prepare(self, item: TaskTemplate) -> None:
        actor = current_actor()
        assert actor is not None
        if item.station_id is None:
            item.station_id = actor.station_id or (item.assignee.station_id if item.assignee else None) \
                or (item.team.station_id if item.team else None)
        if item.team_id is None and item.team is None and item.assignee is not None:
            item.team_id = item.assignee.team_id
        if item.deadline_working_days is None or item.deadline_working_days < 1:
            item.deadline_working_days = 1
        tasks.check_template(db.session, actor, item)

    def pre_add(self, item: TaskTemplate) -> None:
        actor = current_actor()
        item.created_by_id = actor.user_id if actor else None
        self._prepare(item)

    def pre_update(self, item: TaskTemplate) -> None:
        self._prepare(item)

    def post_add(self, item: TaskTemplate) -> None:
        # The current period's order is issued at once; the scheduler issues the next ones.
        orders = tasks.generate_due_tasks(db.session, template_ids=[item.id])
        db.session.commit()
        for order in orders:
            flash(gettext("Issued as %(number)s", number=order.number), "success")


def register(appbuilder: Any) -> None:
    from app.views import channel_branch, channel_callback

    appbuilder.add_view(ChannelOverviewView, "Orders by channel", icon="fa-bar-chart",
                        category=CATEGORY, label=_l("Orders by channel"), category_label=CATEGORY_LABEL)
    for code, view in CHANNEL_VIEWS.items():
        label = Channel(code).label  # type: ignore[attr-defined]
        # The menu name is the permission's name: keyed by the code, so no other menu (the
        # "On-site" category…) shares it; the label shown is the channel's.
        appbuilder.add_view(view, channel_menu(code), icon="fa-inbox", category=CATEGORY,
                            label=_l(label), category_label=CATEGORY_LABEL)
    appbuilder.add_view(DuplicateReviewView, "Possible duplicates", icon="fa-clone",
                        category=CATEGORY, label=_l("Possible duplicates"), category_label=CATEGORY_LABEL)
    appbuilder.add_view(CityCallView, "Register a city call", icon="fa-phone", category=CATEGORY,
                        label=_l("Register a city call"), category_label=CATEGORY_LABEL)
    channel_branch.register(appbuilder, CATEGORY, CATEGORY_LABEL)
    appbuilder.add_view(TaskTemplateView, "Tasks", icon="fa-calendar-check-o", category="Work orders",
                        label=_l("Tasks"), category_label=_l("Work orders"))
    appbuilder.add_view(ChannelApiKeyView, "API keys", icon="fa-key", category="Settings",
                        label=_l("API keys"), category_label=_l("Settings"))
    appbuilder.add_view(ChannelApiKeyUseView, "API key use", icon="fa-list", category="Settings",
                        label=_l("API key use"), category_label=_l("Settings"))
    channel_callback.register(appbuilder)
