"""Notification screens: each person's channels and quiet hours, and the outbox of mails and
SMS with what is waiting, sent or given up (administrators put given-up ones back in line).
The bell list itself is ``MyNotificationsView`` (app/views/jobs.py); the unread count sits in
the navigation bar (app/views/navbar.py)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, action, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models.base import utcnow
from app.models.notification import DeliveryChannel, DeliveryState, NotificationDelivery
from app.models.org import StaffProfile
from app.notifications import hhmm, preference_of, save_preference
from app.notifications.delivery import retry as retry_deliveries
from app.views.common import GridCareModelView, current_actor, label_formatter
from app.views.workorder import local_time
from app.workflow.errors import InvalidInput

_MESSAGES = {
    "sms_number": _l("A phone number of digits, at most 32 characters."),
    "quiet_start": _l("A time of day such as 22:00."),
    "quiet_end": _l("A time of day such as 22:00."),
    "both": _l("Give both the start and the end of the quiet hours, or neither."),
}


class NotificationSettingsView(BaseView):
    """The signed-in person's channels (in-app always; mail; SMS) and quiet hours."""

    route_base = "/notification-settings"
    default_view = "edit"
    base_permissions = ["can_edit"]

    @expose("/", methods=["GET", "POST"])
    @has_access
    @permission_name("edit")
    def edit(self) -> Any:
        actor = current_actor()
        if actor is None or actor.user_id is None:
            abort(403)
        user = self.appbuilder.sm.get_user_by_id(actor.user_id)
        mobile = db.session.scalar(select(StaffProfile.mobile).where(StaffProfile.user_id == actor.user_id))
        errors: dict[str, str] = {}
        pref = preference_of(db.session, actor.user_id)
        values = {"by_mail": pref.by_mail, "by_sms": pref.by_sms, "sms_number": pref.sms_number or "",
                  "quiet_start": hhmm(pref.quiet_start), "quiet_end": hhmm(pref.quiet_end)}
        if request.method == "POST":  # CSRF checked by the one CSRFProtect
            form = request.form
            values = {"by_mail": form.get("by_mail") == "1", "by_sms": form.get("by_sms") == "1",
                      "sms_number": form.get("sms_number", "").strip(),
                      "quiet_start": form.get("quiet_start", "").strip(),
                      "quiet_end": form.get("quiet_end", "").strip()}
            try:
                save_preference(db.session, actor.user_id, now=utcnow(), **values)
                db.session.commit()
            except InvalidInput as error:
                db.session.rollback()
                key = error.field or "sms_number"
                errors[key] = str(_MESSAGES["both"] if "both" in error.message else _MESSAGES.get(key, error.message))
            else:
                flash(gettext("Notification settings saved"), "success")
                return redirect(url_for("NotificationSettingsView.edit"))
        return self.render_template("notification/settings.html", values=values, errors=errors,
                                    email=getattr(user, "email", None), mobile=mobile,
                                    title=gettext("Notification settings")), 400 if errors else 200


class NotificationDeliveryView(GridCareModelView):
    """Every mail and SMS to staff: waiting (with the next try), sent, or given up."""

    datamodel = SQLAInterface(NotificationDelivery)
    list_title = _l("Message deliveries")
    base_permissions = ["can_list", "can_show", "retry"]
    base_order = ("id", "desc")
    list_columns = ["created_at", "user", "channel", "address", "subject", "state", "attempts",
                    "next_attempt_at", "last_error", "sent_at"]
    show_columns = list_columns + ["body", "failed_at"]
    search_columns = ["state", "channel", "created_at"]
    formatters_columns = {
        "channel": label_formatter(DeliveryChannel), "state": label_formatter(DeliveryState),
        "created_at": local_time, "next_attempt_at": local_time, "sent_at": local_time,
        "failed_at": local_time,
    }
    label_columns = {
        "created_at": _l("Queued at"), "user": _l("Recipient"), "channel": _l("Channel"),
        "address": _l("Address"), "subject": _l("Subject"), "body": _l("Text"), "state": _l("State"),
        "attempts": _l("Tries"), "next_attempt_at": _l("Next try"), "last_error": _l("Last error"),
        "sent_at": _l("Sent at"), "failed_at": _l("Gave up at"),
    }

    @action("retry", _l("Retry"), _l("Send the selected messages again?"), "fa-repeat", single=False)
    def retry(self, items: Any) -> Any:
        ids = [item.id for item in (items if isinstance(items, list) else [items])]
        count = retry_deliveries(db.session, ids, utcnow())
        db.session.commit()
        flash(gettext("%(count)d messages put back in line for the next delivery", count=count), "success")
        return redirect(url_for("NotificationDeliveryView.list"))


def register(appbuilder: Any) -> None:
    appbuilder.add_view_no_menu(NotificationSettingsView)
    appbuilder.add_link("Notification settings", label=_l("Notification settings"),
                        href="/notification-settings/", icon="fa-sliders", category="Announcements",
                        category_label=_l("Announcements"))
    appbuilder.add_view(NotificationDeliveryView, "Message deliveries", icon="fa-paper-plane",
                        category="Scheduling", label=_l("Message deliveries"),
                        category_label=_l("Scheduling"))
