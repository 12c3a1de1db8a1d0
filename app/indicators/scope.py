"""The scope an indicator is computed for: everything, a station, a team, a grid or a person.

A scope narrows; it never widens: ``resolve_scope`` refuses a scope outside the viewer's own,
and the queries still AND the viewer's ``Actor.order_clause`` on top.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from app.models.org import Grid, StaffProfile, Station, Team
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput, NotFound, OutOfScope

KINDS = ("all", "station", "team", "grid", "person")


@dataclass(frozen=True)
class Scope:
    kind: str
    id: int | None
    label: str
    station_id: int | None = None
    team_id: int | None = None
    code: str | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def key(self) -> str:
        return "all" if self.kind == "all" else f"{self.kind}:{self.id}"

    def order_clause(self, model: Any) -> Any:
        if self.kind == "all":
            return true()
        if self.kind == "station":
            return model.station_id == self.id
        if self.kind == "team":
            conditions = [model.team_id == self.id]
            if self.grid_ids:
                conditions.append(model.grid_id.in_(self.grid_ids))
            return or_(*conditions)
        if self.kind == "grid":
            return model.grid_id == self.id
        if self.kind == "person":
            return model.assignee_id == self.id
        return false()

    def staff_clause(self, model: Any = StaffProfile) -> Any:
        if self.kind == "all":
            return true()
        if self.kind == "station":
            return model.station_id == self.id
        if self.kind == "team":
            return model.team_id == self.id
        if self.kind == "grid":
            return model.id.in_(select(Grid.district_manager_id).where(Grid.id == self.id))
        if self.kind == "person":
            return model.id == self.id
        return false()

    def grid_clause(self, grid_id_column: Any, station_id_column: Any = None) -> Any:
        if self.kind == "all":
            return true()
        if self.kind == "station":
            if station_id_column is not None:
                return station_id_column == self.id
            return grid_id_column.in_(select(Grid.id).where(Grid.station_id == self.id))
        if self.kind in ("team", "person"):
            return grid_id_column.in_(self.grid_ids) if self.grid_ids else false()
        if self.kind == "grid":
            return grid_id_column == self.id
        return false()


def both(viewer_clause: Any, scope_clause: Any) -> list[Any]:
    """The viewer's row scope AND the scope asked for — once when they are the same condition
    (a repeated ``station_id = ?`` makes SQLite's planner pick a worse index)."""
    if viewer_clause.compare(scope_clause):
        return [viewer_clause]
    return [viewer_clause, scope_clause]


def _grids_of(session: Session, column: Any, value: int) -> frozenset[int]:
    return frozenset(session.scalars(select(Grid.id).where(column == value)))


def _lookup(session: Session, model: Any, ident: Any) -> Any:
    if ident in (None, ""):
        raise InvalidInput("a scope needs an id or a code", field="scope")
    text = str(ident)
    found = session.get(model, int(text)) if text.isdigit() else None
    if found is None and hasattr(model, "code"):
        found = session.scalar(select(model).where(model.code == text))
    if found is None:
        raise NotFound(f"unknown {model.__name__.lower()}: {ident}")
    return found


def build_scope(session: Session, kind: str, ident: Any = None) -> Scope:
    """The scope itself, without asking whether anyone may see it (jobs, CLI)."""
    if kind == "all":
        return Scope("all", None, "全部")
    if kind == "station":
        station = _lookup(session, Station, ident)
        return Scope("station", station.id, station.name, station_id=station.id, code=station.code)
    if kind == "team":
        team = _lookup(session, Team, ident)
        return Scope("team", team.id, team.name, station_id=team.station_id, team_id=team.id,
                     code=team.code, grid_ids=_grids_of(session, Grid.team_id, team.id))
    if kind == "grid":
        grid = _lookup(session, Grid, ident)
        return Scope("grid", grid.id, f"{grid.code} {grid.name}", station_id=grid.station_id,
                     team_id=grid.team_id, code=grid.code, grid_ids=frozenset({grid.id}))
    if kind == "person":
        staff = _lookup(session, StaffProfile, ident)
        return Scope("person", staff.id, staff.name, station_id=staff.station_id, team_id=staff.team_id,
                     grid_ids=_grids_of(session, Grid.district_manager_id, staff.id))
    raise InvalidInput(f"unknown scope: {kind}", field="scope")


def default_scope(session: Session, actor: Actor) -> Scope:
    """The viewer's own scope: all (admin), station, team, or themselves (district manager)."""
    level = actor.scope_level()
    if level == "all":
        return build_scope(session, "all")
    if level == "station" and actor.station_id:
        return build_scope(session, "station", actor.station_id)
    if level == "team" and actor.team_id:
        return build_scope(session, "team", actor.team_id)
    if level == "grid" and actor.staff_id:
        return build_scope(session, "person", actor.staff_id)
    raise OutOfScope("you have no scope to see indicators for")


def may_see(actor: Actor, scope: Scope) -> bool:
    level = actor.scope_level()
    if level == "all":
        return True
    if scope.kind == "all":
        return False
    if level == "station":
        return actor.station_id is not None and scope.station_id == actor.station_id
    if level == "team":
        if scope.kind == "station":
            return False
        if scope.kind == "grid":
            return scope.id in actor.team_grid_ids
        return actor.team_id is not None and scope.team_id == actor.team_id
    if level == "grid":
        if scope.kind == "person":
            return scope.id == actor.staff_id
        if scope.kind == "grid":
            return scope.id in actor.grid_ids
    return False


def resolve_scope(session: Session, actor: Actor, kind: str | None = None, ident: Any = None) -> Scope:
    """The scope asked for (``kind`` + id or code), or the viewer's own when none is asked."""
    if not kind:
        return default_scope(session, actor)
    if kind not in KINDS:
        raise InvalidInput(f"unknown scope: {kind}", field="scope")
    scope = build_scope(session, kind, ident)
    if not may_see(actor, scope):
        raise OutOfScope("this scope is outside yours")
    return scope


def parse_scope_arg(value: str | None) -> tuple[str | None, str | None]:
    """``"team:3"`` / ``"station:ST001"`` / ``"all"`` → (kind, ident)."""
    if not value:
        return None, None
    kind, _, ident = value.partition(":")
    return kind, (ident or None)


def scope_choices(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """The scopes the viewer may pick on the dashboard: their own first, then what lies under it."""
    level = actor.scope_level()
    choices: list[tuple[str, str]] = []
    if level == "all":
        choices.append(("all", "全部"))
    stations = teams = grids = people = None
    if level == "all":
        stations = select(Station)
        teams, grids = select(Team), select(Grid)
    elif level == "station" and actor.station_id:
        stations = select(Station).where(Station.id == actor.station_id)
        teams = select(Team).where(Team.station_id == actor.station_id)
        grids = select(Grid).where(Grid.station_id == actor.station_id)
        people = select(StaffProfile).where(StaffProfile.station_id == actor.station_id)
    elif level == "team" and actor.team_id:
        teams = select(Team).where(Team.id == actor.team_id)
        grids = select(Grid).where(Grid.team_id == actor.team_id)
        people = select(StaffProfile).where(StaffProfile.team_id == actor.team_id)
    elif level == "grid" and actor.staff_id:
        people = select(StaffProfile).where(StaffProfile.id == actor.staff_id)
        grids = select(Grid).where(Grid.district_manager_id == actor.staff_id)
    if stations is not None:
        choices += [(f"station:{s.id}", s.name) for s in session.scalars(stations.order_by(Station.code))]
    if teams is not None:
        choices += [(f"team:{t.id}", t.name) for t in session.scalars(teams.order_by(Team.code))]
    if people is not None:
        choices += [(f"person:{p.id}", p.name) for p in session.scalars(
            people.where(StaffProfile.position == "district_manager").order_by(StaffProfile.name))]
    if grids is not None:
        choices += [(f"grid:{g.id}", f"{g.code} {g.name}") for g in session.scalars(grids.order_by(Grid.code))]
    return choices
