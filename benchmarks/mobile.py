"""The mobile app's shell (issue 17): its compressed size beside the 200 KB budget, and its
first load on a throttled "slow 3G" link against a warm load from the service worker's cache.

    python -m benchmarks.mobile      # prints the figures without the rest of the suite
"""

from __future__ import annotations

import gzip
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Context

ROOT = Path(__file__).resolve().parent.parent
SHELL = ROOT / "app" / "static" / "m"
BUDGET_KB = 200.0
SECTION = "Mobile app shell (/m/)"
# Chrome DevTools' "Slow 3G" preset: 400 ms round trip, 400 kbit/s down and up.
SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400 * 1024 / 8,
           "uploadThroughput": 400 * 1024 / 8}


def shell_size_kb() -> tuple[float, float]:
    """(gzip-compressed KB, raw KB) of every file the service worker caches."""
    files = [p for p in SHELL.iterdir() if p.is_file()]
    raw = sum(p.stat().st_size for p in files)
    packed = sum(len(gzip.compress(p.read_bytes(), compresslevel=6)) for p in files)
    return packed / 1024, raw / 1024


def load_times(app: Any) -> tuple[float, float]:
    """(first load on slow 3G, warm load from the cache with the network still slow) in ms,
    until the sign-in form is on screen."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from tests.browser import CHROMIUM, CHROMIUM_ARGS

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/m/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", SLOW_3G)
            started = time.perf_counter()
            page.goto(base)
            page.wait_for_selector("#username")
            cold = (time.perf_counter() - started) * 1000
            for _ in range(300):
                if page.evaluate("navigator.serviceWorker.controller !== null"):
                    break
                page.wait_for_timeout(100)
            started = time.perf_counter()
            page.reload()
            page.wait_for_selector("#username")
            warm = (time.perf_counter() - started) * 1000
            browser.close()
    finally:
        server.shutdown()
    return cold, warm


def run(ctx: Context) -> None:
    packed, raw = shell_size_kb()
    ctx.add(SECTION, "app shell, gzip (every file the service worker caches)", round(packed, 1), "KB",
            "budget", BUDGET_KB, "pass" if packed <= BUDGET_KB else "FAIL", f"{raw:.1f} KB uncompressed")
    cold, warm = load_times(ctx.app)
    ctx.add(SECTION, "first load on slow 3G until the sign-in form shows", round(cold), "ms",
            note="Chromium, 390×844, DevTools slow-3G preset (400 ms RTT, 400 kbit/s), no compression by the server")
    ctx.add(SECTION, "warm load from the service worker's cache (same slow link)", round(warm), "ms",
            "first load", round(cold), "pass" if warm < cold else "FAIL")


if __name__ == "__main__":
    import tempfile

    from app import create_app

    folder = tempfile.mkdtemp()
    application = create_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder}/bench.db", SCHEDULER_ENABLED=False,
                             DOCUMENT_DIR=f"{folder}/documents", OUTBOX_DIR=f"{folder}/outbox")
    context = Context(app=application)
    run(context)
