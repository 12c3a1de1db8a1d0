"""Customer archive screens: customers (scoped to the viewer's grids, personal data masked),
their bills, tags and energy intentions."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, true

from app.models.customer import Bill, Customer, CustomerTag, CustomerType, EnergyIntention
from app.views.common import (
    COMMON_LABELS,
    GridCareModelView,
    GridRowScopeFilter,
    GridScopeFilter,
    ScopeFilter,
    label_formatter,
    mask_formatter,
)

_LABELS = {
    **COMMON_LABELS,
    "customer_type": _l("Customer type"), "id_number": _l("ID number"),
    "meter_no": _l("Meter number"), "contract_capacity_kva": _l("Contract capacity (kVA)"),
    "tariff": _l("Tariff"), "tags": _l("Tags"), "intentions": _l("Energy intentions"), "bills": _l("Bills"),
    "period": _l("Period"), "total_kwh": _l("Total kWh"), "sharp_kwh": _l("Sharp kWh"),
    "peak_kwh": _l("Peak kWh"), "flat_kwh": _l("Flat kWh"), "valley_kwh": _l("Valley kWh"),
    "amount_yuan": _l("Amount (yuan)"),
}


class BillScopeFilter(ScopeFilter):
    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        # The province sees every bill: no semi-join with the whole customer table (which
        # PostgreSQL hashed, 12,000,000 bills against 1,000,000 customers, ~1 s a page).
        if actor.scope_level() == "all":
            return true()
        return model.customer_id.in_(select(Customer.id).where(actor.grid_clause(Customer.grid_id)))


class BillView(GridCareModelView):
    datamodel = SQLAInterface(Bill)
    base_filters = [["id", BillScopeFilter, None]]
    base_order = ("period", "desc")
    list_columns = ["customer", "period", "total_kwh", "peak_kwh", "flat_kwh", "valley_kwh", "amount_yuan"]
    search_columns = ["period"]
    label_columns = _LABELS


class CustomerView(GridCareModelView):
    datamodel = SQLAInterface(Customer)
    base_filters = [["id", GridScopeFilter, None]]
    base_order = ("customer_no", "asc")
    list_columns = ["customer_no", "name", "customer_type", "phone", "address", "grid", "tags"]
    search_columns = ["customer_no", "name", "customer_type", "phone", "id_number", "address",
                      "grid", "meter_no", "tags", "intentions"]
    show_columns = ["customer_no", "name", "customer_type", "phone", "id_number", "address", "grid",
                    "transformer", "meter_no", "contract_capacity_kva", "tariff", "tags",
                    "intentions", "updated_at"]
    add_columns = edit_columns = ["customer_no", "name", "customer_type", "phone", "id_number",
                                  "address", "grid", "transformer", "meter_no",
                                  "contract_capacity_kva", "tariff", "tags", "intentions"]
    personal_fields = ("phone", "id_number")
    related_views = [BillView]
    search_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    edit_form_query_rel_fields = add_form_query_rel_fields = {"grid": [["id", GridRowScopeFilter, None]]}
    form_choices = {"customer_type": CustomerType.choices()}
    formatters_columns = {
        "customer_type": label_formatter(CustomerType),
        "phone": mask_formatter("phone"),
        "id_number": mask_formatter("id_number"),
    }
    label_columns = _LABELS


class CustomerTagView(GridCareModelView):
    datamodel = SQLAInterface(CustomerTag)
    list_columns = ["code", "name"]
    label_columns = _LABELS


class EnergyIntentionView(GridCareModelView):
    datamodel = SQLAInterface(EnergyIntention)
    list_columns = ["code", "name"]
    label_columns = _LABELS


def register(appbuilder: Any) -> None:
    appbuilder.add_view(CustomerView, "Customer archive", icon="fa-address-book",
                        category="Customers", label=_l("Customer archive"), category_label=_l("Customers"))
    appbuilder.add_view(BillView, "Bills", icon="fa-file-text", category="Customers",
                        label=_l("Bills"), category_label=_l("Customers"))
    appbuilder.add_view(CustomerTagView, "Customer tags", icon="fa-tags", category="Customers",
                        label=_l("Customer tags"), category_label=_l("Customers"))
    appbuilder.add_view(EnergyIntentionView, "Energy intentions", icon="fa-leaf",
                        category="Customers", label=_l("Energy intentions"), category_label=_l("Customers"))
