"""Who is acting and what they may see: roles plus their station / team / grid scope.

Row scope is computed once per request from the staff profile and expressed both as a
SQL clause (for lists) and as a Python check (for single records), so the screens, the
REST API and the jobs enforce the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from app.models.org import Grid, StaffProfile

ADMIN = "Admin"
STATION_MANAGER = "StationManager"
TEAM_LEADER = "TeamLeader"
DISTRICT_MANAGER = "DistrictManager"
OPERATOR = "Operator"
CHANNEL_CLIENT = "ChannelClient"

LEADERS = frozenset({ADMIN, STATION_MANAGER, TEAM_LEADER})
STAFF_ROLES = (ADMIN, STATION_MANAGER, TEAM_LEADER, DISTRICT_MANAGER, OPERATOR)


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    display_name: str
    roles: frozenset[str]
    staff_id: int | None = None
    station_id: int | None = None
    team_id: int | None = None
    grid_ids: frozenset[int] = field(default_factory=frozenset)
    team_grid_ids: frozenset[int] = field(default_factory=frozenset)
    sees_personal_data: bool = False

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def has_any(self, roles: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
        return bool(self.roles & set(roles))

    # --- row scope -------------------------------------------------------------------
    def scope_level(self) -> str:
        if self.is_admin:
            return "all"
        if self.roles & {STATION_MANAGER, OPERATOR}:
            return "station"
        if TEAM_LEADER in self.roles:
            return "team"
        if DISTRICT_MANAGER in self.roles:
            return "grid"
        return "none"

    def order_scope(self, model: Any) -> list[tuple[Any, tuple[int, ...]]] | None:
        """The row scope of ``model`` (anything with station/team/grid/assignee ids) as the
        columns it is on and the values each may take: a row is in scope when any of them
        holds one of its values. ``None``: every row; ``[]``: none. ``order_clause`` is their
        SQL; a keyset page reads each value apart (``app.workflow.pages``)."""
        level = self.scope_level()
        if level == "all":
            return None
        scope: list[tuple[Any, tuple[int, ...]]] = []
        if level == "station" and self.station_id:
            scope.append((model.station_id, (self.station_id,)))
        elif level == "team":
            if self.team_id:
                scope.append((model.team_id, (self.team_id,)))
            if self.team_grid_ids:
                scope.append((model.grid_id, tuple(sorted(self.team_grid_ids))))
        elif level == "grid":
            if self.grid_ids:
                scope.append((model.grid_id, tuple(sorted(self.grid_ids))))
            if self.staff_id and hasattr(model, "assignee_id"):
                scope.append((model.assignee_id, (self.staff_id,)))
        return scope

    def order_clause(self, model: Any) -> Any:
        """SQL condition limiting ``model`` (anything with station/team/grid/assignee ids)."""
        scope = self.order_scope(model)
        if scope is None:
            return true()
        conditions = [column == values[0] if len(values) == 1 else column.in_(values) for column, values in scope]
        return or_(*conditions) if conditions else false()

    def grid_clause(self, grid_id_column: Any, station_id_column: Any = None) -> Any:
        """SQL condition for records that belong to a grid (customers, transformers…)."""
        level = self.scope_level()
        if level == "all":
            return true()
        if level == "station":
            if station_id_column is not None:
                return station_id_column == self.station_id
            return grid_id_column.in_(select(Grid.id).where(Grid.station_id == self.station_id))
        if level == "team":
            return grid_id_column.in_(self.team_grid_ids) if self.team_grid_ids else false()
        if level == "grid":
            return grid_id_column.in_(self.grid_ids) if self.grid_ids else false()
        return false()

    def can_see_order(self, order: Any) -> bool:
        level = self.scope_level()
        if level == "all":
            return True
        if level == "station":
            return self.station_id is not None and order.station_id == self.station_id
        if level == "team":
            return (self.team_id is not None and order.team_id == self.team_id) or (
                order.grid_id in self.team_grid_ids
            )
        if level == "grid":
            return order.grid_id in self.grid_ids or (
                self.staff_id is not None and getattr(order, "assignee_id", None) == self.staff_id
            )
        return False

    def can_see_grid(self, grid_id: int | None, station_id: int | None = None) -> bool:
        level = self.scope_level()
        if level == "all":
            return True
        if level == "station":
            return station_id is not None and station_id == self.station_id
        if level == "team":
            return grid_id in self.team_grid_ids
        if level == "grid":
            return grid_id in self.grid_ids
        return False


SYSTEM = Actor(user_id=None, username="system", display_name="系统", roles=frozenset({ADMIN}))

PERSONAL_DATA_PERMISSION = ("can_view", "PersonalData")


def actor_for_user(session: Session, user: Any, sees_personal_data: bool | None = None) -> Actor:
    """Build the actor of a Flask-AppBuilder user (roles, staff profile and grids)."""
    roles = frozenset(role.name for role in getattr(user, "roles", []) or [])
    profile = session.scalar(select(StaffProfile).where(StaffProfile.user_id == user.id))
    grid_ids: frozenset[int] = frozenset()
    team_grid_ids: frozenset[int] = frozenset()
    if profile is not None:
        grid_ids = frozenset(
            session.scalars(select(Grid.id).where(Grid.district_manager_id == profile.id))
        )
        if profile.team_id:
            team_grid_ids = frozenset(
                session.scalars(select(Grid.id).where(Grid.team_id == profile.team_id))
            )
    if sees_personal_data is None:
        sees_personal_data = ADMIN in roles
    name = profile.name if profile else f"{user.first_name}{user.last_name}".strip() or user.username
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=name,
        roles=roles,
        staff_id=profile.id if profile else None,
        station_id=profile.station_id if profile else None,
        team_id=profile.team_id if profile else None,
        grid_ids=grid_ids,
        team_grid_ids=team_grid_ids,
        sees_personal_data=sees_personal_data,
    )
