"""The monthly evaluation report as a PDF: rendered by the CLI, read back with poppler."""

from __future__ import annotations

import subprocess

from app.models.points import WorkPointEntry
from tests.factories import staff
from tests.reports_helpers import october_orders


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_october_report_of_the_station_renders_names_rate_and_cjk_font(app, db_session, tmp_path):
    october_orders(db_session)
    db_session.add(WorkPointEntry(staff_id=staff(db_session, "manager1").id, source_type="work_order",
                                  points=12.5, created_at=_october(15)))
    db_session.commit()
    out = tmp_path / "st001-2026-10.pdf"
    result = app.test_cli_runner().invoke(args=["gridcare", "report", "evaluation", "--month", "2026-10",
                                                "--station", "ST001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")

    text = pdf_text(out)
    flat = "".join(text.split())
    assert "城东供电所" in flat
    for name in ("李台区", "张台区", "陈台区"):  # every district manager of ST001, even one without orders
        assert name in flat
    assert "孙台区" not in flat  # ST002's manager is not in ST001's report
    assert "75.0%" in flat  # the station's timely rate: 3 of 4 resolved in October
    assert "12.5" in flat  # manager1's work points
    assert "第1页/共" in flat  # page numbers
    assert "生成时间" in flat and "2026-10" in flat

    fonts = subprocess.run(["pdffonts", str(out)], check=True, capture_output=True, text=True).stdout
    names = [line.split()[0].split("+", 1)[-1] for line in fonts.splitlines()[2:] if line.strip()]
    # Every embedded font is the CJK one: no glyph fell back to a font without Chinese (no tofu).
    assert names and all(name.startswith("Noto-Sans-CJK-SC") for name in names), fonts


def test_report_cli_refuses_an_unknown_station_and_a_bad_month(app, tmp_path):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["gridcare", "report", "evaluation", "--month", "2026-13", "--station", "ST001",
                              "--out", str(tmp_path / "x.pdf")])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    unknown = runner.invoke(args=["gridcare", "report", "evaluation", "--month", "2026-10", "--station", "ST999",
                                  "--out", str(tmp_path / "y.pdf")])
    assert unknown.exit_code != 0 and "ST999" in unknown.output
    assert not (tmp_path / "x.pdf").exists()


def _october(day):
    from tests.reports_helpers import local

    return local(2026, 10, day)


def test_team_leader_downloads_the_report_of_the_team_from_the_dashboard(db_session, login_as, tmp_path):
    import re

    october_orders(db_session)
    leader = login_as("leader1")
    dashboard = leader.get("/dashboard/?month=2026-10").get_data(as_text=True)
    link = re.search(r'id="report-pdf" href="([^"]+)"', dashboard).group(1).replace("&amp;", "&")
    response = leader.get(link)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    out = tmp_path / "team.pdf"
    out.write_bytes(response.data)
    flat = "".join(pdf_text(out).split())
    assert "城东供电所营配班" in flat and "孙台区" not in flat

    from app.models.org import Station
    from sqlalchemy import select

    st2 = db_session.scalar(select(Station).where(Station.code == "ST002"))
    assert leader.get(f"/report/evaluation?month=2026-10&scope=station:{st2.id}").status_code == 403
    manager = login_as("manager1")
    assert "report-pdf" not in manager.get("/dashboard/?month=2026-10").get_data(as_text=True)
    assert manager.get("/report/evaluation?month=2026-10").status_code in (302, 403)
