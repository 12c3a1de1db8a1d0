"""Work-order screens: the list of the viewer's scope, registration, the detail page with
its timeline and the lifecycle buttons, and bulk dispatch.  Every change goes through
``app.workflow.service``."""

from __future__ import annotations

from typing import Any

from urllib.parse import urlencode

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import action, expose, has_access
from flask_appbuilder.exceptions import ApplyFilterException
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access_api, permission_name
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf.csrf import CSRFError, validate_csrf
from limits import parse as parse_limit
from marshmallow import ValidationError as SchemaError
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.exc import StatementError
from wtforms import ValidationError

from app import clock
from app.api.schemas import desk as desk_schemas
from app.channels import desk
from app.extensions import db
from app.models.clocks import ClockKind
from app.models.workorder import (
    CallbackQuestion,
    Channel,
    DemandType,
    ExtensionRequest,
    ExtensionStatus,
    OrderState,
    Priority,
    QuestionKind,
    ReturnVisit,
    SupervisionLevel,
    WorkOrder,
    WorkOrderEvent,
)
from app.security.manager import per_user
from app.security.masking import masked
from app.views import order_list, order_timeline
from app.views.clocks import describe_left
from app.views.datamodel import EstimatedCount
from app.views.common import (
    GridCareModelView,
    GridRowScopeFilter,
    OrderScopeFilter,
    StationScopeFilter,
    current_actor,
    label_formatter,
    mask_formatter,
    refusal,
)
from app.workflow import clocks, service
from app.workflow.calendar import LOCAL_TZ
from app.workflow.errors import MAX_ID, DomainError

_FORM_FIELDS = {
    "dispatch": ("assignee", "note", "confirm_leave"),
    "accept": ("note",),
    "return": ("reason",),
    "resolve": ("resolution",),
    "reject": ("reason",),
    "verify": ("note",),
    "evaluate": ("timeliness", "quality", "attitude", "comment"),
    "urge": ("note",),
    "supervise": ("level", "note"),
    "reopen": ("reason",),
    "suspend": ("reason",),
    "resume": ("note",),
    "extend": ("days", "reason"),
    "approve_extension": ("days", "note"),
    "refuse_extension": ("reason",),
    "callback": ("satisfied", "note"),
    "contact": ("note",),
    "arrive": ("latitude", "longitude", "note"),
    "transfer": ("assignee", "reason", "confirm_leave"),
    "amend": ("content", "priority", "note"),
    "void": ("reason",),
}


# How the order page draws each action: destructive ones red and confirmed before they go,
# confirming ones green; the rest plain.  Actions with no required input are one click.
DESTRUCTIVE_ACTIONS = ("reject", "return", "void", "refuse_extension", "reopen")
CONFIRMING_ACTIONS = ("verify", "accept", "resolve", "evaluate", "approve_extension")
ONE_CLICK_ACTIONS = ("accept", "verify", "urge", "resume", "contact")
# The order page's facts, in this order; empty ones are left out.  Number, state, customer,
# contact and phone stand in the header.
FACT_COLUMNS = (
    "channel", "demand_type", "priority", "supervision_level", "address", "content", "station", "team",
    "grid", "assignee", "received_at", "registered_at", "dispatched_at", "accepted_at", "resolved_at",
    "verified_at", "evaluated_at", "deadline", "deadline_provisional", "source_deadline", "resolution",
    "timely", "score", "score_timeliness", "score_quality", "score_attitude", "evaluation_comment",
    "urge_count", "return_count", "external_id", "parent", "reopened_from",
)
# Evaluation presets: each sets the three scales at once.
EVALUATION_PRESETS = (("Satisfied", 100), ("Fairly satisfied", 80), ("Unsatisfied", 50))


def _order_id(pk: str) -> int | None:
    """An order's id from the URL, or None for anything that cannot be one (a 404)."""
    return int(pk) if pk.isascii() and pk.isdigit() and 0 < int(pk) <= MAX_ID else None


def local_time(value: Any) -> str:
    if value is None:
        return ""
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def provisional_mark(value: bool | None) -> str:
    """The order page's word for a deadline counted Monday–Friday (a year not entered)."""
    return gettext("provisional: the statutory calendar of that year is not entered yet") if value else ""


def event_detail(event: WorkOrderEvent) -> str:
    """What a timeline step did beyond its states: to whom it went, to which level, how many
    days, what the customer said."""
    data = event.data or {}
    parts = []
    if data.get("assignee"):
        parts.append(gettext("to %(name)s", name=data["assignee"]))
    if data.get("to_level"):
        parts.append(gettext("to %(level)s", level=SupervisionLevel.label_of(data["to_level"])))
    if data.get("days"):
        parts.append(gettext("%(days)s working days", days=data["days"]))
    if "satisfied" in data:
        parts.append(gettext("Satisfied") if data["satisfied"] else gettext("Unsatisfied"))
    if data.get("new_order"):
        parts.append(f"→ {data['new_order']}")
    return " · ".join(parts)


class WithoutDeleteOrEdit:
    """Work orders change only through the workflow (void, amend, transfer…), each step on the
    timeline: a view of orders has no delete and no generic edit route at all (404), whatever
    permission a role may hold.  Without ``@expose`` these names register no URL (the names of
    their permissions stay, for FAB's list widgets that ask whether to draw the buttons)."""

    @permission_name("delete")
    def delete(self, pk: Any) -> Any:
        abort(404)

    @permission_name("edit")
    def edit(self, pk: Any) -> Any:
        abort(404)


class WorkOrderView(WithoutDeleteOrEdit, GridCareModelView):
    datamodel = SQLAInterface(WorkOrder)
    list_title = _l("Work orders")
    show_title = _l("Work order")
    add_title = _l("Register a demand")
    base_filters = [["id", OrderScopeFilter, None]]
    base_order = ("id", "desc")
    base_permissions = [
        "can_list", "can_show", "can_add", "can_transition", "can_bulk_dispatch",
    ]
    show_template = "workorder/show.html"
    # The desk's customer look-up serves whoever may register a demand.
    method_permission_name = {"bulk_dispatch": "bulk_dispatch", "customer_lookup": "add"}
    add_template = "workorder/add.html"

    list_columns = [
        "number", "channel", "demand_type", "contact_name", "phone", "grid", "assignee",
        "state", "priority", "deadline", "supervision_level",
    ]
    order_columns = list_columns  # the order list sorts grid and assignee by their names
    search_columns = [
        "number", "channel", "demand_type", "state", "priority", "grid", "assignee",
        "contact_name", "phone", "customer_no", "content", "registered_at", "deadline",
        "supervision_level", "timely", "redo_count",
    ]
    show_columns = [
        "number", "channel", "demand_type", "state", "priority", "supervision_level",
        "customer", "customer_no", "contact_name", "phone", "address", "content",
        "station", "team", "grid", "assignee", "received_at", "registered_at", "dispatched_at",
        "accepted_at", "resolved_at", "verified_at", "evaluated_at", "deadline", "deadline_provisional",
        "source_deadline", "suspended", "resolution", "timely", "score", "score_timeliness",
        "score_quality", "score_attitude", "evaluation_comment", "urge_count", "redo_count",
        "return_count", "external_id", "parent", "reopened_from", "version",
    ]
    add_columns = [
        "channel", "demand_type", "customer_no", "contact_name", "phone", "address",
        "content", "grid", "priority",
    ]
    personal_fields = ("phone",)
    form_choices = {
        # The desk's own channels first: a call, a walk-in.
        "channel": sorted(Channel.choices(), key=lambda c: c[0] not in (Channel.PHONE.value, Channel.COUNTER.value)),
        "demand_type": DemandType.choices(),
        "priority": sorted(Priority.choices(), key=lambda c: c[0] != Priority.NORMAL.value),
    }
    add_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    # Filter drop-downs list only what the viewer may see, not whole province tables.
    search_form_query_rel_fields = {
        "grid": [["id", GridRowScopeFilter, None]],
        "assignee": [["id", StationScopeFilter, None]],
    }
    formatters_columns = {
        "channel": label_formatter(Channel),
        "demand_type": label_formatter(DemandType),
        "state": label_formatter(OrderState),
        "priority": label_formatter(Priority),
        "supervision_level": label_formatter(SupervisionLevel),
        "phone": mask_formatter("phone"),
        "deadline": local_time,
        "deadline_provisional": provisional_mark,
        "source_deadline": local_time,
        "received_at": local_time,
        "registered_at": local_time,
        "dispatched_at": local_time,
        "accepted_at": local_time,
        "resolved_at": local_time,
        "verified_at": local_time,
        "evaluated_at": local_time,
    }
    label_columns = {
        "number": _l("Number"), "channel": _l("Channel"), "demand_type": _l("Demand type"),
        "contact_name": _l("Contact"), "phone": _l("Phone"), "address": _l("Address"),
        "content": _l("Content"), "grid": _l("Grid"), "team": _l("Team"), "station": _l("Station"),
        "assignee": _l("Assignee"), "state": _l("State"), "priority": _l("Priority"),
        "deadline": _l("Deadline"), "source_deadline": _l("Source platform deadline"),
        "deadline_provisional": _l("Deadline provisional"),
        "supervision_level": _l("Supervision"), "customer": _l("Customer"),
        "customer_no": _l("Customer number"), "received_at": _l("Received at"),
        "registered_at": _l("Registered at"), "dispatched_at": _l("Dispatched at"),
        "accepted_at": _l("Accepted at"), "resolved_at": _l("Resolved at"),
        "verified_at": _l("Verified at"), "evaluated_at": _l("Evaluated at"),
        "suspended": _l("Suspended"), "resolution": _l("Resolution"), "timely": _l("Timely"),
        "score": _l("Score"), "score_timeliness": _l("Timeliness score"),
        "score_quality": _l("Quality score"), "score_attitude": _l("Attitude score"),
        "evaluation_comment": _l("Evaluation comment"), "urge_count": _l("Urges"),
        "redo_count": _l("Redo count"), "return_count": _l("Returns"),
        "external_id": _l("External ID"), "parent": _l("Parent order"),
        "reopened_from": _l("Reopened from"), "version": _l("Version"),
    }

    # --- the list: built for province scale (app/views/order_list.py) ---------------------
    @expose("/list/")
    @has_access
    def list(self) -> Any:
        empty = [key for key, value in request.args.items(multi=True) if key.startswith("_flt_") and not value]
        if empty:  # a filter field left blank: the same list without it
            kept = [(k, v) for k, v in request.args.items(multi=True) if not (k.startswith("_flt_") and not v)]
            return redirect(request.path + ("?" + urlencode(kept) if kept else ""))
        self.update_redirect()
        actor = current_actor()
        if actor is None:
            abort(403)
        threshold = int(current_app.config.get("LIST_COUNT_ESTIMATE_THRESHOLD", 10000) or 0)
        try:
            listing = order_list.build(self, actor, db.session, threshold)
        except (ValueError, ApplyFilterException, StatementError) as error:
            db.session.rollback()
            abort(400, description=gettext("A filter of this list has a value it cannot use: %(error)s",
                                           error=str(getattr(error, "orig", None) or error).splitlines()[0][:200]))
        grids, staff = per_user(("order-filter-options", actor.user_id),
                                lambda: order_list.filter_options(db.session, actor))
        sm = self.appbuilder.sm
        return self.render_template(
            "workorder/list.html", title=self.list_title, listing=listing, grids=grids, staff=staff,
            labels={name: str(self.label_columns[name]) for name in order_list.LABELLED},
            enum_filters=[(name, list(order_list.enum_labels()[name].items())) for name in order_list.BAR_ENUMS],
            bar_keys=order_list.BAR_KEYS, page_sizes=order_list.PAGE_SIZES,
            estimated=isinstance(listing.count, EstimatedCount),
            count_label=str(listing.count) if isinstance(listing.count, EstimatedCount) else f"{listing.count:,}",
            can_add=sm.has_access("can_add", self.class_permission_name),
            can_bulk=sm.has_access("can_bulk_dispatch", self.class_permission_name),
        )

    # --- registration goes through the workflow service --------------------------------
    def _add(self) -> Any:
        form = self.add_form.refresh()
        if request.method == "GET":
            self._desk_defaults(form)
        if request.method == "POST" and form.validate():
            actor = current_actor()
            assert actor is not None
            grid = form.grid.data if hasattr(form, "grid") else None
            try:
                order = service.register_order(
                    db.session, actor,
                    channel=form.channel.data, demand_type=form.demand_type.data,
                    content=form.content.data or "", contact_name=form.contact_name.data,
                    phone=form.phone.data, address=form.address.data,
                    customer_no=form.customer_no.data or None,
                    grid_id=grid.id if grid is not None else None,
                    priority=form.priority.data or None,
                )
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                target = getattr(form, error.field or "", None)
                if target is not None:
                    target.errors = list(target.errors) + [error.message]
                else:
                    flash(error.message, "danger")
            else:
                flash(gettext("Registered as %(number)s", number=order.number), "success")
                g.created_order_id = order.id
                return None
        return self._get_add_widget(form=form)

    def _desk_defaults(self, form: Any) -> None:
        """普通 priority and the channel of the operator's last registration; a grid left
        blank reads as a prompt, not as "__None"."""
        actor = current_actor()
        if actor is not None and hasattr(form, "channel"):
            form.channel.data = desk.last_channel(db.session, actor, [c for c, _ in self.form_choices["channel"]])
        if hasattr(form, "priority"):
            form.priority.data = Priority.NORMAL.value
        if hasattr(form, "grid"):
            form.grid.blank_text = gettext("Choose the grid (filled from the customer)")

    @expose("/customer_lookup", methods=["GET"])
    @has_access_api
    def customer_lookup(self) -> Any:
        """The registration form's search box: customers in the caller's scope by 户号, name,
        address or phone (full, or the last eight digits), phones masked for the caller."""
        actor = current_actor()
        if actor is None:
            return jsonify(message="sign in first"), 401
        limit = parse_limit(str(current_app.config.get("CUSTOMER_LOOKUP_RATE_LIMIT", "30 per minute")))
        if not self.appbuilder.sm.limiter.limiter.hit(limit, "customer-lookup", str(actor.user_id)):
            return jsonify(message=gettext("Too many look-ups; wait a minute and try again.")), 429
        try:
            args = desk_schemas.CustomerLookupQuerySchema().load({"q": request.args.get("q", "")})
            matches = desk.lookup(db.session, actor, args["q"])
        except SchemaError as error:
            return jsonify(message=f"q: {' '.join(error.messages.get('q', ['invalid']))}", field="q"), 400
        except DomainError as error:
            return jsonify(message=error.message, field=error.field), 400
        return jsonify(desk_schemas.DeskCustomerListSchema().dump({"result": [m.__dict__ for m in matches]}))

    def post_add_redirect(self) -> Any:
        order_id = g.get("created_order_id")
        if order_id:
            return redirect(url_for("WorkOrderView.show", pk=order_id))
        return super().post_add_redirect()

    # --- detail page with timeline and action forms -------------------------------------
    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        actor = current_actor()
        if actor is None:
            abort(403)
        # The order with the names its header shows, in one statement; 404 when it is outside
        # the viewer's scope.  (Flask-AppBuilder's show widget, which this page does not draw,
        # read every show column's relation one by one.)
        order = db.session.scalar(
            select(WorkOrder).where(WorkOrder.id == _order_id(pk), actor.order_clause(WorkOrder))
            .options(*(joinedload(getattr(WorkOrder, name))
                       for name in ("customer", "station", "team", "grid", "assignee")))) if _order_id(pk) else None
        if order is None:
            abort(404)
        self.update_redirect()
        actions = service.available_actions(db.session, actor, order)
        assignees = (service.candidates_for(db.session, actor, order)
                     if {"dispatch", "transfer"} & set(actions) else [])
        questions = db.session.scalars(
            select(CallbackQuestion).where(CallbackQuestion.active.is_(True))
            .order_by(CallbackQuestion.sort_order)
        ).all()
        extensions = db.session.scalars(
            select(ExtensionRequest).where(ExtensionRequest.order_id == order.id)
            .order_by(ExtensionRequest.id)
        ).all()
        now = clock.now()
        nearest = clocks.nearest_open(db.session, order, now)
        left = None
        if nearest is not None and not order.suspended:
            left = clocks.time_left(nearest.deadline, now, nearest.round_the_clock)
        sm = self.appbuilder.sm
        visits = db.session.scalars(select(ReturnVisit).where(ReturnVisit.order_id == order.id)
                                    .order_by(ReturnVisit.id)).all()
        timeline = order_timeline.read(db.session, order.id, whole=request.args.get("timeline") == "all")
        return self.render_template(
            self.show_template, pk=pk, title=f"{gettext('Work order')} {order.number}",
            order=order, timeline=timeline,
            steps=[(step, event, event_detail(event)) for step, event in timeline.steps],
            actions=actions, form_fields=_FORM_FIELDS, assignees=assignees,
            questions=questions, extensions=extensions, local_time=local_time,
            action_labels=service.ACTION_LABELS, OrderState=OrderState,
            ExtensionStatus=ExtensionStatus, levels=SupervisionLevel, QuestionKind=QuestionKind, priorities=Priority,
            facts=self._facts(order), nearest=nearest, left=left, describe_left=describe_left,
            clock_label=ClockKind.label_of, phone=masked("phone", order.phone, actor.sees_personal_data),
            callable_phone=order.phone if actor.sees_personal_data else None,
            customer_url=(url_for("CustomerView.show", pk=order.customer_id)
                          if order.customer_id and sm.has_access("can_show", "CustomerView") else None),
            destructive=DESTRUCTIVE_ACTIONS, confirming=CONFIRMING_ACTIONS, one_click=ONE_CLICK_ACTIONS,
            presets=EVALUATION_PRESETS, visits=visits,
            visit_missing=order.state == OrderState.VERIFIED.value and service.visit_missing(db.session, order),
        )

    def _facts(self, order: WorkOrder) -> list[tuple[str, str, Any]]:
        """(column, label, shown value) of the order's facts that hold something."""
        facts = []
        for column in FACT_COLUMNS:
            value = getattr(order, column)
            if column == "supervision_level" and value == SupervisionLevel.NONE.value:
                continue
            if column in self.formatters_columns:
                value = self.formatters_columns[column](value)
            if value is None or value == "" or value == 0 and column.endswith("_count"):
                continue
            if isinstance(value, bool):
                value = gettext("Yes") if value else gettext("No")
            facts.append((column, str(self.label_columns[column]), value))
        return facts


    @expose("/transition/<int:pk>/<name>", methods=["POST"])
    @has_access
    @permission_name("transition")
    def transition(self, pk: int, name: str) -> Any:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (ValidationError, CSRFError):
            abort(400, description=gettext("The form has expired; reload the page and try again."))
        actor = current_actor()
        assert actor is not None
        params: dict[str, Any] = {}
        for key in _FORM_FIELDS.get(name, ()):
            if key in request.form:
                params[key] = request.form[key]
        if name == "callback":
            params["answers"] = {
                key[len("answer_"):]: value for key, value in request.form.items()
                if key.startswith("answer_") and value
            }
        version = request.form.get("version", type=int)
        try:
            order = service.perform(db.session, actor, pk, name, params, version=version)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "danger")
            return redirect(url_for("WorkOrderView.show", pk=pk))
        flash(gettext("%(action)s: done", action=gettext(service.ACTION_LABELS.get(name, name))), "success")
        # Back to the order (a reopen past its window: to the new one); the page puts the
        # reader back where they were (app/static/workorder/show.js).
        return redirect(url_for("WorkOrderView.show", pk=order.id))

    @action("bulk_dispatch", _l("Dispatch to grid managers"),
            _l("Dispatch the selected orders to their grids' district managers?"), "fa-share", single=False)
    def bulk_dispatch(self, items: Any) -> Any:
        actor = current_actor()
        assert actor is not None
        items = items if isinstance(items, list) else [items]
        done, refused = 0, []
        for item in items:
            try:
                with db.session.begin_nested():
                    service.perform(db.session, actor, item.id, "dispatch", {})
                done += 1
            except DomainError as error:
                refused.append(refusal(item.number, error))
        db.session.commit()
        flash(gettext("%(count)d orders dispatched", count=done), "success")
        for message in refused:
            flash(message, "warning")
        self.update_redirect()
        return redirect(self.get_redirect())


def register(appbuilder: Any) -> None:
    appbuilder.add_view(
        WorkOrderView, "All work orders", icon="fa-tasks", category="Work orders",
        label=_l("All work orders"), category_label=_l("Work orders"),
    )
