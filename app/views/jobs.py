"""Scheduled-job screens for administrators: job definitions (cron, pause, "run now"), the
run history, the scheduler's lease; and the SLA clock panel on the order page."""

from __future__ import annotations

import re
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select, update
from wtforms import ValidationError

from app.extensions import db
from app.models.base import utcnow
from app.models.jobs import JobDefinition, JobRun, RunOutcome, SchedulerLease, SlaWarning
from app.models.notification import DeliveryChannel, DeliveryState, Notification, NotificationDelivery
from app.views.common import COMMON_LABELS, GridCareModelView, current_actor, label_formatter
from app.views.workorder import local_time

_DOTTED = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")

_LABELS = {
    **COMMON_LABELS,
    "description": _l("Description"), "func": _l("Function"), "cron": _l("Schedule (cron)"),
    "misfire_grace_seconds": _l("Misfire grace (s)"), "paused": _l("Paused"),
    "run_requested_at": _l("Run requested at"), "job_name": _l("Job"), "tick_key": _l("Tick"),
    "trigger": _l("Trigger"), "scheduled_at": _l("Scheduled at"), "outcome": _l("Outcome"),
    "counts": _l("Counts"), "holder": _l("Process"),
}


class CronValidator:
    def __call__(self, form: Any, field: Any) -> None:
        from app.jobs.scheduler import parse_cron

        try:
            parse_cron(field.data or "")
        except (ValueError, TypeError) as error:
            raise ValidationError(gettext("Not a valid cron expression: %(error)s", error=str(error)))


class DottedPathValidator:
    def __call__(self, form: Any, field: Any) -> None:
        if not _DOTTED.match(field.data or ""):
            raise ValidationError(gettext("A dotted path such as app.jobs.sla.sweep_job is required."))


def _next_run(cron: str) -> str:
    from app.jobs.scheduler import parse_cron

    try:
        upcoming = parse_cron(cron).get_next_fire_time(None, utcnow())
    except ValueError:
        return cron
    return f"{cron}  →  {local_time(upcoming)}" if upcoming else cron


class JobRunView(GridCareModelView):
    datamodel = SQLAInterface(JobRun)
    list_title = _l("Job runs")
    base_permissions = ["can_list", "can_show"]
    base_order = ("started_at", "desc")
    list_columns = ["job_name", "trigger", "scheduled_at", "started_at", "finished_at", "outcome",
                    "counts", "holder"]
    show_columns = ["job_name", "tick_key", "trigger", "scheduled_at", "started_at", "finished_at",
                    "outcome", "counts", "error", "holder"]
    search_columns = ["job_name", "outcome", "trigger", "started_at"]
    formatters_columns = {
        "scheduled_at": local_time, "started_at": local_time, "finished_at": local_time,
        "outcome": label_formatter(RunOutcome),
    }
    label_columns = _LABELS


class JobDefinitionView(GridCareModelView):
    datamodel = SQLAInterface(JobDefinition)
    list_title = _l("Scheduled jobs")
    show_template = "jobs/definition_show.html"
    list_template = "jobs/definition_list.html"
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete",
                        "can_run_now", "can_pause"]
    base_order = ("name", "asc")
    list_columns = ["name", "description", "cron", "misfire_grace_seconds", "paused", "run_requested_at"]
    show_columns = ["name", "description", "func", "cron", "misfire_grace_seconds", "paused",
                    "run_requested_at", "updated_at"]
    # Pausing is the Pause button (a required BooleanField cannot be unticked in FAB forms).
    add_columns = edit_columns = ["name", "description", "func", "cron", "misfire_grace_seconds"]
    search_columns = ["name", "func", "paused"]
    validators_columns = {"cron": [CronValidator()], "func": [DottedPathValidator()]}
    formatters_columns = {"cron": _next_run, "run_requested_at": local_time, "updated_at": local_time}
    description_columns = {
        "cron": _l("minute hour day month weekday, or with seconds first; weekdays as mon-sun"),
        "func": _l("A function fn(session, now) returning counts, by its dotted path"),
        "misfire_grace_seconds": _l("A run late by more than this is skipped; missed runs are run once"),
    }
    label_columns = _LABELS

    @expose("/list/")
    @has_access
    def list(self) -> Any:
        widgets = self._list()
        lease = db.session.get(SchedulerLease, "scheduler")
        alive = lease is not None and lease.expires_at > utcnow()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    lease=lease, alive=alive, local_time=local_time)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        widgets = self._show(pk)
        definition = db.session.get(JobDefinition, int(pk))
        if definition is None:
            abort(404)
        runs = db.session.scalars(select(JobRun).where(JobRun.job_name == definition.name)
                                  .order_by(JobRun.started_at.desc()).limit(30)).all()
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=self._related_views, definition=definition, runs=runs,
                                    local_time=local_time, RunOutcome=RunOutcome)

    @expose("/run/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("run_now")
    def run_now(self, pk: int) -> Any:
        definition = db.session.get(JobDefinition, pk)
        if definition is None:
            abort(404)
        definition.run_requested_at = utcnow()
        db.session.commit()
        flash(gettext("%(name)s: run requested; the scheduler starts it within seconds.",
                      name=definition.name), "success")
        return redirect(url_for("JobDefinitionView.show", pk=pk))

    @expose("/pause/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("pause")
    def pause(self, pk: int) -> Any:
        definition = db.session.get(JobDefinition, pk)
        if definition is None:
            abort(404)
        definition.paused = request.form.get("paused", "1") == "1"
        db.session.commit()
        flash(gettext("%(name)s paused", name=definition.name) if definition.paused
              else gettext("%(name)s resumed", name=definition.name), "success")
        return redirect(url_for("JobDefinitionView.show", pk=pk))

    @action("run_now", _l("Run now"), _l("Run the selected jobs now?"), "fa-play", single=False)
    def run_now_action(self, items: Any) -> Any:
        items = items if isinstance(items, list) else [items]
        for item in items:
            item.run_requested_at = utcnow()
        db.session.commit()
        flash(gettext("%(count)d runs requested", count=len(items)), "success")
        self.update_redirect()
        return redirect(self.get_redirect())


class SlaWarningView(GridCareModelView):
    datamodel = SQLAInterface(SlaWarning)
    list_title = _l("SLA warnings")
    base_permissions = ["can_list"]
    base_order = ("sent_at", "desc")
    list_columns = ["order_id", "level", "elapsed_share", "recipients", "mailed", "sent_at"]
    formatters_columns = {"sent_at": local_time}
    label_columns = {"order_id": _l("Work order"), "level": _l("Level"),
                     "elapsed_share": _l("Share of time used"), "recipients": _l("Recipients"),
                     "mailed": _l("Mails"), "sent_at": _l("Sent at")}


def sla_panel(order: Any) -> Markup:
    """The order page's clock (deadline, share used, warnings sent)."""
    from flask import render_template

    from app.jobs.sla import clock_of

    from app.models.clocks import ClockKind
    from app.views.clocks import describe_left
    from app.workflow.clocks import read_clocks

    now = utcnow()
    clock = clock_of(order, now)
    if clock is None:
        return Markup("")
    warnings = db.session.scalars(select(SlaWarning).where(SlaWarning.order_id == order.id)
                                  .order_by(SlaWarning.id)).all()
    return Markup(render_template("jobs/sla_panel.html", clock=clock, warnings=warnings,
                                  local_time=local_time, readings=read_clocks(db.session, order, now),
                                  clock_label=ClockKind.label_of, describe_left=describe_left))


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(MyNotificationsView)
    appbuilder.add_link("Notifications", label=_l("Notifications"), href="/notifications/",
                        icon="fa-bell-o", category="Announcements", category_label=_l("Announcements"))
    appbuilder.add_view(JobDefinitionView, "Scheduled jobs", icon="fa-clock-o", category="Scheduling",
                        label=_l("Scheduled jobs"), category_label=_l("Scheduling"))
    appbuilder.add_view(JobRunView, "Job runs", icon="fa-history", category="Scheduling",
                        label=_l("Job runs"), category_label=_l("Scheduling"))
    appbuilder.add_view(SlaWarningView, "SLA warnings", icon="fa-bell", category="Scheduling",
                        label=_l("SLA warnings"), category_label=_l("Scheduling"))
    from flask import current_app

    current_app._get_current_object().context_processor(lambda: {"sla_panel": sla_panel})


class MyNotificationsView(BaseView):
    """The signed-in user's notification list (SLA warnings, escalations, reports…)."""

    route_base = "/notifications"
    default_view = "index"
    base_permissions = ["can_list", "can_read"]

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self) -> Any:
        actor = current_actor()
        if actor is None or actor.user_id is None:
            abort(403)
        items = db.session.scalars(select(Notification).where(Notification.user_id == actor.user_id)
                                   .order_by(Notification.id.desc()).limit(200)).all()
        deliveries: dict[int, list[NotificationDelivery]] = {}
        if items:
            for delivery in db.session.scalars(select(NotificationDelivery).where(
                    NotificationDelivery.notification_id.in_([n.id for n in items]))
                    .order_by(NotificationDelivery.id)):
                deliveries.setdefault(delivery.notification_id, []).append(delivery)
        return self.render_template("jobs/notifications.html", items=items, local_time=local_time,
                                    title=gettext("Notifications"), deliveries=deliveries,
                                    DeliveryChannel=DeliveryChannel, DeliveryState=DeliveryState)

    @expose("/read-all", methods=["POST"])
    @has_access
    @permission_name("read")
    def read_all(self) -> Any:
        actor = current_actor()
        if actor is None or actor.user_id is None:
            abort(403)
        db.session.execute(update(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None),
        ).values(read_at=utcnow().replace(microsecond=0)))
        db.session.commit()
        return redirect(url_for("MyNotificationsView.index"))

    @expose("/read/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("read")
    def read(self, pk: int) -> Any:
        actor = current_actor()
        item = db.session.get(Notification, pk)
        if item is None or actor is None or item.user_id != actor.user_id:
            abort(404)
        if item.read_at is None:
            item.read_at = utcnow().replace(microsecond=0)
            db.session.commit()
        return redirect(item.link or url_for("MyNotificationsView.index"))
