"""The records around work orders, each with its own list: timeline events, suspensions,
deadline-extension requests (the team leader's approval queue) and return visits.
They are written only by the workflow service, so these screens list, search and show."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.models.workorder import (
    CallbackQuestion,
    ExtensionRequest,
    ExtensionStatus,
    OrderState,
    ReturnVisit,
    Suspension,
    WorkOrder,
    WorkOrderEvent,
)
from app.views.common import COMMON_LABELS, GridCareModelView, ScopeFilter, label_formatter
from app.views.workorder import local_time
from app.workflow.service import ACTION_LABELS


class OrderRecordScopeFilter(ScopeFilter):
    """Records of orders in the viewer's scope."""

    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        return model.order_id.in_(select(WorkOrder.id).where(actor.order_clause(WorkOrder)))


_LABELS = {
    **COMMON_LABELS,
    "order": _l("Work order"), "action": _l("Action"), "from_state": _l("From"),
    "to_state": _l("To"), "actor_name": _l("Who"), "created_at": _l("When"), "started_at": _l("Suspended at"),
    "ended_at": _l("Resumed at"), "paused_seconds": _l("Paused seconds"),
    "requested_days": _l("Working days"), "approved_days": _l("Approved days"),
    "requested_at": _l("Requested at"), "decided_at": _l("Decided at"), "decision_note": _l("Decision"),
    "satisfied": _l("Satisfied"), "answers": _l("Answers"), "visited_at": _l("Visited at"),
}
_READ_ONLY = ["can_list", "can_show"]


def action_label(value: Any) -> str:
    """A timeline action in words (派单, not dispatch)."""
    from flask_babel import gettext

    return gettext(ACTION_LABELS[value]) if value in ACTION_LABELS else (value or "")


class WorkOrderEventView(GridCareModelView):
    datamodel = SQLAInterface(WorkOrderEvent)
    base_permissions = _READ_ONLY
    base_filters = [["id", OrderRecordScopeFilter, None]]
    base_order = ("id", "desc")
    list_columns = ["created_at", "order", "action", "from_state", "to_state", "actor_name", "note"]
    show_columns = list_columns
    search_columns = ["created_at", "action", "from_state", "to_state", "actor_name", "note"]
    formatters_columns = {"created_at": local_time, "action": action_label,
                          "from_state": label_formatter(OrderState), "to_state": label_formatter(OrderState)}
    label_columns = _LABELS


class SuspensionView(GridCareModelView):
    datamodel = SQLAInterface(Suspension)
    base_permissions = _READ_ONLY
    base_filters = [["id", OrderRecordScopeFilter, None]]
    base_order = ("id", "desc")
    list_columns = ["order", "reason", "started_at", "ended_at", "paused_seconds"]
    show_columns = list_columns
    search_columns = ["reason", "started_at", "ended_at"]
    formatters_columns = {"started_at": local_time, "ended_at": local_time}
    label_columns = _LABELS


class ExtensionRequestView(GridCareModelView):
    """The approval queue: decide from the order's page (buttons there)."""

    datamodel = SQLAInterface(ExtensionRequest)
    base_permissions = _READ_ONLY
    base_filters = [["id", OrderRecordScopeFilter, None]]
    base_order = ("id", "desc")
    list_columns = ["order", "requested_days", "reason", "status", "requested_at", "approved_days", "decided_at"]
    show_columns = list_columns + ["decision_note"]
    search_columns = ["status", "requested_at", "reason"]
    formatters_columns = {"status": label_formatter(ExtensionStatus), "requested_at": local_time,
                          "decided_at": local_time}
    label_columns = _LABELS


def answers_text(answers: Any) -> str:
    """A visit's answers as the questions and words the visitor chose (是 / 否, 1–5 …)."""
    from flask_babel import gettext

    from app.extensions import db

    if not answers:
        return ""
    texts = dict(db.session.execute(select(CallbackQuestion.code, CallbackQuestion.text)).all())
    words = {"yes": gettext("Yes"), "no": gettext("No")}
    return "；".join(f"{texts.get(code, code)} {words.get(value, value) if isinstance(value, str) else value}"
                    for code, value in answers.items())


def satisfied_text(value: Any) -> str:
    from flask_babel import gettext

    return gettext("Satisfied") if value else gettext("Unsatisfied")


class ReturnVisitView(GridCareModelView):
    datamodel = SQLAInterface(ReturnVisit)
    base_permissions = _READ_ONLY
    base_filters = [["id", OrderRecordScopeFilter, None]]
    base_order = ("id", "desc")
    list_columns = ["order", "satisfied", "note", "visited_at"]
    show_columns = ["order", "satisfied", "answers", "note", "visited_at"]
    search_columns = ["satisfied", "visited_at", "note"]
    formatters_columns = {"visited_at": local_time, "answers": answers_text, "satisfied": satisfied_text}
    label_columns = _LABELS


def register(appbuilder: Any) -> None:
    for view, name, label, icon in (
        (ExtensionRequestView, "Extension requests", _l("Extension requests"), "fa-hourglass-half"),
        (ReturnVisitView, "Return visits", _l("Return visits"), "fa-phone"),
        (SuspensionView, "Suspensions", _l("Suspensions"), "fa-pause"),
        (WorkOrderEventView, "Timeline events", _l("Timeline events"), "fa-history"),
    ):
        appbuilder.add_view(view, name, icon=icon, category="Work orders", label=label,
                            category_label=_l("Work orders"))
