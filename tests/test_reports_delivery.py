"""Monthly report runs against a real SMTP server on loopback (aiosmtpd): every subscriber gets
the PDF once; a refusing mailbox is retried, reported, and blocks nobody."""

from __future__ import annotations

import datetime as dt
import email
import socket
from collections import Counter

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.models.org import Station, Team
from app.models.report import ReportArchive, ReportDelivery, ReportSubscription
from app.reports.runs import first_working_day, run_monthly_reports
from tests.conftest import csrf_from
from tests.reports_helpers import october_orders

pytestmark = pytest.mark.date_sensitive

REFUSING = "full.mailbox@example.org"


class Mailbox:
    """An SMTP handler that keeps what it receives and refuses one address with 550."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse
        self.rcpt_attempts: Counter[str] = Counter()
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        self.rcpt_attempts[address] += 1
        if address in self.refuse:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox({REFUSING})
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


def _add_subscription(admin, name, station_id, recipients, scope_kind="station", team_id=""):
    form = admin.get("/reportsubscriptionview/add").get_data(as_text=True)
    return admin.post("/reportsubscriptionview/add", data={
        "csrf_token": csrf_from(form), "name": name, "kind": "evaluation_monthly", "scope_kind": scope_kind,
        "station": str(station_id), "team": str(team_id), "recipients": recipients, "active": "y",
    }, follow_redirects=True)


def test_monthly_run_mails_every_subscriber_once_and_reports_a_refusing_mailbox(
        app, db_session, login_as, smtp_server, tmp_path):
    mailbox, smtp_url = smtp_server
    october_orders(db_session)
    st1 = db_session.scalar(select(Station).where(Station.code == "ST001"))
    st2 = db_session.scalar(select(Station).where(Station.code == "ST002"))
    team1 = db_session.scalar(select(Team).where(Team.code == "ST001-T01"))
    admin = login_as("admin")
    _add_subscription(admin, "城东月报", st1.id, f"director1@example.org\n{REFUSING}")
    _add_subscription(admin, "城西月报", st2.id, "director2@example.org")
    _add_subscription(admin, "营配班月报", st1.id, "leader1@example.org", scope_kind="team", team_id=team1.id)
    db_session.rollback()
    assert len(db_session.scalars(select(ReportSubscription)).all()) == 3

    config = {"SMTP_URL": smtp_url, "REPORT_DIR": str(tmp_path / "reports"), "REPORT_MAIL_ATTEMPTS": 3,
              "REPORT_MAIL_BACKOFF_SECONDS": 0.01}
    now = dt.datetime(2026, 11, 2, 1, 0, tzinfo=dt.timezone.utc)
    summary = run_monthly_reports(db_session, "2026-10", now, config)

    assert summary.rendered == 3 and summary.sent == 3
    assert [recipient for recipient, _ in summary.failed] == [REFUSING]
    delivered = Counter(rcpt for rcpts, _ in mailbox.received for rcpt in rcpts)
    assert delivered == {"director1@example.org": 1, "director2@example.org": 1, "leader1@example.org": 1}
    assert mailbox.rcpt_attempts[REFUSING] == 3  # retried, then given up
    for rcpts, content in mailbox.received:
        message = email.message_from_bytes(content)
        pdfs = [part for part in message.walk() if part.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1 and pdfs[0].get_payload(decode=True).startswith(b"%PDF")

    failed = db_session.scalar(select(ReportDelivery).where(ReportDelivery.recipient == REFUSING))
    assert failed.status == "failed" and failed.attempts == 3 and "550" in failed.last_error

    # A second run sends nothing twice; only the failed delivery is tried again.
    again = run_monthly_reports(db_session, "2026-10", now, config)
    assert again.rendered == 0 and again.sent == 0 and len(again.failed) == 1
    assert len(mailbox.received) == 3 and mailbox.rcpt_attempts[REFUSING] == 6

    # The failure is shown on the archive screen, to the station's director.
    director = login_as("director1")
    archive_page = director.get("/reportarchiveview/list/").get_data(as_text=True)
    assert REFUSING in archive_page and "550" in archive_page
    assert "/reportarchiveview/download/" in archive_page
    assert "城西" not in archive_page  # ST002's report is outside director1's scope
    team_page = login_as("leader1").get("/reportarchiveview/list/").get_data(as_text=True)
    team_archive = db_session.scalar(select(ReportArchive).where(ReportArchive.team_id == team1.id))
    station_archive = db_session.scalar(select(ReportArchive).where(ReportArchive.station_id == st1.id,
                                                                    ReportArchive.team_id.is_(None)))
    assert f"/reportarchiveview/download/{team_archive.id}" in team_page
    assert f"/reportarchiveview/download/{station_archive.id}" not in team_page


def test_archived_report_downloads_within_scope_only(app, db_session, login_as, tmp_path):
    from app.indicators.period import parse_month
    from app.indicators.scope import build_scope
    from app.reports.runs import archive_report

    october_orders(db_session)
    config = {"REPORT_DIR": str(app.instance_path) + "/reports"}
    archive = archive_report(db_session, build_scope(db_session, "station", "ST001"), parse_month("2026-10"),
                             dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc), config)
    db_session.commit()
    director = login_as("director1")
    download = director.get(f"/reportarchiveview/download/{archive.id}")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert download.mimetype == "application/pdf"
    assert login_as("director2").get(f"/reportarchiveview/download/{archive.id}").status_code == 404
    assert login_as("manager1").get(f"/reportarchiveview/download/{archive.id}").status_code in (302, 403)
    assert db_session.scalar(select(ReportArchive).where(ReportArchive.id == archive.id)).size_bytes == len(download.data)


def test_subscription_form_refuses_a_bad_address(app, db_session, login_as):
    st1 = db_session.scalar(select(Station).where(Station.code == "ST001"))
    page = _add_subscription(login_as("admin"), "坏地址", st1.id, "director1@example.org, not-an-address")
    assert "not-an-address" in page.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalars(select(ReportSubscription)).all() == []
    assert login_as("director1").get("/reportsubscriptionview/list/").status_code in (302, 403)


def test_first_working_day_skips_holidays_and_weekends():
    assert first_working_day("2026-10") == dt.date(2026, 10, 8)  # National Day holiday 1st–7th
    assert first_working_day("2026-11") == dt.date(2026, 11, 2)  # the 1st is a Sunday
    assert first_working_day("2026-12") == dt.date(2026, 12, 1)
    assert first_working_day(dt.date(2026, 10, 20)) == dt.date(2026, 10, 8)


def test_daily_trigger_runs_only_on_the_first_working_day(app, db_session, tmp_path):
    from app.models.org import Station
    from app.reports.runs import run_due_reports

    st1 = db_session.scalar(select(Station).where(Station.code == "ST001"))
    db_session.add(ReportSubscription(name="城东月报", station_id=st1.id, recipients="director1@example.org",
                                      created_at=dt.datetime(2026, 10, 9, 2, tzinfo=dt.timezone.utc)))
    db_session.commit()
    config = {"OUTBOX_DIR": str(tmp_path / "outbox"), "REPORT_DIR": str(tmp_path / "reports")}
    sunday = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.timezone.utc)
    assert run_due_reports(db_session, sunday, config) == []
    monday = dt.datetime(2026, 11, 2, 0, 30, tzinfo=dt.timezone.utc)  # 08:30 in Beijing
    [summary] = run_due_reports(db_session, monday, config)
    assert summary.month == "2026-10" and summary.sent == 1
    assert run_due_reports(db_session, monday + dt.timedelta(days=1), config) == []
    # Without SMTP_URL the mail goes to the outbox folder, PDF attached.
    saved = list((tmp_path / "outbox").glob("*.eml"))
    assert len(saved) == 1
    message = email.message_from_bytes(saved[0].read_bytes())
    assert message["To"] == "director1@example.org"
    assert any(part.get_content_type() == "application/pdf" for part in message.walk())
