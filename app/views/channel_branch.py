"""Branch and online channel screens: convenience service points with their duty rosters
and registration by the operator on duty, love supermarkets with their map and community
points, and the public non-fault request form (no sign-in, rate-limited, honeypot)."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import false, select, true

from app.channels import branch, community
from app.channels.intake import normalise_phone
from app.channels.settings import settings
from app.extensions import db
from app.models.channel import (
    CommunityPointEntry,
    CommunityPointKind,
    CommunityResident,
    DutyShift,
    LoveSupermarket,
    OrderOrigin,
    ServicePoint,
    Shift,
)
from app.models.customer import Customer
from app.models.org import Grid, StaffProfile, Station
from app.models.workorder import Channel, DemandType
from app.views.channel import _PERSON_FIELDS, read_form
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    GridRowScopeFilter,
    GridScopeFilter,
    ScopeFilter,
    StationScopeFilter,
    committed,
    current_actor,
    label_formatter,
    mask_formatter,
)
from app.views.workorder import local_time
from app.workflow import service
from app.workflow.actor import ADMIN, Actor
from app.workflow.errors import InvalidInput

log = logging.getLogger(__name__)


# --- convenience service points and rosters ---------------------------------------------------
class _OwnStation(ScopeFilter):
    """For the station table itself: the viewer's own station (all for administrators)."""

    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        if actor.is_admin:
            return true()
        return model.id == actor.station_id if actor.station_id else false()


class ServicePointView(GridCareModelView):
    datamodel = SQLAInterface(ServicePoint)
    list_title = _l("Convenience service points")
    base_filters = [["id", StationScopeFilter, None]]
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    list_columns = ["name", "station", "grid", "address", "opening_hours", "contact_name", "active"]
    show_columns = ["name", "station", "grid", "address", "latitude", "longitude", "opening_hours",
                    "contact_name", "contact_phone", "active"]
    add_columns = show_columns
    edit_columns = show_columns
    search_columns = ["name", "station", "grid", "address", "active"]
    add_form_query_rel_fields = {"station": [["id", _OwnStation, None]],
        "grid": [["id", GridRowScopeFilter, None]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    formatters_columns = {"contact_phone": mask_formatter("phone")}
    label_columns = {**COMMON_LABELS, "latitude": _l("Latitude"), "longitude": _l("Longitude"),
                     "opening_hours": _l("Opening hours"), "contact_phone": _l("Contact phone")}


class _RosterScope(ScopeFilter):
    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        if actor.is_admin:
            return true()
        if actor.station_id is None:
            return false()
        return model.service_point_id.in_(
            select(ServicePoint.id).where(ServicePoint.station_id == actor.station_id))


class DutyShiftView(GridCareModelView):
    """Who is on duty where; one person cannot be in two places in one shift."""

    datamodel = SQLAInterface(DutyShift)
    list_title = _l("Duty roster")
    base_filters = [["id", _RosterScope, None]]
    base_order = ("day", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]
    list_columns = ["day", "shift", "service_point", "staff", "note"]
    add_columns = ["service_point", "staff", "day", "shift", "note"]
    edit_columns = add_columns
    show_columns = add_columns
    search_columns = ["day", "shift", "service_point", "staff"]
    form_choices = {"shift": Shift.choices()}
    add_form_query_rel_fields = {"service_point": [["id", StationScopeFilter, None]],
                                 "staff": [["id", StationScopeFilter, None]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    formatters_columns = {"shift": label_formatter(Shift)}
    label_columns = {"day": _l("Day"), "shift": _l("Shift"), "service_point": _l("Service point"),
                     "staff": _l("On duty"), "note": _l("Note")}

    def _check(self, item: DutyShift) -> None:
        actor = current_actor()
        assert actor is not None
        point = item.service_point
        if point is not None and not actor.is_admin and point.station_id != actor.station_id:
            raise InvalidInput(gettext("the point is outside your station"), field="service_point")
        branch.check_shift(db.session, item.staff.id if item.staff else None,
                           point.id if point else None, item.day, item.shift, item.id)

    def pre_add(self, item: DutyShift) -> None:
        self._check(item)

    def pre_update(self, item: DutyShift) -> None:
        self._check(item)


# --- love supermarkets ------------------------------------------------------------------------
class LoveSupermarketView(GridCareModelView):
    datamodel = SQLAInterface(LoveSupermarket)
    list_title = _l("Electricity love supermarkets")
    base_filters = [["id", GridScopeFilter, None]]
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_map"]
    list_columns = ["name", "grid", "address", "person_in_charge", "services_offered", "active"]
    show_columns = ["name", "station", "grid", "address", "latitude", "longitude", "person_in_charge",
                    "contact_phone", "staffing_needs", "services_offered", "opening_hours", "active"]
    add_columns = [c for c in show_columns if c != "station"]
    edit_columns = add_columns
    search_columns = ["name", "grid", "person_in_charge", "address", "active"]
    add_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]],
                                 "person_in_charge": [["id", StationScopeFilter, None]]}
    edit_form_query_rel_fields = add_form_query_rel_fields
    formatters_columns = {"contact_phone": mask_formatter("phone")}
    label_columns = {**COMMON_LABELS, "latitude": _l("Latitude"), "longitude": _l("Longitude"),
                     "person_in_charge": _l("Person in charge"), "contact_phone": _l("Contact phone"),
                     "staffing_needs": _l("Staffing needs"), "services_offered": _l("Services offered"),
                     "opening_hours": _l("Opening hours")}

    def _station(self, item: LoveSupermarket) -> None:
        if item.grid is not None:
            item.station_id = item.grid.station_id

    def pre_add(self, item: LoveSupermarket) -> None:
        self._station(item)

    def pre_update(self, item: LoveSupermarket) -> None:
        self._station(item)

    @expose("/map", methods=["GET"])
    @has_access
    @permission_name("map")
    def map(self) -> Any:
        """The supermarkets of the viewer's scope on a Leaflet map, by grid and person in charge."""
        actor = current_actor()
        assert actor is not None
        scope = actor.grid_clause(LoveSupermarket.grid_id, LoveSupermarket.station_id)
        grid_id = request.args.get("grid", type=int)
        person_id = request.args.get("person", type=int)
        query = select(LoveSupermarket).where(scope, LoveSupermarket.active.is_(True))
        if grid_id:
            query = query.where(LoveSupermarket.grid_id == grid_id)
        if person_id:
            query = query.where(LoveSupermarket.person_in_charge_id == person_id)
        markets = [{
            "id": m.id, "name": m.name, "address": m.address, "grid": str(m.grid),
            "person": m.person_in_charge.name if m.person_in_charge else "",
            "services": m.services_offered or "", "lat": float(m.latitude), "lon": float(m.longitude),
        } for m in db.session.scalars(query.order_by(LoveSupermarket.name))]
        grids = db.session.scalars(select(Grid).where(actor.grid_clause(Grid.id, Grid.station_id))
                                   .order_by(Grid.code)).all()
        people = db.session.scalars(
            select(StaffProfile).where(StaffProfile.id.in_(
                select(LoveSupermarket.person_in_charge_id).where(scope))).order_by(StaffProfile.name)).all()
        return self.render_template(
            "channel/supermarket_map.html", markets=markets, grids=grids, people=people,
            grid_id=grid_id, person_id=person_id, tile_url=settings.map_tile_url,
            tile_attribution=settings.map_tile_attribution)


class _ResidentScope(ScopeFilter):
    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        return model.supermarket_id.in_(select(LoveSupermarket.id).where(
            actor.grid_clause(LoveSupermarket.grid_id, LoveSupermarket.station_id)))


class CommunityResidentView(GridCareModelView):
    """Residents of the community points scheme; the ledger page earns and redeems."""

    datamodel = SQLAInterface(CommunityResident)
    list_title = _l("Community points")
    base_filters = [["id", _ResidentScope, None]]
    base_permissions = ["can_list", "can_show", "can_add", "can_points"]
    list_columns = ["name", "phone", "supermarket", "balance"]
    add_columns = ["supermarket", "name", "phone", "customer_no"]
    show_columns = ["name", "phone", "customer_no", "supermarket", "balance", "created_at"]
    search_columns = ["name", "supermarket"]
    personal_fields = ("phone",)
    add_form_query_rel_fields = {"supermarket": [["id", GridScopeFilter, None]]}
    formatters_columns = {"phone": mask_formatter("phone"), "created_at": local_time}
    label_columns = {**COMMON_LABELS, "name": _l("Resident"), "supermarket": _l("Love supermarket"),
                     "balance": _l("Balance"), "created_at": _l("Joined at")}

    def pre_add(self, item: CommunityResident) -> None:
        item.balance = 0  # points come only through the ledger

    @expose("/points/<int:pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("points")
    def points(self, pk: int) -> Any:
        actor = current_actor()
        assert actor is not None
        resident = db.session.scalar(select(CommunityResident).where(
            CommunityResident.id == pk, _ResidentScope.scope_of(actor, CommunityResident)))
        if resident is None:
            abort(404)
        if request.method == "POST":
            kind = request.form.get("kind", "")
            raw = request.form.get("points", "")
            with committed() as outcome:
                if not raw.strip().isdigit():
                    raise InvalidInput(gettext("points must be a positive whole number"), field="points")
                if kind == CommunityPointKind.REDEMPTION.value:
                    community.redeem(db.session, actor, resident.id, int(raw), request.form.get("reason", ""))
                else:
                    community.earn(db.session, actor, resident.id, int(raw), request.form.get("reason", ""), kind)
            if outcome.ok:
                flash(gettext("Recorded"), "success")
            return redirect(url_for("CommunityResidentView.points", pk=pk))
        entries = db.session.scalars(select(CommunityPointEntry).where(CommunityPointEntry.resident_id == pk)
                                     .order_by(CommunityPointEntry.id.desc()).limit(200)).all()
        return self.render_template("channel/resident_points.html", resident=resident, entries=entries,
                                    kinds=CommunityPointKind.choices(), local_time=local_time,
                                    kind_label=CommunityPointKind.label_of)


# --- registration at a point or a supermarket -------------------------------------------------
class BranchRegistrationView(BaseView):
    """Walk-ins registered at a convenience point (by the operator on duty) or a supermarket."""

    route_base = "/branchregistration"
    default_view = "point"
    base_permissions = ["can_register_point", "can_register_supermarket"]

    def _form(self, title: str, place_label: str, places: list[Any], no_place: str,
              register: Any) -> Any:
        actor = current_actor()
        assert actor is not None
        form = read_form(["place", "demand_type", *[f[0] for f in _PERSON_FIELDS]])
        errors: dict[str, str] = {}
        if request.method == "POST":
            place_id = int(form["place"]) if form["place"].isdigit() else None
            if place_id not in {p.id for p in places}:
                flash(gettext("Choose one of the places listed."), "danger")
            else:
                with committed() as outcome:
                    order = register(actor, place_id, form)
                if outcome.error is not None:
                    errors[outcome.error.field or "content"] = outcome.error.message
                else:
                    flash(gettext("Registered as %(number)s", number=order.number), "success")
                    return redirect(url_for("WorkOrderView.show", pk=order.id))
        return self.render_template(
            "channel/register.html", title=title, intro=None, place_label=place_label,
            places=places, no_place_message=no_place, form=form, errors=errors,
            demand_types=[(t.value, gettext(t.label)) for t in DemandType],  # type: ignore[attr-defined]
            fields=_PERSON_FIELDS)

    @staticmethod
    def _person(form: dict[str, str]) -> dict[str, Any]:
        return dict(demand_type=form["demand_type"], content=form["content"],
                    contact_name=form["contact_name"] or None, phone=form["phone"] or None,
                    customer_no=form["customer_no"] or None)

    @expose("/point", methods=["GET", "POST"])
    @has_access
    @permission_name("register_point")
    def point(self) -> Any:
        actor = current_actor()
        assert actor is not None
        if actor.is_admin:
            places = list(db.session.scalars(select(ServicePoint).where(ServicePoint.active.is_(True))))
        else:
            places = branch.points_on_duty(db.session, actor.staff_id)
        return self._form(
            gettext("Register a demand at a convenience point"), gettext("Service point"), places,
            gettext("You are not on the duty roster of any convenience point today."),
            lambda a, pid, f: branch.register_at_point(db.session, a, pid, address=f["address"] or None,
                                                       **self._person(f)))

    @expose("/supermarket", methods=["GET", "POST"])
    @has_access
    @permission_name("register_supermarket")
    def supermarket(self) -> Any:
        actor = current_actor()
        assert actor is not None
        places = list(db.session.scalars(select(LoveSupermarket).where(
            LoveSupermarket.active.is_(True),
            actor.grid_clause(LoveSupermarket.grid_id, LoveSupermarket.station_id))
            .order_by(LoveSupermarket.name)))
        return self._form(
            gettext("Register a demand at a love supermarket"), gettext("Love supermarket"), places,
            gettext("There is no love supermarket in your scope."),
            lambda a, pid, f: branch.register_at_supermarket(db.session, a, pid, **self._person(f)))


# --- the public non-fault request form -------------------------------------------------------
PUBLIC_ACTOR = Actor(user_id=None, username="public", display_name="网上客户",
                     roles=frozenset({ADMIN}))  # registers into any grid; it never acts afterwards
_PUBLIC_FIELDS = [
    ("contact_name", _l("Your name"), True), ("phone", _l("Mobile phone"), True),
    ("customer_no", _l("Customer number (if known)"), False), ("address", _l("Address"), True),
    ("station", _l("Power supply station"), True), ("content", _l("What do you need?"), True),
]


class PublicRequestView(BaseView):
    """Non-fault on-site service requests made by customers themselves (no sign-in)."""

    route_base = "/public"
    default_view = "request_form"

    @expose("/request", methods=["GET", "POST"])
    def request_form(self) -> Any:
        stations = db.session.scalars(select(Station).order_by(Station.code)).all()
        form = read_form([f[0] for f in _PUBLIC_FIELDS])
        errors: dict[str, str] = {}
        if request.method == "POST":
            if request.form.get("website"):
                # The honeypot: a field people never see, so only bots fill it in.  Answer as if
                # all went well and write nothing.
                log.info("public request dropped by the honeypot from %s", request.remote_addr)
                return self.render_template("channel/public_request.html", done=True, number=None,
                                            fields=_PUBLIC_FIELDS, form={}, errors={}, stations=stations)
            with committed(flash_error=False) as outcome:
                order = self._register(form, stations)
            if outcome.error is not None:
                errors[outcome.error.field or "content"] = outcome.error.message
            else:
                return self.render_template("channel/public_request.html", done=True,
                                            number=order.number, fields=_PUBLIC_FIELDS, form={},
                                            errors={}, stations=stations)
        return self.render_template("channel/public_request.html", done=False, fields=_PUBLIC_FIELDS,
                                    form=form, errors=errors, stations=stations)

    def _register(self, form: dict[str, str], stations: list[Station]) -> Any:
        for name, _label, required in _PUBLIC_FIELDS:
            if required and not form[name]:
                raise InvalidInput(gettext("This field is required."), field=name)
        phone = normalise_phone(form["phone"])
        if phone is None:
            raise InvalidInput(gettext("Enter a valid phone number."), field="phone")
        if len(form["content"]) > 2000:
            raise InvalidInput(gettext("Please keep it under 2000 characters."), field="content")
        station = next((s for s in stations if s.code == form["station"]), None)
        if station is None:
            raise InvalidInput(gettext("Choose your power supply station."), field="station")
        customer = None
        if form["customer_no"]:
            customer = db.session.scalar(select(Customer).where(Customer.customer_no == form["customer_no"]))
        order = service.register_order(
            db.session, PUBLIC_ACTOR, channel=Channel.ONLINE_NONFAULT.value,
            demand_type=DemandType.SERVICE.value, content=form["content"][:2000],
            contact_name=form["contact_name"][:64], phone=phone, address=form["address"][:255],
            customer_no=customer.customer_no if customer else None,
            extra=None if customer else {"station_id": station.id})
        if customer is not None and customer.grid.station_id != station.id:
            order.station_id = customer.grid.station_id  # the archive knows better
        db.session.add(OrderOrigin(order_id=order.id, remote_addr=(request.remote_addr or "")[:64]))
        return order


def register(appbuilder: Any, category: str, category_label: Any) -> None:
    appbuilder.add_view(ServicePointView, "Convenience service points", icon="fa-map-marker",
                        category=category, label=_l("Convenience service points"),
                        category_label=category_label)
    appbuilder.add_view(DutyShiftView, "Duty roster", icon="fa-calendar", category=category,
                        label=_l("Duty roster"), category_label=category_label)
    appbuilder.add_view(BranchRegistrationView, "Register at a service point", icon="fa-pencil",
                        category=category, label=_l("Register at a service point"),
                        category_label=category_label)
    appbuilder.add_link("Register at a love supermarket", href="/branchregistration/supermarket",
                        icon="fa-pencil", category=category, label=_l("Register at a love supermarket"),
                        category_label=category_label)
    appbuilder.add_view(LoveSupermarketView, "Love supermarkets", icon="fa-heart", category=category,
                        label=_l("Love supermarkets"), category_label=category_label)
    appbuilder.add_link("Love supermarket map", href="/lovesupermarketview/map", icon="fa-map",
                        category=category, label=_l("Love supermarket map"), category_label=category_label)
    appbuilder.add_view(CommunityResidentView, "Community points", icon="fa-star", category=category,
                        label=_l("Community points"), category_label=category_label)
    appbuilder.add_view_no_menu(PublicRequestView)
    view = next(v for v in appbuilder.baseviews if isinstance(v, PublicRequestView))
    appbuilder.sm.limiter.limit(lambda: settings.public_request_rate_limit, methods=["POST"])(view.blueprint)
