"""Runs the benchmark suite and writes BENCHMARKS.md.

    make bench                      # small sizes, a few minutes
    BENCH_SCALE=full make bench     # 1,000,000 customers and orders (an hour or more)
    BENCH_ONLY=reports,targeting make bench   # run only these; their sections replace the
                                              # same sections of the existing BENCHMARKS.md
    BENCH_TEMPLATE=gridcare_bench_full make bench  # start from a copy of a database seeded
                                              # once by `python -m benchmarks.template`
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from benchmarks.common import FULL, Context, baseline, create_pg_database, machine

ROOT = Path(__file__).resolve().parent.parent
MODULES = ["benchmarks.list_pages"]
OPTIONAL_MODULES = ["benchmarks.intake", "benchmarks.intake_queue", "benchmarks.targeting", "benchmarks.routing",
                    "benchmarks.sync", "benchmarks.reports", "benchmarks.load", "benchmarks.mobile"]


def main() -> int:
    sizes = {"customers": 1_000_000, "orders": 1_000_000} if FULL else {
        "customers": int(os.environ.get("BENCH_CUSTOMERS", "50000")),
        "orders": int(os.environ.get("BENCH_ORDERS", "100000"))}
    os.environ.setdefault("GRIDCARE_INSTANCE_DIR", str(ROOT / "instance" / "bench"))
    template = os.environ.get("BENCH_TEMPLATE", "")
    seeded = load_template_figures(template, sizes) if template else None
    database_url, drop = create_pg_database(template=template or None)
    os.environ["DATABASE_URL"] = database_url
    ctx = Context(database_url=database_url, sizes=sizes)
    started = time.perf_counter()
    failures: list[str] = []
    try:

        from app import create_app
        from app.extensions import db
        from app.ops.scale import seed_scale

        app = create_app(SQLALCHEMY_DATABASE_URI=database_url, SCHEDULER_ENABLED=False,
                         LOGIN_RATE_LIMITED=False, PERMISSION_CACHE_SECONDS=30)
        ctx.app = app
        with app.app_context():
            baseline(app)
            if seeded is None:
                print(f"seeding {sizes['customers']:,} customers and {sizes['orders']:,} orders …")
                with db.engine.connect() as conn:
                    figures = seed_scale(conn, sizes["customers"], sizes["orders"], stations=50)
                    conn.commit()
            else:
                figures = seeded
                print(f"copied the seeded database {template} ({sizes['customers']:,} customers, "
                      f"{sizes['orders']:,} orders); migrations brought it to head")
        partial = " (partial run: " + os.environ["BENCH_ONLY"] + ")" if os.environ.get("BENCH_ONLY") else ""
        ctx.add("Seeding (seed-scale, PostgreSQL COPY)" + partial, "customers + bills + orders + timelines",
                figures["seconds"], "s", note=", ".join(f"{k}={v}" for k, v in figures.items()))
        only = {f"benchmarks.{n.strip()}" for n in os.environ.get("BENCH_ONLY", "").split(",") if n.strip()}
        for name in MODULES + OPTIONAL_MODULES:
            if only and name not in only:
                continue
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as error:
                if name in OPTIONAL_MODULES and error.name == name:
                    continue
                raise
            print(f"running {name} …")
            try:
                module.run(ctx)
            except Exception:  # one benchmark's failure is reported, the rest still run
                failures.append(f"{name}: {traceback.format_exc(limit=3)}")
                print(failures[-1], file=sys.stderr)
    finally:
        try:
            from app.extensions import db

            if ctx.app is not None:
                with ctx.app.app_context():
                    db.engine.dispose()
        finally:
            drop()
    write_report(ctx, time.perf_counter() - started, failures)
    for line in verdict_lines(ctx):
        print(line)
    return 1 if failures or ctx.failed_goals() else 0


def load_template_figures(template: str, sizes: dict[str, int]) -> dict:
    """The seeding figures of a template database (``benchmarks/template.py``), checked to
    be of this run's sizes."""
    import json

    path = ROOT / "instance" / "bench" / f"{template}.json"
    if not path.exists():
        raise SystemExit(f"BENCH_TEMPLATE={template}: {path} is missing; seed it with "
                         f"`BENCH_TEMPLATE={template} python -m benchmarks.template`")
    recorded = json.loads(path.read_text(encoding="utf-8"))
    if recorded["sizes"] != sizes:
        raise SystemExit(f"BENCH_TEMPLATE={template} holds {recorded['sizes']}, this run needs {sizes}")
    return {**recorded["figures"], "template": template, "seeded_at": recorded["seeded_at"]}


def verdict_lines(ctx: Context) -> list[str]:
    """How many figures met their goals, and every one that did not, by name."""
    judged = [f for f in ctx.figures if f.goal]
    failed = ctx.failed_goals()
    lines = [f"Goals: {len(judged) - len([f for f in failed if f.goal])} of {len(judged)} met"
             + (f"; {len(failed)} verdict(s) FAILED:" if failed else ".")]
    lines += [f"- FAIL — {f.section} · {f.name}: {f.value:g} {f.unit} (goal {f.goal or 'must pass'})"
              for f in failed]
    return lines


def write_report(ctx: Context, seconds: float, failures: list[str]) -> None:
    info = machine()
    lines = [
        "# GridCare benchmarks", "",
        f"Written by `make bench` on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC in {seconds:.0f} s "
        f"({'BENCH_SCALE=full' if FULL else 'BENCH_CUSTOMERS/BENCH_ORDERS sizes; BENCH_SCALE=full for the 1M figures'}: "
        f"{ctx.sizes.get('customers', 0):,} customers, {ctx.sizes.get('orders', 0):,} orders).", "",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['memory']}; {info['os']}; "
        f"Python {info['python']}; {info['postgresql']}.", "",
        "Every figure stands beside its limit, measured in the same run; a figure with a goal "
        "passes or fails on it.", "",
    ] + verdict_lines(ctx) + [""]
    sections: dict[str, list] = {}
    for figure in ctx.figures:
        sections.setdefault(figure.section, []).append(figure)
    for section, figures in sections.items():
        lines += [f"## {section}", "", "| measure | value | limit (same run) | goal | verdict | note |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for f in figures:
            limit = f"{f.limit_name}: {f.limit_value:g}" if f.limit_value is not None else ""
            verdict = "**FAIL**" if f.verdict == "FAIL" else f.verdict
            lines.append(f"| {f.name} | {f.value:g} {f.unit} | {limit} | {f.goal} | {verdict} | {f.note} |")
        lines.append("")
    if os.environ.get("BENCH_ONLY") and (ROOT / "BENCHMARKS.md").exists():
        merged = merge_sections((ROOT / "BENCHMARKS.md").read_text(encoding="utf-8"), lines, failures)
        (ROOT / "BENCHMARKS.md").write_text(merged, encoding="utf-8")
        print(f"updated {ROOT / 'BENCHMARKS.md'}")
        return
    lines += closing_note(ctx)
    if failures:
        lines += ["## Benchmarks that failed", ""] + [f"```\n{f}\n```" for f in failures]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {ROOT / 'BENCHMARKS.md'}")


def _sections(text: str) -> tuple[str, list[tuple[str, str]]]:
    head, *rest = text.split("\n## ")
    return head, [(part.split("\n", 1)[0], "## " + part) for part in rest]


def merge_sections(existing: str, new_lines: list[str], failures: list[str]) -> str:
    """A partial run (BENCH_ONLY): its sections replace the same-named ones, the others stay,
    and a line in the header says which sections come from which run."""
    old_head, old = _sections(existing)
    new_head, new = _sections("\n".join(new_lines))
    replaced = {title for title, _ in new}
    stamp = new_head.split("\n")[2] if len(new_head.split("\n")) > 2 else ""
    note = (f"Sections {', '.join(sorted(replaced))} were measured by a later partial run "
            f"(BENCH_ONLY={os.environ.get('BENCH_ONLY')}): {stamp.replace('Written by', 'written by')}")
    body = [text for title, text in old if title not in replaced and title != "Benchmarks that failed"]
    closing = [text for text in body if text.startswith("## Closing note")]
    body = [text for text in body if not text.startswith("## Closing note")]
    parts = [old_head.rstrip() + "\n\n" + note + "\n"] + body + [text for _, text in new] + closing
    if failures:
        parts.append("## Benchmarks that failed\n\n" + "\n".join(f"```\n{f}\n```" for f in failures))
    return refresh_verdicts("\n".join(p.rstrip() + "\n" for p in parts))


def refresh_verdicts(text: str) -> str:
    """The head's "Goals:" lines counted again from the tables (after a partial run replaced
    some sections, the old count would be the older run's)."""
    judged, failed = 0, []
    for part in text.split("\n## ")[1:]:
        section = part.split("\n", 1)[0]
        for line in part.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[3] and cells[3] != "goal" and not set(cells[3]) <= {"-", " "}:
                judged += 1
                if cells[4] == "**FAIL**":
                    failed.append(f"- FAIL — {section} · {cells[0]}: {cells[1]} (goal {cells[3]})")
    lines = [f"Goals: {judged - len(failed)} of {judged} met"
             + (f"; {len(failed)} verdict(s) FAILED:" if failed else ".")] + failed
    head, sep, rest = text.partition("\n## ")
    kept = [line for line in head.split("\n") if not line.startswith(("Goals:", "- FAIL — "))]
    while len(kept) > 1 and kept[-1] == "" and kept[-2] == "":
        kept.pop()
    return "\n".join(kept).rstrip() + "\n\n" + "\n".join(lines) + "\n" + sep + rest


def closing_note(ctx: Context) -> list[str]:
    """The acceptance lines of the scale issue, each quoting the figures of this run."""
    def find(section_part: str, name_part: str, unit: str | None = None):  # noqa: ANN202
        for f in reversed(ctx.figures):  # the last (largest) measurement of a kind
            if section_part in f.section and name_part in f.name and unit in (None, f.unit):
                return f
        return None

    def say(f, text: str) -> str:  # noqa: ANN001
        if f is None:
            return f"- {text}: not measured in this run."
        limit = f" (limit {f.limit_name}: {f.limit_value:g})" if f.limit_value is not None else ""
        verdict = f" — {f.verdict}" if f.verdict else ""
        return f"- {text}: {f.value:g} {f.unit}{limit}{verdict}."

    orders = ctx.sizes.get("orders", 0)
    lines = ["## Closing note", "",
             f"Acceptance lines of the scale issue at {orders:,} orders (this run):", ""]
    lines.append(say(find("List screens", "first page, p95"), "team leader's order list, first page, p95"))
    lines.append(say(find("List screens", "raw SQL p50"), "screen p50 over the same query in raw SQL"))
    lines.append(say(find("List screens", "API page"), "API keyset page far down vs page 1 (p50)"))
    lines.append(say(find("Intake through HTTP", "orders/s"), "intake throughput through HTTP, routing rules on"))
    lines.append(say(find("Load test", "all requests: requests/s"), "load test, all requests"))
    lines.append(say(find("Load test", "all requests: p95"), "load test p95"))
    lines.append(say(find("Load test", "all requests: errors"), "load test errors"))
    lines.append(say(find("archive sync", "1,000,000 rows: sync", "rows/s"), "sync rows/s vs the driver's bulk insert, 1,000,000 rows"))
    lines.append(say(find("archive sync", "1,000,000 rows: sync peak"), "sync peak memory, 1,000,000 rows"))
    lines.append(say(find("Targeting", "push-down"), "targeting vs hand-written SQL"))
    lines.append(say(find("Reports", "evaluation report"), "report time"))
    lines.append(say(find("Reports", "dashboard"), "dashboard time"))
    lines.append("- query counts of every list screen: `tests/test_list_query_counts.py` (the suite).")
    return lines + [""]


if __name__ == "__main__":
    sys.exit(main())
