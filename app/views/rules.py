"""The rule editor for administrators: rule sets per domain with their versions, an editor
whose conditions and actions are drop-downs generated from business-rules' ``export_rule_data``,
activation, rollback, diffs between versions and dry runs; plus the leave roster.

The editor's JavaScript (``static/rules/editor.js``, served locally) turns the drop-downs into
the rule JSON and posts it with the form; the server validates it (``app.rules.validation``)
before anything is saved.  Every change goes through ``app.rules.store``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import abort, flash, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models.rules import RuleDomain, RuleSet, RuleSetVersion, StaffLeave
from app.rules import store
from app.rules.base import get_domain
from app.rules.dryrun import dry_run
from app.rules.validation import RuleValidationError
from app.views.common import GridCareModelView, committed, current_actor
from app.views.rule_words import RuleWords, dry_run_row, rule_diff
from app.workflow.calendar import LOCAL_TZ
from app.workflow.errors import DomainError


def _local(value: Any) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else ""


def _translated(data: dict[str, Any]) -> dict[str, Any]:
    """The editor's drop-down labels in the user's language (business-rules gives English)."""

    def label(item: dict[str, Any]) -> None:
        if item.get("label"):
            item["label"] = gettext(item["label"])
        for option in item.get("options") or []:
            if isinstance(option, dict) and option.get("label"):
                option["label"] = gettext(option["label"])

    for variable in data["variables"]:
        label(variable)
    for operators in data["variable_type_operators"].values():
        for operator in operators:
            label(operator)
    for action in data["actions"]:
        label(action)
        for param in action["params"] or []:
            label(param)
    return data


def _change_note(comment: str | None) -> str:
    """A version's change note; the store's own "rollback to version N" in the viewer's language."""
    if not comment:
        return ""
    found = re.fullmatch(r"rollback to version (\d+)", comment)
    if found:
        return gettext("Rolled back to version %(version)s", version=found.group(1))
    return comment


def _author() -> str:
    actor = current_actor()
    return actor.username if actor else "unknown"


class RuleSetView(BaseView):
    route_base = "/rules"
    default_view = "index"
    base_permissions = ["can_list", "can_edit", "can_dry_run"]

    # --- list -----------------------------------------------------------------------------
    @expose("/")
    @has_access
    @permission_name("list")
    def index(self) -> Any:
        rule_sets = db.session.scalars(select(RuleSet).order_by(RuleSet.domain, RuleSet.priority.desc(),
                                                                RuleSet.name)).all()
        return self.render_template("rules/index.html", rule_sets=rule_sets, domains=RuleDomain,
                                    local_time=_local, title=gettext("Rule sets"))

    # --- editor ---------------------------------------------------------------------------
    def _editor(self, *, domain: str, rule_set: RuleSet | None, rules: Any, name: str = "",
                priority: int = 100, active: bool = False, description: str = "",
                errors: list[str] | None = None, status: int = 200) -> Any:
        spec = get_domain(domain)
        page = self.render_template(
            "rules/edit.html", domain=domain, domain_label=RuleDomain.label_of(domain),
            rule_set=rule_set, rules_json=json.dumps(rules, ensure_ascii=False),
            rule_data=_translated(spec.export(db.session)), name=name, priority=priority, active=active,
            description=description, errors=errors or [], title=gettext("Rule editor"),
        )
        return page, status

    @expose("/new/<domain>")
    @has_access
    @permission_name("edit")
    def new(self, domain: str) -> Any:
        try:
            RuleDomain(domain)
        except ValueError:
            abort(404)
        return self._editor(domain=domain, rule_set=None, rules=[])

    @expose("/edit/<int:pk>")
    @has_access
    @permission_name("edit")
    def edit(self, pk: int) -> Any:
        rule_set = db.session.get(RuleSet, pk) or abort(404)
        version = store.version_of(db.session, rule_set)
        return self._editor(domain=rule_set.domain, rule_set=rule_set, rules=version.rules,
                            name=rule_set.name, priority=rule_set.priority, active=rule_set.active,
                            description=rule_set.description or "")

    @expose("/save", methods=["POST"])
    @has_access
    @permission_name("edit")
    def save(self) -> Any:
        form = request.form
        domain = form.get("domain", "")
        rule_set_id = form.get("rule_set_id", type=int)
        rule_set = db.session.get(RuleSet, rule_set_id) if rule_set_id else None
        raw = form.get("rules_json", "")
        values = dict(name=form.get("name", ""), description=form.get("description", ""),
                      active=form.get("active") in ("on", "true", "1"))
        try:
            priority = int(form.get("priority", "100"))
        except ValueError:
            priority = 100
            errors = [gettext("Priority must be a whole number.")]
        else:
            errors = []
        try:
            rules = json.loads(raw) if raw else []
        except ValueError as error:
            rules, errors = [], errors + [gettext("The rules are not valid JSON: %(error)s", error=str(error))]
        if not errors:
            with committed(flash_error=False) as outcome:
                rule_set = store.save_rule_set(
                    db.session, domain=domain, name=values["name"], rules=rules, author=_author(),
                    priority=priority, active=values["active"], description=values["description"] or None,
                    comment=form.get("comment") or None, rule_set_id=rule_set_id,
                )
            if isinstance(outcome.error, RuleValidationError):
                errors = outcome.error.errors
            elif outcome.error is not None:
                errors = [outcome.error.message]
        if errors:
            for message in errors:
                flash(message, "danger")
            try:
                get_domain(domain)
            except DomainError:
                abort(400, description=errors[0])
            return self._editor(domain=domain, rule_set=rule_set, rules=rules, priority=priority,
                                errors=errors, status=400, **values)
        assert rule_set is not None
        flash(gettext("%(name)s saved as version %(version)d", name=rule_set.name, version=rule_set.version),
              "success")
        return redirect(url_for("RuleSetView.history", pk=rule_set.id))

    @expose("/activate/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def activate(self, pk: int) -> Any:
        active = request.form.get("active") != "false"
        try:
            rule_set = store.set_active(db.session, pk, active, _author())
            db.session.commit()
        except RuleValidationError as error:
            db.session.rollback()
            for message in error.errors:
                flash(message, "danger")
            return redirect(url_for("RuleSetView.index"))
        flash(gettext("%(name)s is now %(state)s", name=rule_set.name,
                      state=gettext("active") if active else gettext("inactive")), "success")
        return redirect(url_for("RuleSetView.index"))

    # --- history, rollback, diff ----------------------------------------------------------
    @expose("/history/<int:pk>")
    @has_access
    @permission_name("list")
    def history(self, pk: int) -> Any:
        rule_set = db.session.get(RuleSet, pk) or abort(404)
        versions = db.session.scalars(select(RuleSetVersion).where(RuleSetVersion.rule_set_id == pk)
                                      .order_by(RuleSetVersion.version.desc())).all()
        return self.render_template("rules/history.html", rule_set=rule_set, versions=versions,
                                    local_time=_local, change_note=_change_note, title=gettext("Versions"))

    @expose("/rollback/<int:pk>/<int:version>", methods=["POST"])
    @has_access
    @permission_name("edit")
    def rollback(self, pk: int, version: int) -> Any:
        try:
            rule_set = store.rollback(db.session, pk, version, _author())
            db.session.commit()
        except RuleValidationError as error:
            db.session.rollback()
            for message in error.errors:
                flash(message, "danger")
            return redirect(url_for("RuleSetView.history", pk=pk))
        flash(gettext("Rolled back to version %(old)d (saved as version %(new)d)", old=version,
                      new=rule_set.version), "success")
        return redirect(url_for("RuleSetView.history", pk=pk))

    @expose("/diff/<int:pk>")
    @has_access
    @permission_name("list")
    def diff(self, pk: int) -> Any:
        rule_set = db.session.get(RuleSet, pk) or abort(404)
        a = request.args.get("a", type=int) or max(rule_set.version - 1, 1)
        b = request.args.get("b", type=int) or rule_set.version
        old, new = store.version_of(db.session, rule_set, a), store.version_of(db.session, rule_set, b)
        words = RuleWords(_translated(get_domain(rule_set.domain).export(db.session)))
        return self.render_template("rules/diff.html", rule_set=rule_set, a=a, b=b,
                                    rows=rule_diff(words, old, new), title=gettext("Differences"))

    # --- dry run of the editor's draft, without leaving it ---------------------------------
    @expose("/dryrun/draft", methods=["POST"])
    @has_access
    @permission_name("dry_run")
    def dryrun_draft(self) -> Any:
        """The editor's draft run on sample orders (JSON in, JSON out; the editor stays put):
        each sample's resulting priority, assignee and points, and what each fired rule does."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return jsonify({"message": gettext("Send the draft as JSON."), "field": "rules"}), 400
        domain = str(body.get("domain") or "")
        rules = body.get("rules")
        if not isinstance(rules, list):
            return jsonify({"message": gettext("The draft's rules must be a list."), "field": "rules"}), 400
        last_n = body.get("last_n", 20)
        if not isinstance(last_n, int) or isinstance(last_n, bool) or not 1 <= last_n <= 200:
            return jsonify({"message": gettext("last_n must be a whole number from 1 to 200."),
                            "field": "last_n"}), 400
        subjects = [s for s in str(body.get("subjects") or "").replace(",", " ").split() if s]
        try:
            spec = get_domain(domain)
            rows = dry_run(db.session, domain, draft=rules, subjects=subjects, last_n=last_n)
        except RuleValidationError as problem:
            db.session.rollback()
            return jsonify({"message": "；".join(problem.errors), "field": "rules"}), 400
        except DomainError as problem:
            db.session.rollback()
            return jsonify({"message": problem.message, "field": problem.field or "domain"}), 400
        words = RuleWords(_translated(spec.export(db.session)))
        result = [dry_run_row(words, domain, row) for row in rows]
        db.session.rollback()
        return jsonify({"domain": domain, "rows": result})

    # --- dry run --------------------------------------------------------------------------
    @expose("/dryrun", methods=["GET", "POST"])
    @has_access
    @permission_name("dry_run")
    def dryrun(self) -> Any:
        source = request.form if request.method == "POST" else request.args
        domain = source.get("domain", "routing")
        rows, error = None, None
        if request.method == "POST":
            subjects = [s for s in source.get("subjects", "").replace(",", " ").split() if s]
            draft = None
            if source.get("rules_json"):
                try:
                    draft = json.loads(source["rules_json"])
                except ValueError:
                    error = gettext("The rules are not valid JSON.")
            if error is None:
                try:
                    found = dry_run(db.session, domain, rule_set_id=source.get("rule_set_id", type=int),
                                    draft=draft, subjects=subjects, last_n=source.get("last_n", type=int),
                                    period=source.get("period") or None)
                    words = RuleWords(_translated(get_domain(domain).export(db.session)))
                    rows = [dry_run_row(words, domain, row) for row in found]
                except RuleValidationError as problem:
                    error = "; ".join(problem.errors)
                except DomainError as problem:
                    error = problem.message
            db.session.rollback()
        rule_sets = db.session.scalars(select(RuleSet).order_by(RuleSet.domain, RuleSet.name)).all()
        return self.render_template(
            "rules/dryrun.html", domains=RuleDomain, domain=domain, rule_sets=rule_sets, rows=rows,
            domain_labels={d.value: d.label for d in RuleDomain},
            error=error, form=source, title=gettext("Dry run"),
        ), (400 if error else 200)


class StaffLeaveView(GridCareModelView):
    """Leave periods with their stand-ins: routing skips people on leave."""

    datamodel = SQLAInterface(StaffLeave)
    list_title = _l("Leave roster")
    list_columns = ["staff", "stand_in", "starts_at", "ends_at", "reason"]
    add_columns = edit_columns = show_columns = ["staff", "stand_in", "starts_at", "ends_at", "reason"]
    base_order = ("starts_at", "desc")
    formatters_columns = {"starts_at": _local, "ends_at": _local}
    label_columns = {"staff": _l("Staff"), "stand_in": _l("Stand-in"), "starts_at": _l("From"),
                     "ends_at": _l("Until"), "reason": _l("Reason")}

    def _aware(self, item: StaffLeave) -> None:
        # The form's date-times are local wall-clock times.
        for name in ("starts_at", "ends_at"):
            value = getattr(item, name)
            if value is not None and value.tzinfo is None:
                setattr(item, name, value.replace(tzinfo=LOCAL_TZ))
        if item.starts_at and item.ends_at and item.ends_at <= item.starts_at:
            raise DomainError(gettext("The leave must end after it starts."))
        if item.stand_in_id is not None and item.stand_in_id == item.staff_id:
            raise DomainError(gettext("Nobody can stand in for themselves."))

    def pre_add(self, item: StaffLeave) -> None:
        self._aware(item)

    def pre_update(self, item: StaffLeave) -> None:
        self._aware(item)


def register(appbuilder: Any) -> None:
    appbuilder.add_view(RuleSetView, "Rule sets", href="/rules/", icon="fa-code-fork", category="Rules",
                        label=_l("Rule sets"), category_label=_l("Rules"))
    appbuilder.add_link("Dry run", href="/rules/dryrun", icon="fa-flask", category="Rules",
                        label=_l("Dry run"))
    appbuilder.add_view(StaffLeaveView, "Leave roster", icon="fa-calendar", category="Rules",
                        label=_l("Leave roster"))
