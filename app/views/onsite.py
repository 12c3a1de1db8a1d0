"""On-site screens: customer look-up and the customer's whole picture with the visit form,
documents (served only within the viewer's scope), visits, on-site service, safety and
equipment records, and box–meter anomalies with their timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.documents.store import documents_of, load_document
from app.documents.web import current_store, read_uploads, send_document
from app.extensions import db
from app.models.customer import CustomerTag, EnergyIntention
from app.models.document import OwnerType
from app.models.onsite import (
    AnomalyState,
    EquipmentRecord,
    MeterBoxAnomaly,
    SafetyRecord,
    ServiceRecord,
    Visit,
)
from app.models.org import Grid
from app.onsite import anomaly as anomalies
from app.onsite import service
from app.security.masking import masked
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    GridRowScopeFilter,
    ScopeFilter,
    committed,
    current_actor,
    label_formatter,
    refusal,
)
from app.views.workorder import local_time
from app.workflow.errors import DomainError

_LABELS = {
    **COMMON_LABELS,
    "staff_name": _l("Staff"), "visited_at": _l("Visited at"),
    "address_confirmed": _l("Address confirmed"), "contact_confirmed": _l("Contact confirmed"),
    "order": _l("Work order"), "content": _l("What was done"), "performed_at": _l("Performed at"),
    "site": _l("Site"), "hazards": _l("Hazards found"),
    "rectification_required": _l("Rectification required"), "deadline": _l("Deadline"),
    "closed": _l("Closed"), "closed_at": _l("Closed at"), "closed_by_name": _l("Closed by"),
    "closing_note": _l("Closing note"), "recorded_at": _l("Recorded at"),
    "equipment_type": _l("Equipment type"), "model": _l("Model"), "serial_no": _l("Serial number"),
    "location": _l("Location"), "meter_box_no": _l("Meter box"), "meter_no": _l("Meter number"),
    "expected": _l("Expected relationship"), "found": _l("Found relationship"),
    "registered_at": _l("Registered at"), "registered_by_name": _l("Registered by"),
    "rectified_at": _l("Rectified at"), "rectified_by_name": _l("Rectified by"),
    "rectification": _l("Rectification record"), "verified_at": _l("Verified at"),
    "verified_by_name": _l("Verified by"),
}
_TIMES = {k: local_time for k in ("visited_at", "performed_at", "recorded_at", "closed_at", "registered_at",
                                   "rectified_at", "verified_at")}


def local_iso(value: str | None) -> str:
    """An ISO time from a service answer, shown in local time."""
    return local_time(dt.datetime.fromisoformat(value)) if value else ""


class RecordScopeFilter(ScopeFilter):
    """For on-site records carrying their grid and station."""

    scope_of = staticmethod(lambda actor, model: actor.grid_clause(model.grid_id, model.station_id))


class CustomerServiceView(BaseView):
    """Look up a customer, see the whole picture, register a visit."""

    route_base = "/onsite"
    default_view = "search"
    base_permissions = ["can_list", "can_show", "can_add"]

    @expose("/customers")
    @has_access
    @permission_name("list")
    def search(self) -> Any:
        actor = current_actor()
        assert actor is not None
        q, phone = request.args.get("q", ""), request.args.get("phone", "")
        found, error = [], None
        if q or phone:
            try:
                found = service.search_customers(db.session, actor, q, phone or None)
            except DomainError as exc:
                if exc.status == 403:
                    abort(403)
                error = exc.message
        return self.render_template("onsite/search.html", q=q, phone=phone, found=found, error=error,
                                    mask=lambda v: masked("phone", v, actor.sees_personal_data),
                                    sees=actor.sees_personal_data)

    @expose("/customer/<int:pk>")
    @has_access
    @permission_name("show")
    def customer(self, pk: int) -> Any:
        actor = current_actor()
        assert actor is not None
        try:
            picture = service.customer_picture(db.session, actor, pk)
        except DomainError:
            abort(404)
        tags = db.session.scalars(select(CustomerTag).order_by(CustomerTag.code)).all()
        intentions = db.session.scalars(select(EnergyIntention).order_by(EnergyIntention.code)).all()
        from app.models.workorder import DemandType, OrderState

        return self.render_template("onsite/customer.html", p=picture, all_tags=tags, local=local_iso,
                                    all_intentions=intentions, title=picture["customer"]["name"],
                                    demand_label=DemandType.label_of, state_label=OrderState.label_of)

    @expose("/customer/<int:pk>/visit", methods=["POST"])
    @has_access
    @permission_name("add")
    def visit(self, pk: int) -> Any:
        actor = current_actor()
        assert actor is not None
        form = request.form
        with committed(out_of_scope_404=True) as outcome:
            store = current_store()
            photos = read_uploads(request.files.getlist("photos"), store)
            service.register_visit(
                db.session, actor, pk, store=store,
                phone=form.get("phone") or None, address=form.get("address") or None,
                contact_confirmed=bool(form.get("contact_confirmed")),
                address_confirmed=bool(form.get("address_confirmed")),
                tag_codes=form.getlist("tags"), intention_codes=form.getlist("intentions"),
                note=form.get("note"), photos=photos)
        if outcome.ok:
            flash(gettext("Visit registered"), "success")
        return redirect(url_for("CustomerServiceView.customer", pk=pk))

    @expose("/records/<owner_type>/<int:owner_id>/documents", methods=["POST"])
    @has_access
    @permission_name("add")
    def attach(self, owner_type: str, owner_id: int) -> Any:
        """Attach photos or videos to an on-site record from its detail page."""
        actor = current_actor()
        assert actor is not None
        with committed(out_of_scope_404=True) as outcome:
            owner = service.load_owner(db.session, actor, owner_type, owner_id)
            store = current_store()
            files = read_uploads(request.files.getlist("photos"), store)
            if not files:
                raise DomainError("choose a file first")
            store.attach(db.session, actor, files, owner_type=owner_type, owner_id=owner.id,
                         grid_id=owner.grid_id, station_id=owner.station_id)
        if outcome.ok:
            flash(gettext("Saved"), "success")
        return redirect(request.referrer or url_for("CustomerServiceView.search"))

    @expose("/document/<int:pk>")
    @has_access
    @permission_name("show")
    def document(self, pk: int) -> Any:
        return self._send(pk, thumbnail=False)

    @expose("/document/<int:pk>/thumbnail")
    @has_access
    @permission_name("show")
    def thumbnail(self, pk: int) -> Any:
        return self._send(pk, thumbnail=True)

    def _send(self, pk: int, thumbnail: bool) -> Any:
        actor = current_actor()
        assert actor is not None
        try:
            return send_document(load_document(db.session, actor, pk), current_store(), thumbnail)
        except DomainError:
            abort(404)


class VisitView(GridCareModelView):
    datamodel = SQLAInterface(Visit)
    base_filters = [["id", RecordScopeFilter, None]]
    base_order = ("visited_at", "desc")
    base_permissions = ["can_list", "can_show"]
    list_columns = ["visited_at", "customer", "grid", "staff_name", "address_confirmed", "contact_confirmed"]
    show_columns = list_columns + ["note"]
    search_columns = ["grid", "staff_name", "visited_at"]
    search_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    formatters_columns = _TIMES
    label_columns = _LABELS


class _RecordView(GridCareModelView):
    """On-site records: browser entry through the same service functions as the API."""

    base_filters = [["id", RecordScopeFilter, None]]
    add_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    # Filter drop-downs would otherwise list every grid of every station.
    search_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    formatters_columns = _TIMES
    label_columns = _LABELS
    create = staticmethod(lambda session, actor, item: item)
    owner_type = ""
    show_template = "onsite/record_show.html"

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        widgets = self._show(pk)  # 404 outside the viewer's scope
        documents = documents_of(db.session, self.owner_type, [int(pk)]).get(int(pk), [])
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, documents=documents,
                                    owner_type=self.owner_type, owner_id=int(pk))

    def _add(self) -> Any:
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            actor = current_actor()
            assert actor is not None
            values = {name: field.data for name, field in form._fields.items() if name != "csrf_token"}
            with committed() as outcome:
                self.create(db.session, actor, values)
            if outcome.ok:
                flash(gettext("Saved"), "success")
                return None
        return self._get_add_widget(form=form)


def _grid_id(values: dict[str, Any]) -> Any:
    grid = values.get("grid")
    return grid.id if isinstance(grid, Grid) else None


class ServiceRecordView(_RecordView):
    owner_type = OwnerType.SERVICE_RECORD.value
    datamodel = SQLAInterface(ServiceRecord)
    base_order = ("performed_at", "desc")
    base_permissions = ["can_list", "can_show", "can_add"]
    list_columns = ["performed_at", "grid", "customer", "order", "staff_name", "content"]
    show_columns = list_columns
    add_columns = ["grid", "content"]
    search_columns = ["grid", "staff_name", "performed_at"]
    create = staticmethod(lambda session, actor, v: service.record_service(
        session, actor, content=v.get("content"), grid_id=_grid_id(v)))


class SafetyRecordView(_RecordView):
    owner_type = OwnerType.SAFETY_RECORD.value
    datamodel = SQLAInterface(SafetyRecord)
    base_order = ("recorded_at", "desc")
    list_columns = ["recorded_at", "grid", "site", "hazards", "deadline", "closed", "staff_name"]
    show_columns = list_columns + ["rectification_required", "closed_at", "closed_by_name", "closing_note"]
    add_columns = ["grid", "site", "hazards", "rectification_required", "deadline"]
    search_columns = ["grid", "closed", "deadline"]
    base_permissions = ["can_list", "can_show", "can_add", "can_close"]
    method_permission_name = {"close": "close"}  # the action's permission is can_close

    @action("close", _l("Close (rectified)"), _l("Close the selected safety records as rectified?"),
            "fa-check", single=False)
    def close(self, items: Any) -> Any:
        actor = current_actor()
        assert actor is not None
        for item in items if isinstance(items, list) else [items]:
            try:
                with db.session.begin_nested():
                    service.close_safety(db.session, actor, item.id)
            except DomainError as error:
                flash(refusal(item.site, error), "warning")
        db.session.commit()
        self.update_redirect()
        return redirect(self.get_redirect())

    create = staticmethod(lambda session, actor, v: service.record_safety(
        session, actor, grid_id=_grid_id(v), site=v.get("site"), hazards=v.get("hazards"),
        rectification_required=v.get("rectification_required"), deadline=v.get("deadline")))


class EquipmentRecordView(_RecordView):
    owner_type = OwnerType.EQUIPMENT.value
    datamodel = SQLAInterface(EquipmentRecord)
    base_order = ("recorded_at", "desc")
    base_permissions = ["can_list", "can_show", "can_add"]
    list_columns = ["recorded_at", "grid", "equipment_type", "model", "serial_no", "location",
                    "transformer", "meter_box_no"]
    show_columns = list_columns + ["staff_name"]
    add_columns = ["grid", "equipment_type", "model", "serial_no", "location", "meter_box_no"]
    search_columns = ["grid", "equipment_type", "serial_no", "meter_box_no"]
    create = staticmethod(lambda session, actor, v: service.record_equipment(
        session, actor, equipment_type=v.get("equipment_type"), location=v.get("location"),
        grid_id=_grid_id(v), model=v.get("model"), serial_no=v.get("serial_no"),
        meter_box_no=v.get("meter_box_no")))


class MeterBoxAnomalyView(_RecordView):
    datamodel = SQLAInterface(MeterBoxAnomaly)
    base_order = ("registered_at", "desc")
    owner_type = OwnerType.ANOMALY.value
    base_permissions = ["can_list", "can_show", "can_add", "can_rectify", "can_verify"]
    list_template = "onsite/anomaly_list.html"
    show_template = "onsite/anomaly_show.html"
    list_columns = ["registered_at", "grid", "meter_box_no", "meter_no", "expected", "found", "state",
                    "registered_by_name"]
    show_columns = list_columns + ["rectified_at", "rectified_by_name", "rectification", "verified_at",
                                   "verified_by_name"]
    add_columns = ["grid", "meter_box_no", "meter_no", "expected", "found"]
    search_columns = ["grid", "state", "meter_box_no", "meter_no", "registered_at"]
    formatters_columns = {**_TIMES, "state": label_formatter(AnomalyState)}
    create = staticmethod(lambda session, actor, v: anomalies.register(
        session, actor, grid_id=_grid_id(v), meter_box_no=v.get("meter_box_no"), meter_no=v.get("meter_no"),
        expected=v.get("expected"), found=v.get("found")))

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        actor = current_actor()
        assert actor is not None
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    counts=anomalies.counts_by_grid(db.session, actor), states=AnomalyState)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        widgets = self._show(pk)  # 404 outside the viewer's scope
        actor = current_actor()
        assert actor is not None
        anomaly = anomalies.load(db.session, actor, int(pk))
        photos = documents_of(db.session, OwnerType.ANOMALY.value, [anomaly.id]).get(anomaly.id, [])
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, anomaly=anomaly, photos=photos,
                                    local_time=local_time, states=AnomalyState,
                                    may_verify=self.appbuilder.sm.has_access("can_verify", "MeterBoxAnomalyView"),
                                    may_rectify=self.appbuilder.sm.has_access("can_rectify", "MeterBoxAnomalyView"))

    @expose("/rectify/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("rectify")
    def rectify(self, pk: int) -> Any:
        return self._step(pk, lambda actor: anomalies.rectify(
            db.session, actor, pk, request.form.get("record", ""),
            photos=read_uploads(request.files.getlist("photos"), current_store()), store=current_store()))

    @expose("/verify/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("verify")
    def verify(self, pk: int) -> Any:
        accepted = request.form.get("accepted", "1") == "1"
        return self._step(pk, lambda actor: anomalies.verify(db.session, actor, pk, accepted=accepted,
                                                             note=request.form.get("note")))

    def _step(self, pk: int, step: Any) -> Any:
        actor = current_actor()
        assert actor is not None
        with committed(out_of_scope_404=True) as outcome:
            step(actor)
        if outcome.ok:
            flash(gettext("Saved"), "success")
        return redirect(url_for("MeterBoxAnomalyView.show", pk=pk))


def register(appbuilder: Any) -> None:
    # "Field work", not "On-site": that menu name is the channels' list of on-site orders.
    category, category_label = "Field work", _l("Field work")
    appbuilder.add_view(CustomerServiceView, "Customer visits", href="/onsite/customers", icon="fa-street-view",
                        category=category, label=_l("Customer visits"), category_label=category_label)
    appbuilder.add_view(VisitView, "Visit records", icon="fa-list", category=category,
                        label=_l("Visit records"), category_label=category_label)
    appbuilder.add_view(ServiceRecordView, "On-site service records", icon="fa-wrench", category=category,
                        label=_l("On-site service records"), category_label=category_label)
    appbuilder.add_view(SafetyRecordView, "Safety supervision", icon="fa-shield", category=category,
                        label=_l("Safety supervision"), category_label=category_label)
    appbuilder.add_view(EquipmentRecordView, "Equipment collection", icon="fa-cogs", category=category,
                        label=_l("Equipment collection"), category_label=category_label)
    appbuilder.add_view(MeterBoxAnomalyView, "Box-meter anomalies", icon="fa-exclamation-triangle",
                        category=category, label=_l("Box-meter anomalies"), category_label=category_label)
