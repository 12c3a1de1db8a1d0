"""List screens and list APIs at scale: a team leader's order list (filtered by state, sorted
by deadline) against the same query in raw SQL, and API page 500 against page 1."""

from __future__ import annotations

import re

from benchmarks.common import Context, median, percentile, timed


def run(ctx: Context) -> None:
    import psycopg

    app = ctx.app
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login/", data={"username": "sc001_leader", "password": "GridCare#2026", "csrf_token": token})
    url = "/workorderview/list/?_flt_0_state=accepted&_oc_WorkOrderView=deadline&_od_WorkOrderView=asc"
    assert client.get(url).status_code == 200
    screen = timed(lambda: client.get(url), repeat=40)

    raw_url = ctx.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        team_id, = conn.execute("SELECT id FROM org_team WHERE code = 'SC001-T01'").fetchone()
        # the leader's scope as the application states it: the team, or one of its grids
        grid_ids = [r[0] for r in conn.execute("SELECT id FROM org_grid WHERE team_id = %s", (team_id,))]

        def raw() -> None:
            conn.execute("SELECT count(*) FROM work_order WHERE (team_id = %s OR grid_id = ANY(%s)) "
                         "AND state = 'accepted'", (team_id, grid_ids)).fetchone()
            conn.execute("SELECT * FROM work_order WHERE (team_id = %s OR grid_id = ANY(%s)) "
                         "AND state = 'accepted' ORDER BY deadline ASC, id ASC LIMIT 25",
                         (team_id, grid_ids)).fetchall()

        raw_samples = timed(raw, repeat=40)

    orders = ctx.sizes.get("orders", 0)
    section = f"List screens at {orders:,} orders (PostgreSQL)"
    ctx.add(section, "team leader's order list, first page, p50", round(median(screen), 1), "ms",
            "same query in raw SQL (count + page), p50", round(median(raw_samples), 2))
    p95 = percentile(screen, 95)
    ctx.add(section, "team leader's order list, first page, p95", round(p95, 1), "ms",
            "target", 200.0, verdict="pass" if p95 < 200 else "FAIL")
    ratio = median(screen) / median(raw_samples)
    ctx.add(section, "screen p50 / raw SQL p50", round(ratio, 1), "×", "target", 3.0,
            verdict="pass" if ratio <= 3 else "FAIL",
            note="the screen also checks the session, permissions and row scope and renders the page")

    api = app.test_client()
    access = api.post("/api/v1/security/login", json={"username": "sc001_leader", "password": "GridCare#2026",
                                                       "provider": "db"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    first = api.get("/api/v1/workorder/?limit=50", headers=headers).get_json()
    cursor, pages = first["next_after_id"], 1
    while cursor and pages < 499:
        cursor = api.get(f"/api/v1/workorder/?limit=50&after_id={cursor}", headers=headers).get_json()["next_after_id"]
        pages += 1
    page1 = timed(lambda: api.get("/api/v1/workorder/?limit=50", headers=headers), repeat=30)
    page_n = timed(lambda: api.get(f"/api/v1/workorder/?limit=50&after_id={cursor}", headers=headers), repeat=30)
    ctx.add(section, f"API page {pages + 1} (keyset), p50", round(median(page_n), 1), "ms",
            "API page 1, p50", round(median(page1), 1),
            verdict="pass" if median(page_n) <= 1.5 * median(page1) + 2 else "FAIL")
