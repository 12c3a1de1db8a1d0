"""GridCare on a real loopback server with the sign-on of the environment (AUTH_METHOD, LDAP_*,
OIDC_*), for the sign-on tests: ``python -m tests.signon_server PORT`` with DATABASE_URL set.

The settings are read when config.py is imported, as in production, so each sign-on method
runs in a process of its own.  Before serving it builds the schema (migrations), the roles,
the demo organisation and staff, and the station's state the tests read: a staff profile
that waits for its person (employee number E1001, owning grid ST001-G04) and one dispatched
order in ST001-G01 (manager1's grid) and one in ST001-G04.  With SIGNON_TEST_SCHEDULER=1 the
in-process scheduler runs too, every job paused (run on request from the jobs screen).
"""

from __future__ import annotations

import os
import sys

PASSWORD = "GridCare#2026"
WAITING_EMPLOYEE_NO = "E1001"
WAITING_GRID = "ST001-G04"
OTHER_GRID = "ST001-G01"


def main(port: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select
    from werkzeug.serving import make_server

    from app import create_app
    from app.extensions import appbuilder, db
    from app.models.org import Grid, Position, Station, StaffProfile, Team
    from app.seed import seed_organisation, seed_staff
    from app.security.access import sync_roles
    from tests import factories

    app = create_app(SCHEDULER_ENABLED=False, LOGIN_RATE_LIMITED=False, RATELIMIT_ENABLED=False)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        sync_roles(appbuilder)
        seed_organisation(db.session)
        seed_staff(appbuilder, db.session, PASSWORD)
        db.session.commit()
        session = db.session
        if session.scalar(select(StaffProfile).where(StaffProfile.employee_no == WAITING_EMPLOYEE_NO)) is None:
            profile = StaffProfile(
                name="赵新", position=Position.DISTRICT_MANAGER.value, employee_no=WAITING_EMPLOYEE_NO,
                station_id=session.scalar(select(Station.id).where(Station.code == "ST001")),
                team_id=session.scalar(select(Team.id).where(Team.code == "ST001-T01")))
            session.add(profile)
            session.flush()
            session.scalar(select(Grid).where(Grid.code == WAITING_GRID)).district_manager_id = profile.id
            session.commit()
            for grid_code, content in ((OTHER_GRID, "manager1 的网格：表计故障"),
                                       (WAITING_GRID, "赵新的网格：线路检查")):
                factories.make_order(session, grid_code, content=content)
    if os.environ.get("SIGNON_TEST_SCHEDULER") == "1":
        # the in-process scheduler of the embedded default, every job paused: the tests start
        # the directory job with "run now" on the jobs screen, as an administrator would
        from sqlalchemy import update

        from app.jobs.scheduler import ensure_default_jobs, start_in_process
        from app.models.jobs import JobDefinition

        with app.app_context():
            ensure_default_jobs(db.session)
            db.session.execute(update(JobDefinition).values(paused=True))
            db.session.commit()
        start_in_process(app)
    server = make_server("127.0.0.1", port, app, threaded=True)
    print(f"serving on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]))
