"""The statutory calendar's data: the ``chinesecalendar`` seed, loading and saving a year's
arrangement, the CSV import, and recomputing provisional deadlines once a year is complete.

No Flask here: callers pass a session (the screens, the REST API, the CLI and the jobs), and
the edges translate ``InvalidInput`` into a form error or a 400 naming the field or row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from app.workflow.errors import InvalidInput

HOLIDAY, WORKDAY = "holiday", "workday"

# The package names the festivals in English; staff read them in Chinese.
FESTIVAL_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

KIND_WORDS = {
    "holiday": HOLIDAY, "节假日": HOLIDAY, "法定节假日": HOLIDAY, "假日": HOLIDAY, "休": HOLIDAY,
    "workday": WORKDAY, "调休上班": WORKDAY, "调休上班日": WORKDAY, "上班": WORKDAY, "班": WORKDAY,
}
CSV_HEADERS = {"date": ("date", "日期"), "kind": ("kind", "类型"), "name": ("name", "名称")}


@lru_cache(maxsize=1)
def package_arrangements() -> dict[int, list[tuple[dt.date, str, str | None]]]:
    """Every year the installed ``chinesecalendar`` covers: (day, kind, name) entries."""
    import chinese_calendar

    years: dict[int, list[tuple[dt.date, str, str | None]]] = {}
    for day, name in sorted(chinese_calendar.holidays.items()):
        years.setdefault(day.year, []).append((day, HOLIDAY, FESTIVAL_NAMES.get(name, name)))
    for day, name in sorted(chinese_calendar.workdays.items()):
        years.setdefault(day.year, []).append((day, WORKDAY, FESTIVAL_NAMES.get(name, name)))
    return {year: sorted(entries) for year, entries in years.items()}


@dataclass
class YearInput:
    """A year's arrangement as entered: holidays and make-up working days with names."""

    year: int
    holidays: dict[dt.date, str | None]
    workdays: dict[dt.date, str | None]
    complete: bool = True


def parse_dates(values: Iterable[Any], field: str, year: int) -> dict[dt.date, str | None]:
    """``["2027-01-01", "2027-02-06 春节", …]`` (a name may follow the date) → {date: name}."""
    days: dict[dt.date, str | None] = {}
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        head, _, name = text.partition(" ")
        try:
            day = dt.date.fromisoformat(head.strip())
        except ValueError:
            raise InvalidInput(f"{field}: {text!r} is not a date (YYYY-MM-DD)", field=field) from None
        if day.year != year:
            raise InvalidInput(f"{field}: {day.isoformat()} is not in {year}", field=field)
        days[day] = name.strip() or None
    return days


def validate(entry: YearInput) -> YearInput:
    both = sorted(set(entry.holidays) & set(entry.workdays))
    if both:
        raise InvalidInput(f"{both[0].isoformat()} cannot be both a holiday and a make-up working day",
                           field="workdays")
    for day in entry.workdays:
        if day.weekday() < 5:
            raise InvalidInput(f"workdays: {day.isoformat()} is a weekday; make-up working days fall "
                               "on a Saturday or Sunday", field="workdays")
    if entry.complete and not any(day.weekday() < 5 for day in entry.holidays):
        raise InvalidInput(f"holidays: a complete {entry.year} needs its statutory holidays", field="holidays")
    return entry


def load_year(session: Any, year: int) -> Any:
    """The arrangement of ``year`` from the database (a ``calendar.YearArrangement``)."""
    from sqlalchemy import select

    from app.models.calendar import CalendarDay, CalendarYear
    from app.workflow.calendar import YearArrangement

    row = session.get(CalendarYear, year)
    if row is None:
        return YearArrangement(year, False)
    days = session.execute(select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.year == year)).all()
    return YearArrangement(year, bool(row.complete),
                           frozenset(d for d, kind in days if kind == HOLIDAY),
                           frozenset(d for d, kind in days if kind == WORKDAY))


def engine_loader(engine: Any) -> Any:
    """A loader for ``calendar.configure`` reading the given engine (its own short session)."""
    from sqlalchemy.orm import Session

    def load(year: int) -> Any:
        with Session(engine) as session:
            return load_year(session, year)

    return load


def entered_year(session: Any, year: int) -> YearInput:
    """The arrangement of ``year`` as entered (with the festival names), for the screen and
    the REST API; a year never entered is an empty, incomplete one."""
    from sqlalchemy import select

    from app.models.calendar import CalendarDay, CalendarYear

    row = session.get(CalendarYear, year)
    entry = YearInput(year, {}, {}, complete=bool(row and row.complete))
    for day, kind, name in session.execute(select(CalendarDay.day, CalendarDay.kind, CalendarDay.name)
                                           .where(CalendarDay.year == year).order_by(CalendarDay.day)):
        (entry.holidays if kind == HOLIDAY else entry.workdays)[day] = name
    return entry


def enter_year(session: Any, entry: YearInput, *, user_id: int | None, now: dt.datetime,
               source: str = "admin") -> int:
    """Replace ``entry.year``'s arrangement and commit it; then, if the year is complete,
    recompute the provisional deadlines it settles (a second commit: should that fail, the
    scheduled ``calendar_provisional`` job finishes it).  Returns the orders recomputed."""
    from sqlalchemy import delete

    from app.models.calendar import CalendarDay, CalendarYear
    from app.workflow import calendar
    from app.workflow.deadlines import recompute_provisional

    validate(entry)
    row = session.get(CalendarYear, entry.year)
    if row is None:
        row = CalendarYear(year=entry.year)
        session.add(row)
    was_complete = bool(row.complete)
    row.complete = entry.complete
    row.source = source
    row.updated_at = now
    if entry.complete and not was_complete:
        row.completed_at, row.completed_by_id = now, user_id
    if not entry.complete:
        row.completed_at = row.completed_by_id = None
    session.flush()
    session.execute(delete(CalendarDay).where(CalendarDay.year == entry.year))
    session.add_all([CalendarDay(day=day, year=entry.year, kind=HOLIDAY, name=name)
                     for day, name in sorted(entry.holidays.items())])
    session.add_all([CalendarDay(day=day, year=entry.year, kind=WORKDAY, name=name)
                     for day, name in sorted(entry.workdays.items())])
    session.commit()
    calendar.invalidate(entry.year)  # this process counts with the new arrangement at once
    if not entry.complete:
        return 0
    recomputed = recompute_provisional(session, now)
    session.commit()
    return recomputed


def parse_csv(text: str) -> list[YearInput]:
    """A CSV of ``date,kind,name`` rows (headers in English or Chinese; kind: holiday /
    workday / 节假日 / 调休上班) → one complete ``YearInput`` per year it names.  A bad row
    stops the file with its line number before anything is saved."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise InvalidInput("the file is empty", field="file")
    header = [cell.strip().lower() for cell in rows[0]]
    columns: dict[str, int] = {}
    for key, names in CSV_HEADERS.items():
        for index, cell in enumerate(header):
            if cell in names:
                columns[key] = index
    for required in ("date", "kind"):
        if required not in columns:
            raise InvalidInput(f"the header row needs a {'/'.join(CSV_HEADERS[required])} column", field="file")
    years: dict[int, YearInput] = {}
    for line, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        raw_day, raw_kind = cells[columns["date"]].strip(), cells[columns["kind"]].strip()
        name = cells[columns["name"]].strip() if "name" in columns else ""
        try:
            day = dt.date.fromisoformat(raw_day.replace("/", "-"))
        except ValueError:
            raise InvalidInput(f"line {line}: {raw_day!r} is not a date (YYYY-MM-DD)", field="file") from None
        kind = KIND_WORDS.get(raw_kind.lower())
        if kind is None:
            raise InvalidInput(f"line {line}: kind {raw_kind!r} is neither holiday (节假日) nor workday (调休上班)",
                               field="file")
        entry = years.setdefault(day.year, YearInput(day.year, {}, {}))
        (entry.holidays if kind == HOLIDAY else entry.workdays)[day] = name or None
    for entry in years.values():
        try:
            validate(entry)
        except InvalidInput as error:
            raise InvalidInput(f"{entry.year}: {error.message}", field="file") from None
    return [years[year] for year in sorted(years)]
