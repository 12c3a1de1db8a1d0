"""HTML → PDF with WeasyPrint.  WeasyPrint is single-threaded and slow on long tables, so the
report data is already summarised; the CJK font is named explicitly (Noto Sans CJK SC)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from app.indicators.period import Period
from app.indicators.scope import Scope
from app.reports import charts
from app.reports.data import evaluation_report
from app.workflow.actor import SYSTEM, Actor
from app.workflow.calendar import LOCAL_TZ

TEMPLATES = Path(__file__).resolve().parent / "templates"
_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]))

HEADLINE_ROWS = [
    ("timely_rate", "及时率", "pct"),
    ("on_time_rate", "按期办结率", "pct"),
    ("avg_handling_hours", "平均处理时长（小时）", "num"),
    ("avg_score", "平均评价得分", "num"),
    ("satisfaction_rate", "回访满意率", "pct"),
    ("application_rate", "功能应用率", "pct"),
    ("redo_rate", "重办率", "pct"),
]
# Figures where less is better (a rise is shown red, the target is a ceiling).
LOWER_IS_BETTER = ("avg_handling_hours", "redo_rate")

# WeasyPrint logs every unsupported CSS property at WARNING; keep the job logs readable.
logging.getLogger("weasyprint").setLevel(logging.ERROR)
logging.getLogger("fontTools").setLevel(logging.ERROR)


@dataclass
class RenderedReport:
    title: str
    html: str
    pdf: bytes
    seconds: float
    data: dict[str, Any]
    pages: int = 0


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if value else "—"


def evaluation_title(scope: Scope, period: Period) -> str:
    year, month = period.label.split("-")
    return f"{scope.label} {year}年{int(month)}月工作考评报告"


def render_evaluation_html(session: Session, scope: Scope, period: Period, now: dt.datetime,
                           actor: Actor = SYSTEM, targets: dict[str, float] | None = None) -> tuple[str, dict[str, Any]]:
    data = evaluation_report(session, actor, scope, period, now, targets)
    managers = data["managers"]
    manager_chart = charts.bar_chart(
        [(m["name"], round((m["timely_rate"] or 0) * 100, 1)) for m in managers if m["resolved"]],
        value_format="{:.1f}%", max_value=100, target=data["targets"]["timely_rate"] * 100)
    channel_chart = charts.bar_chart([(c["label"], c["count"]) for c in data["channels"]])
    score_chart = charts.bar_chart([(b["bucket"], b["count"]) for b in data["current"]["distribution"]],
                                   color="#7d3c98") if data["current"]["evaluated"] else ""
    last_day = (period.end - dt.timedelta(seconds=1)).astimezone(LOCAL_TZ).date()
    html = _env.get_template("evaluation.html").render(
        title=evaluation_title(scope, period), data=data, **data, headline_rows=HEADLINE_ROWS, lower_better=LOWER_IS_BETTER,
        manager_chart=manager_chart, channel_chart=channel_chart, score_chart=score_chart,
        period_text=f"{period.start.astimezone(LOCAL_TZ).date()} 至 {last_day}",
        generated_text=_local(now) + "（北京时间）", local=_local,
    )
    return html, data


def render_evaluation_pdf(session: Session, scope: Scope, period: Period, now: dt.datetime,
                          actor: Actor = SYSTEM, targets: dict[str, float] | None = None) -> RenderedReport:
    from time import perf_counter

    from weasyprint import HTML

    started = perf_counter()
    html, data = render_evaluation_html(session, scope, period, now, actor, targets)
    document = HTML(string=html, base_url=str(TEMPLATES)).render()
    pdf = document.write_pdf()
    return RenderedReport(evaluation_title(scope, period), html, pdf, perf_counter() - started, data,
                          len(document.pages))
