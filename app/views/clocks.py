"""Clock targets (时限标准): administrators set, per demand type, which milestone clocks an
order runs and how long each allows.  The next order registered takes the new values;
orders already registered keep the allowances they were given (app/workflow/clocks.py)."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField
from wtforms.validators import NumberRange

from app.models.clocks import ANY_AREA, ClockKind, ClockTarget, ClockUnit
from app.models.org import AreaClass
from app.models.workorder import DemandType
from app.views.common import COMMON_LABELS, GridCareModelView, label_formatter
from app.workflow import clocks

# The source platform's deadline comes with each demand; it is not ours to configure.
CONFIGURABLE_KINDS = [(k.value, _l(k.label)) for k in ClockKind if k is not ClockKind.SOURCE]
AREA_CHOICES = [(ANY_AREA, _l("Any area")), *AreaClass.choices()]


def _area_label(value: str) -> str:
    return str(_l("Any area")) if value == ANY_AREA else AreaClass.label_of(value)


class ClockTargetView(GridCareModelView):
    datamodel = SQLAInterface(ClockTarget)
    list_title = _l("Clock targets")
    base_order = ("demand_type", "asc")
    list_columns = ["demand_type", "kind", "area_class", "amount", "unit", "round_the_clock", "active", "note"]
    search_columns = ["demand_type", "kind", "area_class", "active"]
    add_columns = edit_columns = show_columns = list_columns
    form_choices = {
        "demand_type": DemandType.choices(),
        "kind": CONFIGURABLE_KINDS,
        "area_class": AREA_CHOICES,
        "unit": ClockUnit.choices(),
    }
    validators_columns = {"amount": [NumberRange(min=1, max=100000)]}
    # Check boxes: unticked is an answer (FAB would make a non-null boolean "required").
    add_form_extra_fields = edit_form_extra_fields = {
        "round_the_clock": BooleanField(_l("Round the clock"), default=False, description=_l(
            "Count every hour (emergency repairs); otherwise working time on the statutory calendar.")),
        "active": BooleanField(_l("Active"), default=True, description=_l(
            "Untick to switch this clock off for the demand type.")),
    }
    formatters_columns = {
        "demand_type": label_formatter(DemandType),
        "kind": label_formatter(ClockKind),
        "area_class": _area_label,
        "unit": label_formatter(ClockUnit),
    }
    label_columns = {
        **COMMON_LABELS,
        "demand_type": _l("Demand type"), "kind": _l("Clock"), "area_class": _l("Area class"),
        "amount": _l("Allowed"), "unit": _l("Unit"), "round_the_clock": _l("Round the clock"),
    }
    description_columns = {
        "area_class": _l("A row for the grid's own area class wins over the row for any area."),
        "round_the_clock": _l("Count every hour (emergency repairs); otherwise working time on the statutory calendar."),
        "active": _l("Untick to switch this clock off for the demand type."),
    }

    def pre_add(self, item: ClockTarget) -> None:
        _check(item)

    def pre_update(self, item: ClockTarget) -> None:
        _check(item)

    # This process's registrations see the change at once (the others within
    # CLOCK_TARGETS_CACHE_SECONDS).
    def post_add(self, item: ClockTarget) -> None:
        clocks.forget_targets()

    def post_update(self, item: ClockTarget) -> None:
        clocks.forget_targets()

    def post_delete(self, item: ClockTarget) -> None:
        clocks.forget_targets()


def _check(item: ClockTarget) -> None:
    from flask_babel import gettext

    if item.unit == ClockUnit.WORKING_DAYS.value and item.round_the_clock:
        raise ValueError(gettext("Working days count on the statutory calendar: untick round the clock."))
    if item.kind == ClockKind.COMPLETION.value and item.round_the_clock:
        raise ValueError(gettext("The completion limit counts working time: untick round the clock."))


def describe_left(left: Any) -> str:
    """"3 h 20 min left" / "overdue 40 min" for a clock's time left (a timedelta)."""
    from flask_babel import gettext

    minutes = int(abs(left.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = ([gettext("%(n)d d", n=days)] if days else []) + ([gettext("%(n)d h", n=hours)] if hours else [])
    if not days:
        parts.append(gettext("%(n)d min", n=minutes))
    text = " ".join(parts)
    return gettext("overdue %(time)s", time=text) if left.total_seconds() < 0 else gettext("%(time)s left", time=text)


def register(appbuilder: Any) -> None:
    appbuilder.add_view(ClockTargetView, "Clock targets", icon="fa-hourglass-half", category="Settings",
                        label=_l("Clock targets"), category_label=_l("Settings"))
