"""Organisation screens: stations, teams, grids, transformers and staff."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.models.org import Company, Grid, StaffProfile, Station, Team, Transformer
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    GridRowScopeFilter,
    GridScopeFilter,
    StationRowScopeFilter,
    StationScopeFilter,
    label_formatter,
)
from app.models.org import AreaClass, Position

_LABELS = {
    **COMMON_LABELS,
    "company": _l("Company"), "district_manager": _l("District manager"),
    "rated_kva": _l("Rated capacity (kVA)"), "user": _l("User"), "position": _l("Position"),
    "mobile": _l("Mobile"), "on_duty": _l("On duty"), "transformers": _l("Transformers"),
    "grids": _l("Grids"), "area_class": _l("Area class"), "employee_no": _l("Employee number"),
}


class CompanyView(GridCareModelView):
    datamodel = SQLAInterface(Company)
    list_columns = ["code", "name"]
    label_columns = _LABELS


class StationView(GridCareModelView):
    datamodel = SQLAInterface(Station)
    base_filters = [["id", StationRowScopeFilter, None]]
    list_columns = ["code", "name", "company", "address"]
    search_columns = ["code", "name"]
    label_columns = _LABELS


class TeamView(GridCareModelView):
    datamodel = SQLAInterface(Team)
    base_filters = [["id", StationScopeFilter, None]]
    list_columns = ["code", "name", "station"]
    search_columns = ["code", "name", "station"]
    label_columns = _LABELS


class GridView(GridCareModelView):
    datamodel = SQLAInterface(Grid)
    base_filters = [["id", GridRowScopeFilter, None]]
    list_columns = ["code", "name", "station", "team", "district_manager", "area_class"]
    search_columns = ["code", "name", "station", "team", "district_manager", "area_class"]
    show_columns = ["code", "name", "station", "team", "district_manager", "area_class", "transformers"]
    add_columns = edit_columns = ["code", "name", "station", "team", "district_manager", "area_class"]
    # The area class sets the repair clocks (arrival on site, power restored).
    form_choices = {"area_class": AreaClass.choices()}
    formatters_columns = {"area_class": label_formatter(AreaClass)}
    label_columns = _LABELS


class TransformerView(GridCareModelView):
    datamodel = SQLAInterface(Transformer)
    base_filters = [["id", GridScopeFilter, None]]
    list_columns = ["code", "name", "grid", "rated_kva"]
    search_columns = ["code", "name", "grid"]
    label_columns = _LABELS


class StaffProfileView(GridCareModelView):
    datamodel = SQLAInterface(StaffProfile)
    base_filters = [["id", StationScopeFilter, None]]
    list_columns = ["name", "position", "station", "team", "on_duty"]
    search_columns = ["name", "position", "station", "team", "on_duty"]
    # employee_no links a directory user at their first sign-on (issue 19); a profile may wait
    # for its person without a user
    add_columns = edit_columns = ["user", "employee_no", "name", "position", "station", "team", "mobile", "on_duty"]
    form_choices = {"position": Position.choices()}
    formatters_columns = {"position": label_formatter(Position)}
    label_columns = _LABELS


def register(appbuilder: Any) -> None:
    for view, name, label, icon in (
        (CompanyView, "Companies", _l("Companies"), "fa-building"),
        (StationView, "Stations", _l("Stations"), "fa-bolt"),
        (TeamView, "Teams", _l("Teams"), "fa-users"),
        (GridView, "Grids", _l("Grids"), "fa-th"),
        (TransformerView, "Transformers", _l("Transformers"), "fa-plug"),
        (StaffProfileView, "Staff", _l("Staff"), "fa-id-badge"),
    ):
        appbuilder.add_view(view, name, icon=icon, category="Organisation",
                            label=label, category_label=_l("Organisation"))
