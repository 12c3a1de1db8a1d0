"""The statutory calendar screen (法定节假日) for administrators: every year with its state,
a year's holidays and make-up working days edited as lines of dates, and a CSV import.
Saving a complete year recomputes the provisional deadlines it settles."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import func, select

from app import clock
from app.extensions import db
from app.jobs.calendar import missing_years
from app.models.calendar import CalendarDay, CalendarYear
from app.workflow import calendar_data
from app.workflow.errors import InvalidInput

class StatutoryCalendarView(BaseView):
    route_base = "/calendar"
    default_view = "index"
    base_permissions = ["can_list", "can_edit"]
    method_permission_name = {"index": "list", "edit": "edit", "import_csv": "edit"}

    @expose("/")
    @has_access
    def index(self) -> Any:
        today = clock.today()
        rows = {row.year: row for row in db.session.scalars(select(CalendarYear))}
        counts = dict(db.session.execute(select(CalendarDay.year, func.count()).group_by(CalendarDay.year)).all())
        years = sorted(set(rows) | {today.year, today.year + 1}, reverse=True)
        return self.render_template("calendar/index.html", years=years, rows=rows, counts=counts,
                                    missing=missing_years(today), local_time=_local_time)

    @expose("/<int:year>", methods=["GET", "POST"])
    @has_access
    def edit(self, year: int) -> Any:
        if not 1949 <= year <= 2200:
            flash(gettext("%(year)s is outside 1949–2200", year=year), "danger")
            return redirect(url_for("StatutoryCalendarView.index"))
        saved = calendar_data.entered_year(db.session, year)
        form = {"holidays": _lines(saved.holidays), "workdays": _lines(saved.workdays), "complete": saved.complete}
        error = None
        if request.method == "POST":
            form = {"holidays": request.form.get("holidays", ""), "workdays": request.form.get("workdays", ""),
                    "complete": request.form.get("complete") == "y"}
            try:
                entry = calendar_data.YearInput(
                    year, calendar_data.parse_dates(form["holidays"].splitlines(), "holidays", year),
                    calendar_data.parse_dates(form["workdays"].splitlines(), "workdays", year),
                    complete=bool(form["complete"]))
                recomputed = calendar_data.enter_year(db.session, entry, user_id=current_user.id,
                                                      now=clock.now(), source="admin")
            except InvalidInput as failure:
                db.session.rollback()
                error = failure  # the form keeps what was typed
            else:
                flash(gettext("%(year)s saved; %(count)d provisional deadlines recomputed",
                              year=year, count=recomputed), "success")
                return redirect(url_for("StatutoryCalendarView.index"))
        return self.render_template("calendar/edit.html", year=year, form=form, error=error)

    @expose("/import", methods=["POST"])
    @has_access
    def import_csv(self) -> Any:
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise InvalidInput(gettext("choose a CSV file"), field="file")
            raw = upload.read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("gbk", errors="strict")
            entries = calendar_data.parse_csv(text)
            recomputed = 0
            for entry in entries:
                recomputed += calendar_data.enter_year(db.session, entry, user_id=current_user.id,
                                                       now=clock.now(), source="csv")
        except (InvalidInput, UnicodeDecodeError) as failure:
            db.session.rollback()
            flash(gettext("Import refused: %(error)s", error=getattr(failure, "message", str(failure))), "danger")
        else:
            flash(gettext("Imported %(years)s; %(count)d provisional deadlines recomputed",
                          years=", ".join(str(e.year) for e in entries), count=recomputed), "success")
        return redirect(url_for("StatutoryCalendarView.index"))


def _lines(days: dict[dt.date, str | None]) -> str:
    """One day a line, its festival's name after it: the form's text."""
    return "\n".join(f"{day.isoformat()} {name or ''}".strip() for day, name in sorted(days.items()))


def _local_time(value: dt.datetime | None) -> str:
    return value.astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def calendar_warning() -> Markup:
    """The banner on every page of an administrator while a year's arrangement is missing."""
    if not getattr(current_user, "is_authenticated", False):
        return Markup("")
    if not any(role.name == "Admin" for role in getattr(current_user, "roles", [])):
        return Markup("")
    missing = missing_years(clock.today())
    if not missing:
        return Markup("")
    from flask import render_template

    return Markup(render_template("calendar/warning.html", missing=missing))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(StatutoryCalendarView, "Statutory calendar", href="/calendar/", icon="fa-calendar-o",
                        category="Settings", label=_l("Statutory calendar"), category_label=_l("Settings"))
