"""The district managers' installable mobile web app, served at ``/m/`` from ``app/static/m``.

The service worker must be served from ``/m/`` itself so that its scope covers the app; the
files are plain (no build chain). The app talks to the JWT API only, so no page here carries
personal data and none needs a session cookie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, send_from_directory
from flask_babel import lazy_gettext as _l

ROOT = Path(__file__).resolve().parent.parent / "static" / "m"
FILES = {"app.js", "app.css", "sw.js", "manifest.webmanifest", "icon-192.png", "icon-512.png"}
TYPES = {".webmanifest": "application/manifest+json", ".js": "text/javascript"}

blueprint = Blueprint("mobile_app", __name__)


@blueprint.route("/m/")
def shell() -> Any:
    return send_from_directory(ROOT, "index.html", mimetype="text/html", max_age=0)


@blueprint.route("/m/<name>")
def asset(name: str) -> Any:
    if name not in FILES:
        abort(404)
    response = send_from_directory(ROOT, name, mimetype=TYPES.get(Path(name).suffix), max_age=0)
    if name == "sw.js":
        response.headers["Service-Worker-Allowed"] = "/m/"
    return response


def register(appbuilder: Any) -> None:
    current_app.register_blueprint(blueprint)  # called inside create_app's app context
    appbuilder.add_link("Mobile app", href="/m/", icon="fa-mobile", category="Field work",
                        label=_l("Mobile app"), category_label=_l("Field work"))
