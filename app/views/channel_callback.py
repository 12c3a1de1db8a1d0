"""Callback screens (administrators): each channel's callback URL and signing secret, beside
the API keys in Settings, and the results whose delivery gave up, with a retry action.  The
secret is shown once, when made; lists and pages show it masked."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import action, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.channels import callbacks
from app.channels.intake import API_CHANNELS
from app.extensions import db
from app.models.channel import ChannelCallback, FeedbackOutbox
from app.models.workorder import Channel
from app.views.common import GridCareModelView, committed, current_actor, label_formatter
from app.views.workorder import local_time


class ChannelCallbackView(GridCareModelView):
    datamodel = SQLAInterface(ChannelCallback)
    list_title = _l("Callbacks of external channels")
    show_title = _l("Callback")
    base_permissions = ["can_list", "can_show", "can_set"]
    base_order = ("channel", "asc")
    list_columns = ["channel", "url", "active", "secret_hint", "updated_at"]
    show_columns = list_columns
    search_columns = ["channel", "url", "active"]
    formatters_columns = {"channel": label_formatter(Channel), "updated_at": local_time}
    label_columns = {"channel": _l("Channel"), "url": _l("Callback URL"), "active": _l("Active"),
                     "secret_hint": _l("Signing secret"), "updated_at": _l("Changed at")}

    @expose("/set", methods=["GET", "POST"])
    @has_access
    @permission_name("set")
    def set(self) -> Any:
        """Set a channel's callback URL; the secret is the one the platform gave, or made here
        (for a new callback, or when a new one is asked for) and then shown this once."""
        channel = request.values.get("channel", "")
        current = db.session.scalar(select(ChannelCallback).where(ChannelCallback.channel == channel))
        form = {"channel": channel, "url": current.url if current else "",
                "active": current.active if current else True}
        shown, saved, errors = None, None, {}
        if request.method == "POST":
            form = {"channel": channel, "url": request.form.get("url", "").strip(),
                    "active": request.form.get("active") == "y"}
            actor = current_actor()
            with committed() as outcome:
                change = callbacks.set_callback(db.session, channel, form["url"],
                                                secret=request.form.get("secret") or None,
                                                active=form["active"],
                                                user_id=actor.user_id if actor else None)
                if request.form.get("new_secret") == "y" and not request.form.get("secret"):
                    change = callbacks.renew_secret(db.session, change.callback.id,
                                                    user_id=actor.user_id if actor else None)
            if outcome.ok:
                shown, saved = change.secret_to_show, change.callback
                flash(gettext("Callback saved"), "success")
                if shown is None:
                    return redirect(url_for("ChannelCallbackView.list"))
            elif outcome.error is not None:
                errors[outcome.error.field or "url"] = outcome.error.message
        return self.render_template(
            "channel/callback_set.html", form=form, errors=errors, shown=shown, saved=saved,
            delivered_by_gateway=callbacks.delivered_by_gateway(),
            channels=[(c.value, gettext(c.label)) for c in Channel if c.value in API_CHANNELS])  # type: ignore[attr-defined]


class WaitingForRetryFilter(BaseFilter):
    """Results whose delivery gave up and that no one has put back in line yet."""

    name = "waiting"
    arg_name = "waiting"

    def apply(self, query: Any, value: Any) -> Any:
        return query.filter(FeedbackOutbox.failed_at.is_not(None), FeedbackOutbox.delivered_at.is_(None))


class FailedDeliveryView(GridCareModelView):
    datamodel = SQLAInterface(FeedbackOutbox)
    list_title = _l("Failed deliveries")
    base_permissions = ["can_list", "retry"]
    base_filters = [["id", WaitingForRetryFilter, None]]
    base_order = ("seq", "asc")
    list_columns = ["channel", "order", "external_id", "action", "seq", "attempts", "last_error", "failed_at"]
    search_columns = ["channel", "external_id", "failed_at"]
    formatters_columns = {"channel": label_formatter(Channel), "failed_at": local_time,
                          "order": lambda order: order.number if order is not None else ""}
    label_columns = {"channel": _l("Channel"), "order": _l("Order"), "external_id": _l("External ID"),
                     "action": _l("Action"), "seq": _l("Result number"), "attempts": _l("Tries"),
                     "last_error": _l("Last error"), "failed_at": _l("Gave up at")}

    @action("retry", _l("Retry"), _l("Deliver the selected results again, in order?"), "fa-repeat",
            single=False)
    def retry(self, items: Any) -> Any:
        ids = [item.id for item in (items if isinstance(items, list) else [items])]
        count = callbacks.retry(db.session, ids)
        db.session.commit()
        flash(gettext("%(count)d results put back in line for the next delivery", count=count), "success")
        return redirect(url_for("FailedDeliveryView.list"))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(ChannelCallbackView, "Callbacks", icon="fa-share", category="Settings",
                        label=_l("Callbacks"), category_label=_l("Settings"))
    appbuilder.add_link("Set a callback", href="/channelcallbackview/set", icon="fa-pencil",
                        category="Settings", label=_l("Set a callback"), category_label=_l("Settings"))
    appbuilder.add_view(FailedDeliveryView, "Failed deliveries", icon="fa-exclamation-triangle",
                        category="Settings", label=_l("Failed deliveries"), category_label=_l("Settings"))
