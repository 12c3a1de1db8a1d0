"""Organisation: company → station (供电所) → team (班组) → grid (台区) with transformers,
and staff profiles linking Flask-AppBuilder users to their place in it."""

from __future__ import annotations

from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from flask_appbuilder.security.sqla.models import User

from app.models.base import LabeledEnum, Model


class Position(LabeledEnum):
    ADMIN = ("admin", "System administrator")
    STATION_MANAGER = ("station_manager", "Station manager")
    TEAM_LEADER = ("team_leader", "Team leader")
    DISTRICT_MANAGER = ("district_manager", "District manager")
    OPERATOR = ("operator", "Operator")


class AreaClass(LabeledEnum):
    """How far a grid lies from the repair crews: State Grid's repair commitments (arrival on
    site, power restored) differ for urban, rural and remote (特殊边远) areas."""

    URBAN = ("urban", "Urban")
    RURAL = ("rural", "Rural")
    REMOTE = ("remote", "Remote")


class Company(Model):
    __tablename__ = "org_company"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))

    stations: Mapped[list["Station"]] = relationship(back_populates="company")

    def __repr__(self) -> str:
        return self.name


class Station(Model):
    __tablename__ = "org_station"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    company_id: Mapped[int] = mapped_column(ForeignKey("org_company.id"), index=True)
    address: Mapped[Optional[str]] = mapped_column(String(255))

    company: Mapped[Company] = relationship(back_populates="stations")
    teams: Mapped[list["Team"]] = relationship(back_populates="station")

    def __repr__(self) -> str:
        return self.name


class Team(Model):
    __tablename__ = "org_team"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)

    station: Mapped[Station] = relationship(back_populates="teams")
    grids: Mapped[list["Grid"]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return self.name


class StaffProfile(Model):
    """A member of staff: the Flask-AppBuilder user plus their place in the organisation."""

    __tablename__ = "org_staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None while the profile waits for its person's first sign-on through the directory
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"), unique=True)
    # The directory's employee number (LDAP employeeNumber / the OIDC claim): a directory user
    # signing in for the first time is linked to the profile by it.
    employee_no: Mapped[Optional[str]] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[str] = mapped_column(String(32))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_station.id"), index=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"), index=True)
    mobile: Mapped[Optional[str]] = mapped_column(String(32))
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)

    user: Mapped[Optional[User]] = relationship(User, foreign_keys=[user_id])
    station: Mapped[Optional[Station]] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    grids: Mapped[list["Grid"]] = relationship(back_populates="district_manager")

    def __repr__(self) -> str:
        return self.name


class Grid(Model):
    """A distribution area (台区 / 网格) owned by one district manager."""

    __tablename__ = "org_grid"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"), index=True)
    district_manager_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("org_staff.id"), index=True
    )
    area_class: Mapped[str] = mapped_column(
        String(16), default=AreaClass.URBAN.value, server_default=AreaClass.URBAN.value
    )

    station: Mapped[Station] = relationship()
    team: Mapped[Optional[Team]] = relationship(back_populates="grids")
    district_manager: Mapped[Optional[StaffProfile]] = relationship(back_populates="grids")
    transformers: Mapped[list["Transformer"]] = relationship(back_populates="grid")

    def __repr__(self) -> str:
        return f"{self.code} {self.name}"


class Transformer(Model):
    __tablename__ = "org_transformer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    rated_kva: Mapped[Decimal] = mapped_column(Numeric(10, 1))

    grid: Mapped[Grid] = relationship(back_populates="transformers")

    def __repr__(self) -> str:
        return f"{self.code} ({self.rated_kva} kVA)"
