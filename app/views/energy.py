"""Energy-service screens: peak/valley analysis (grid and customer) with the saving
suggestion, customer list production with .xlsx/CSV export, available capacity with the
new-connection check, energy-service requests, the tariff table, demand readings and push
campaigns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField, StringField, TextAreaField

from app.api.energy import SHIFT_KWH_MAX, export_response
from app.arguments import decimal_arg, int_arg
from app.energy import analysis, capacity, customers, push
from app.energy.requests import register_energy_service
from app.extensions import db
from app.models.customer import CustomerTag, CustomerType, EnergyIntention
from app.models.energy import DeliveryState, DemandReading, PushCampaign, PushMessage, StationTariff
from app.models.org import Grid, Transformer
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    ScopeFilter,
    StationScopeFilter,
    committed,
    current_actor,
    label_formatter,
    mask_formatter,
    refusal,
)
from app.views.workorder import local_time
from app.workflow.errors import DomainError, Forbidden, OutOfScope

_LABELS = {
    **COMMON_LABELS,
    "customer_type": _l("Customer type"), "sharp_price": _l("Sharp price"),
    "peak_price": _l("Peak price"), "flat_price": _l("Flat price"), "valley_price": _l("Valley price"),
    "measured_at": _l("Measured at"), "demand_kva": _l("Demand (kVA)"), "source": _l("Source"),
    "criteria": _l("Criteria"), "template": _l("Template"), "created_by_name": _l("Created by"),
    "last_run_at": _l("Last run at"), "campaign": _l("Campaign"), "body": _l("Message"),
    "sender": _l("Sender"), "sent_at": _l("Sent at"),
}


def _grids(actor: Any) -> list[Grid]:
    return list(db.session.scalars(select(Grid).where(actor.grid_clause(Grid.id, Grid.station_id)).order_by(Grid.code)))


class EnergyServicesView(BaseView):
    route_base = "/energy"
    default_view = "grid_analysis"
    base_permissions = ["can_list", "can_show", "can_export", "can_add"]

    @expose("/analysis")
    @has_access
    @permission_name("list")
    def grid_analysis(self) -> Any:
        actor = current_actor()
        assert actor is not None
        grids = _grids(actor)
        period = request.args.get("period") or analysis.previous_period(local_period())
        default = Decimal(str(current_app.config.get("VALLEY_SHIFT_THRESHOLD_PP", "5")))
        threshold = decimal_arg("threshold", default, low=0, high=100) or default
        grid_id = int_arg("grid_id")
        compare = request.args.get("compare", "previous_month")
        result, error = None, None
        try:
            result = analysis.grid_analysis(db.session, actor, period=period, grid_id=grid_id,
                                            threshold_pp=threshold, compare=compare)
        except OutOfScope:
            abort(404)
        except DomainError as exc:
            error = exc.message
        return self.render_template("energy/analysis.html", grids=grids, period=period, threshold=threshold,
                                    grid_id=grid_id, compare=compare, result=result, error=error)

    @expose("/customer/<int:pk>/analysis")
    @has_access
    @permission_name("show")
    def customer_analysis(self, pk: int) -> Any:
        actor = current_actor()
        assert actor is not None
        shift_kwh = decimal_arg("shift_kwh", low=0, high=SHIFT_KWH_MAX)
        try:
            result = analysis.customer_analysis(db.session, actor, pk, shift_kwh=shift_kwh)
        except OutOfScope:
            abort(404)
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
            flash(exc.message, "danger")
            return redirect(url_for("EnergyServicesView.customer_analysis", pk=pk))
        intentions = db.session.scalars(select(EnergyIntention).order_by(EnergyIntention.code)).all()
        return self.render_template("energy/customer.html", r=result, pk=pk, intentions=intentions)

    @expose("/customer/<int:pk>/service-request", methods=["POST"])
    @has_access
    @permission_name("add")
    def service_request(self, pk: int) -> Any:
        actor = current_actor()
        assert actor is not None
        with committed(out_of_scope_404=True) as outcome:
            order = register_energy_service(db.session, actor, pk, request.form.get("content", ""),
                                            request.form.get("intention") or None)
        if not outcome.ok:
            return redirect(url_for("EnergyServicesView.customer_analysis", pk=pk))
        flash(gettext("Registered as %(number)s", number=order.number), "success")
        return redirect(url_for("WorkOrderView.show", pk=order.id))

    @expose("/customers")
    @has_access
    @permission_name("list")
    def customer_list(self) -> Any:
        actor = current_actor()
        assert actor is not None
        args = request.args.to_dict()
        found, error = [], None
        try:
            found = customers.list_customers(db.session, actor, args, limit=200)
        except Forbidden:
            abort(403)  # a filter on a masked field: refused, not shown as an empty list
        except DomainError as exc:
            error = exc.message
        return self.render_template(
            "energy/customers.html", args=args, headers=customers.HEADERS, rows=customers.rows(found, actor),
            error=error, grids=_grids(actor), types=CustomerType,
            tags=db.session.scalars(select(CustomerTag).order_by(CustomerTag.code)).all(),
            intentions=db.session.scalars(select(EnergyIntention).order_by(EnergyIntention.code)).all())

    @expose("/customers/export")
    @has_access
    @permission_name("export")
    def export(self) -> Any:
        actor = current_actor()
        assert actor is not None
        try:
            return export_response(actor, request.args.to_dict())
        except Forbidden:
            abort(403)
        except DomainError as exc:
            flash(exc.message, "danger")
            return redirect(url_for("EnergyServicesView.customer_list", **request.args))

    @expose("/capacity")
    @has_access
    @permission_name("list")
    def capacity(self) -> Any:
        actor = current_actor()
        assert actor is not None
        ratio = capacity.parse_ratio(current_app.config.get("CAPACITY_LOAD_RATIO", "0.8"))
        rows = capacity.station_transformers(db.session, actor, ratio)
        check, refusal = None, None
        transformer_id = int_arg("transformer_id")
        if transformer_id and request.args.get("request_kva"):
            try:
                check = capacity.transformer_capacity(
                    db.session, actor, transformer_id, ratio, capacity.parse_request(request.args.get("request_kva")))
            except OutOfScope:
                abort(404)
            except DomainError as exc:
                refusal = exc.message
        grids: dict[int, dict[str, Any]] = {}
        for row in rows:
            entry = grids.setdefault(row["grid_id"], {"grid_id": row["grid_id"], "transformers": 0,
                                                      "rated_kva": 0.0, "available_kva": None, "unknown": 0})
            entry["transformers"] += 1
            entry["rated_kva"] += row["rated_kva"]
            if row["capacity_known"]:  # a transformer without readings adds nothing: unknown
                entry["available_kva"] = round((entry["available_kva"] or 0.0) + row["available_kva"], 1)
            else:
                entry["unknown"] += 1
        codes = dict(db.session.execute(select(Grid.id, Grid.code).where(Grid.id.in_(list(grids)))).all())
        per_grid = sorted(({**g, "grid": codes.get(g["grid_id"], "")} for g in grids.values()),
                          key=lambda g: g["grid"])
        return self.render_template("energy/capacity.html", rows=rows, ratio=ratio, check=check,
                                    refusal=refusal, args=request.args, per_grid=per_grid)


def local_period() -> str:
    from app.models.base import utcnow
    from app.workflow.calendar import LOCAL_TZ

    return utcnow().astimezone(LOCAL_TZ).strftime("%Y%m")


class StationTariffView(GridCareModelView):
    """The tariff table behind saving suggestions, one row per station and customer type."""

    datamodel = SQLAInterface(StationTariff)
    base_filters = [["id", StationScopeFilter, None]]
    list_columns = ["station", "customer_type", "sharp_price", "peak_price", "flat_price", "valley_price"]
    add_columns = edit_columns = show_columns = list_columns
    form_choices = {"customer_type": CustomerType.choices()}
    formatters_columns = {"customer_type": label_formatter(CustomerType)}
    label_columns = _LABELS

    def _check_station(self, item: StationTariff) -> None:
        actor = current_actor()
        if actor is None or (not actor.is_admin and item.station_id != actor.station_id):
            abort(403)

    def pre_add(self, item: StationTariff) -> None:
        self._check_station(item)

    def pre_update(self, item: StationTariff) -> None:
        self._check_station(item)


class _StationPick(ScopeFilter):
    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        return model.id == model.id if actor.is_admin else model.id == actor.station_id


StationTariffView.add_form_query_rel_fields = StationTariffView.edit_form_query_rel_fields = {
    "station": [["id", _StationPick, None]]}


class TransformerScopeFilter(ScopeFilter):
    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        return model.transformer_id.in_(select(Transformer.id).join(Grid, Grid.id == Transformer.grid_id)
                                        .where(actor.grid_clause(Transformer.grid_id, Grid.station_id)))


class _TransformerPick(ScopeFilter):
    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        return model.grid_id.in_(select(Grid.id).where(actor.grid_clause(Grid.id, Grid.station_id)))


class DemandReadingView(GridCareModelView):
    datamodel = SQLAInterface(DemandReading)
    base_filters = [["id", TransformerScopeFilter, None]]
    base_order = ("measured_at", "desc")
    list_columns = ["transformer", "measured_at", "demand_kva", "source"]
    add_columns = edit_columns = show_columns = list_columns
    search_columns = ["transformer", "measured_at"]
    add_form_query_rel_fields = edit_form_query_rel_fields = search_form_query_rel_fields = {
        "transformer": [["id", _TransformerPick, None]]}
    formatters_columns = {"measured_at": local_time}
    label_columns = _LABELS

    def pre_add(self, item: DemandReading) -> None:
        actor = current_actor()
        transformer = db.session.get(Transformer, item.transformer_id) if item.transformer_id else None
        if actor is None or transformer is None or not actor.can_see_grid(transformer.grid_id,
                                                                           transformer.grid.station_id):
            abort(403)
        if item.measured_at is not None and item.measured_at.tzinfo is None:
            from app.workflow.calendar import LOCAL_TZ

            item.measured_at = item.measured_at.replace(tzinfo=LOCAL_TZ)

    pre_update = pre_add


class PushCampaignView(GridCareModelView):
    datamodel = SQLAInterface(PushCampaign)
    base_filters = [["id", StationScopeFilter, None]]
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_run"]
    method_permission_name = {"run": "run"}  # the action's permission is can_run
    list_columns = ["name", "station", "criteria", "state", "created_by_name", "last_run_at"]
    show_columns = list_columns + ["template"]
    # Who a campaign reaches is chosen with the customer-list filter (grid, type, tag, intention).
    add_columns = ["name", "template", "rule_set", "grid", "customer_type", "tag", "intention", "q"]
    add_form_extra_fields = {
        "rule_set": StringField(_l("Targeting rule set"),
                                description=_l("Name of a targeting rule set (规则 → 规则集); leave empty to use the filters only")),
        "grid": StringField(_l("Grid code")), "customer_type": SelectField(
            _l("Customer type"), choices=[("", "")] + [(t.value, t.label) for t in CustomerType]),
        "tag": StringField(_l("Tag code")), "intention": StringField(_l("Energy intention code")),
        "q": StringField(_l("Number, name or address")),
    }
    add_form_extra_fields["template"] = TextAreaField(
        _l("Template"), description=_l("Placeholders: {name}, {customer_no}, {grid}, {address}"))
    formatters_columns = {"last_run_at": local_time}
    label_columns = _LABELS

    def _add(self) -> Any:
        form = self.add_form.refresh()
        if request.method == "POST" and form.validate():
            actor = current_actor()
            assert actor is not None
            criteria = {key: form[key].data for key in (*customers.CRITERIA, "rule_set") if form[key].data}
            with committed() as outcome:
                campaign = push.create_campaign(db.session, actor, name=form.name.data or "",
                                                template=form.template.data or "", criteria=criteria)
            if outcome.ok:
                flash(gettext("Saved"), "success")
                return redirect(url_for("PushCampaignView.show", pk=campaign.id))
        return self._get_add_widget(form=form)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self) -> Any:
        widget = self._add()
        if not isinstance(widget, dict):
            return widget
        return self.render_template(self.add_template, title=self.add_title, widgets=widget)

    @action("run", _l("Push now"), _l("Push the selected campaigns to customers not yet reached?"),
            "fa-paper-plane", single=False)
    def run(self, items: Any) -> Any:
        actor = current_actor()
        assert actor is not None
        items = items if isinstance(items, list) else [items]
        sender = push.sender_from_config(current_app.config)
        for item in items:
            try:
                counts = push.run_campaign(db.session, actor, item.id, sender)
            except DomainError as exc:
                db.session.rollback()
                flash(refusal(item.name, exc), "danger")
            else:
                flash(gettext("%(name)s: %(sent)d sent, %(failed)d failed, %(skipped)d already reached",
                              name=item.name, sent=counts["sent"], failed=counts["failed"],
                              skipped=counts["skipped"]), "success")
        self.update_redirect()
        return redirect(self.get_redirect())


class PushMessageView(GridCareModelView):
    datamodel = SQLAInterface(PushMessage)
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show"]
    list_columns = ["campaign", "customer", "phone", "state", "sender", "sent_at", "error"]
    show_columns = list_columns + ["body"]
    search_columns = ["state"]
    personal_fields = ("phone",)
    formatters_columns = {"phone": mask_formatter("phone"), "sent_at": local_time,
                          "state": label_formatter(DeliveryState)}
    label_columns = _LABELS


class _PushMessageScope(ScopeFilter):
    scope_of = staticmethod(push.message_scope)


PushMessageView.base_filters = [["id", _PushMessageScope, None]]


def register(appbuilder: Any) -> None:
    category, category_label = "Energy services", _l("Energy services")
    appbuilder.add_view(EnergyServicesView, "Peak/valley analysis", href="/energy/analysis", icon="fa-line-chart",
                        category=category, label=_l("Peak/valley analysis"), category_label=category_label)
    appbuilder.add_link("Customer lists", href="/energy/customers", icon="fa-table", category=category,
                        label=_l("Customer lists"))
    appbuilder.add_link("Available capacity", href="/energy/capacity", icon="fa-bolt", category=category,
                        label=_l("Available capacity"))
    appbuilder.add_view(PushCampaignView, "Push campaigns", icon="fa-bullhorn", category=category,
                        label=_l("Push campaigns"), category_label=category_label)
    appbuilder.add_view(PushMessageView, "Pushes", icon="fa-envelope", category=category,
                        label=_l("Pushes"), category_label=category_label)
    appbuilder.add_view(StationTariffView, "Tariff table", icon="fa-yen", category=category,
                        label=_l("Tariff table"), category_label=category_label)
    appbuilder.add_view(DemandReadingView, "Demand readings", icon="fa-tachometer", category=category,
                        label=_l("Demand readings"), category_label=category_label)
