"""The love-supermarket map in Chromium: Leaflet from the app's own static files, under the
strict CSP, one marker per supermarket of the chosen grid."""

from __future__ import annotations

from tests.browser import sign_in
from tests.factories import grid
from tests.test_channels_screens import make_supermarket


def test_love_supermarket_map_shows_the_markers_of_a_grid_in_the_browser(db_session, page, live_server):
    make_supermarket(db_session, "城东1号爱心超市", "ST001-G01", "manager1", lat="30.2741", lon="120.1551")
    make_supermarket(db_session, "城东1号爱心超市分店", "ST001-G01", "manager1", lat="30.2790", lon="120.1600")
    make_supermarket(db_session, "城东5号爱心超市", "ST001-G05", "manager2", lat="30.2850", lon="120.1755")
    g01 = grid(db_session, "ST001-G01")
    sign_in(page, live_server, "leader1")
    page.goto(f"{live_server}/lovesupermarketview/map?grid={g01.id}")
    page.wait_for_selector("#supermarket-map .leaflet-marker-icon")
    assert page.locator("#supermarket-map .leaflet-marker-icon").count() == 2
    assert page.locator("tr.supermarket-row").count() == 2
    page.locator("#supermarket-map .leaflet-marker-icon").first.click()
    assert "爱心超市" in page.inner_text(".leaflet-popup-content")
    assert page.csp_violations == []
