"""Dead letters of intake across zones (administrators, Settings → Dead letters): the
messages the consumers could not register, each with its reason; fix the body and replay it
to the intake queue, or discard it.  The broker's dead-letter queue is read live
(``app.gateway.dead_letters``); nothing is copied into the core database."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l

from app.gateway import broker, dead_letters


def _where() -> tuple[str, broker.Topology]:
    return current_app.config["AMQP_URL"], broker.Topology(current_app.config["AMQP_PREFIX"])


class DeadLetterView(BaseView):
    route_base = "/deadletters"
    default_view = "list"
    base_permissions = ["can_list", "can_replay"]

    def _letters(self) -> list[dead_letters.DeadLetter] | None:
        try:
            return dead_letters.browse(*_where())
        except Exception as error:  # the broker is away: say so on the screen
            flash(gettext("The message broker cannot be reached: %(error)s", error=str(error) or type(error).__name__),
                  "danger")
            return None

    @expose("/list", methods=["GET"])
    @has_access
    @permission_name("list")
    def list(self) -> Any:
        return self.render_template("gateway/dead_letters.html", letters=self._letters() or [],
                                    selected=None, body=None, error=None)

    @expose("/show", methods=["GET"])
    @has_access
    @permission_name("list")
    def show(self) -> Any:
        key = request.args.get("key", "")
        letters = self._letters() or []
        selected = next((letter for letter in letters if letter.key == key), None)
        if selected is None:
            flash(gettext("No such dead letter (replayed or discarded meanwhile)."), "warning")
            return redirect(url_for("DeadLetterView.list"))
        return self.render_template("gateway/dead_letters.html", letters=letters, selected=selected,
                                    body=selected.body, error=None)

    @expose("/replay", methods=["POST"])
    @has_access
    @permission_name("replay")
    def replay(self) -> Any:
        key = request.form.get("key", "")
        body = request.form.get("body", "")
        if request.form.get("discard") == "y":
            done = dead_letters.discard(*_where(), key)
            flash(gettext("Dead letter discarded") if done else
                  gettext("No such dead letter (replayed or discarded meanwhile)."), "success" if done else "warning")
            return redirect(url_for("DeadLetterView.list"))
        try:
            json.loads(body)
        except ValueError as error:
            letters = self._letters() or []
            selected = next((letter for letter in letters if letter.key == key), None)
            return self.render_template("gateway/dead_letters.html", letters=letters, selected=selected,
                                        body=body, error=gettext("body: not valid JSON (%(error)s)",
                                                                 error=str(error))), 400
        if dead_letters.replay(*_where(), key, body):
            flash(gettext("Replayed to the intake queue"), "success")
        else:
            flash(gettext("No such dead letter (replayed or discarded meanwhile)."), "warning")
        return redirect(url_for("DeadLetterView.list"))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(DeadLetterView, "Dead letters", icon="fa-envelope-o", category="Settings",
                        label=_l("Dead letters"), category_label=_l("Settings"))
