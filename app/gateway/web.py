"""The intake gateway of the internet zone (``flask --app app gridcare gateway``, or
``gunicorn -c gunicorn.conf.py gateway_wsgi:app``): the intake API of external platforms with
the contract of the direct one (API keys, field-level 4xx, idempotency by external_id), but
no connection to the core database.  A demand is validated with the core's own rules
(``app.channels.intake.validate``), stored in the gateway's outbox and answered 202 with a
receipt; a publisher thread sends the outbox to RabbitMQ with publisher confirms, a
listener thread stores what the core sends back (order numbers, results, valid keys, the
channels' callbacks), and a deliverer thread POSTs the results to the platforms' callback
URLs (``app.gateway.delivery``)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import uuid
import threading
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.engine import Engine

from app.gateway import broker, store
from app.gateway.delivery import Deliverer

log = logging.getLogger("gridcare.gateway")
RETRY_SECONDS = 1.0


def gateway_database_url() -> str:
    from config import INSTANCE_DIR

    url = os.environ.get("GATEWAY_DATABASE_URL")
    if url:
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'gateway.db'}"


class Publisher(threading.Thread):
    """Sends the stored, unconfirmed demands to the intake exchange, oldest first; a row is
    marked published only after the broker confirmed it.  While the broker is unreachable
    it retries every RETRY_SECONDS; demands keep being accepted meanwhile."""

    def __init__(self, engine: Engine, url: str, names: broker.Topology) -> None:
        super().__init__(name="gateway-publisher", daemon=True)
        self.engine, self.url, self.names = engine, url, names
        self.wake = threading.Event()

    def run(self) -> None:
        while True:
            try:
                connection = broker.connect(self.url)
                try:
                    channel = broker.open_channel(connection, self.names)
                    log.info("publisher connected")
                    while True:
                        batch = store.unpublished(self.engine)
                        if not batch:
                            self.wake.wait(0.5)
                            self.wake.clear()
                            connection.process_data_events(0)  # heartbeats
                            continue
                        done = []
                        for row_id, receipt, message in batch:
                            broker.publish(channel, self.names.intake, "demand", json.loads(message),
                                           message_id=receipt)
                            done.append(row_id)
                        store.mark_published(self.engine, done)
                finally:
                    if connection.is_open:
                        connection.close()
            except Exception as error:  # broker down, connection lost, nack: try again
                log.warning("publisher: %s; retrying in %ss", error or type(error).__name__, RETRY_SECONDS)
                self.wake.wait(RETRY_SECONDS)
                self.wake.clear()


class Listener(threading.Thread):
    """Stores what the core sends back through the results queue, acknowledging each message
    after its commit (a redelivered one is stored once), and wakes the deliverer."""

    def __init__(self, engine: Engine, url: str, names: broker.Topology,
                 stored: threading.Event | None = None) -> None:
        super().__init__(name="gateway-listener", daemon=True)
        self.engine, self.url, self.names = engine, url, names
        self.stored = stored or threading.Event()

    def run(self) -> None:
        while True:
            try:
                connection = broker.connect(self.url)
                try:
                    channel = broker.open_channel(connection, self.names)
                    channel.basic_qos(prefetch_count=100)
                    log.info("listener connected")
                    for method, _props, body in channel.consume(self.names.results,
                                                                inactivity_timeout=1):
                        if method is None:
                            continue
                        try:
                            message = json.loads(body)
                        except ValueError:
                            log.error("results: dropped a message that is not JSON")
                            channel.basic_ack(method.delivery_tag)
                            continue
                        store.apply_message(self.engine, message)
                        channel.basic_ack(method.delivery_tag)
                        self.stored.set()
                finally:
                    if connection.is_open:
                        connection.close()
            except Exception as error:
                log.warning("listener: %s; retrying in %ss", error or type(error).__name__, RETRY_SECONDS)
                threading.Event().wait(RETRY_SECONDS)


def _error(status: int, message: str, field: str | None = None) -> Any:
    body: dict[str, Any] = {"message": message}
    if field:
        body["field"] = field
    return jsonify(body), status


def create_gateway_app(start_threads: bool = True) -> Flask:
    """The gateway's WSGI application: Flask alone, no Flask-AppBuilder, no core database."""
    from app.channels import intake
    from app.channels import settings as channel_settings
    from app.models.base import utcnow
    from app.workflow.errors import InvalidInput

    app = Flask("gridcare_gateway", template_folder=str(Path(__file__).parent / "templates"))
    channel_settings.configure(os.environ)
    engine = store.make_engine(gateway_database_url())
    names = broker.topology()
    url = broker.amqp_url()
    app.extensions["gateway_engine"] = engine
    publisher = Publisher(engine, url, names)
    if start_threads:
        deliverer = Deliverer(engine)
        publisher.start()
        Listener(engine, url, names, stored=deliverer.wake).start()
        deliverer.start()

    def authenticate(channel: str) -> tuple[str | None, Any]:
        """The prefix of the request's API key, or the answer refusing the request: 404 for a
        channel without intake, 401 for no key, an unknown one or another channel's."""
        if channel not in intake.API_CHANNELS:
            return None, _error(404, f"no intake for channel {channel}")
        found = store.find_key(engine, request.headers.get("X-API-Key"))
        if found is None:
            return None, _error(401, "a valid X-API-Key is required")
        prefix, key_channel = found
        if key_channel != channel:
            return None, _error(401, f"this API key is not for channel {channel}")
        return prefix, None

    @app.post("/api/v1/intake/<channel>")
    def post_demand(channel: str) -> Any:
        prefix, refusal = authenticate(channel)
        if refusal is not None:
            return refusal
        limit = channel_settings.settings.intake_max_body_bytes
        if (request.content_length or 0) > limit:
            return _error(413, f"the body is larger than {limit} bytes", "body")
        try:
            data = json.loads(request.get_data(cache=False) or b"")
        except (ValueError, UnicodeDecodeError) as error:
            return _error(400, f"the body is not valid JSON: {error}", "body")
        try:
            demand = intake.validate(data, utcnow())
        except InvalidInput as error:
            return _error(400, error.message, error.field)
        accepted = store.accept(engine, channel, prefix or "", demand.external_id,
                                demand.fingerprint(), data)
        if accepted.conflict:
            return _error(409, f"external_id {demand.external_id} was already accepted "
                               f"(receipt {accepted.receipt['receipt']}) with a different payload",
                          "external_id")
        publisher.wake.set()
        return jsonify(accepted.receipt), 202 if accepted.created else 200

    @app.get("/api/v1/intake/<channel>/receipt/<receipt>")
    def get_receipt(channel: str, receipt: str) -> Any:
        _prefix, refusal = authenticate(channel)
        if refusal is not None:
            return refusal
        found = store.find_receipt(engine, channel, receipt)
        if found is None:
            return _error(404, f"no receipt {receipt[:40]} on channel {channel}")
        return jsonify(found)

    @app.get("/api/v1/intake/<channel>/feedback")
    def get_feedback(channel: str) -> Any:
        _prefix, refusal = authenticate(channel)
        if refusal is not None:
            return refusal
        raw_after = request.args.get("after", "0")
        if not (raw_after.isascii() and raw_after.isdigit()) or len(raw_after) > 18:
            return _error(400, "after must be a cursor: a whole number from 0", "after")
        if request.args.get("since"):
            return _error(400, "the gateway pages results by cursor only: use after", "since")
        raw_limit = request.args.get("limit", "500")
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
            return _error(400, "limit must be between 1 and 500", "limit")
        page, cursor = store.feedback_page(engine, channel, int(raw_after), int(raw_limit))
        return jsonify({"result": page, "cursor": cursor, "until": None})

    public_form(app, engine, publisher)

    @app.get("/gateway/status")
    def status() -> Any:
        return jsonify(store.counts(engine))

    return app


# The public request form (no sign-in), as the core's /public/request: the same fields, a
# honeypot, a rate limit per address; CSRF by a double-submit cookie (the gateway keeps no
# sessions).  The request is stored and published like a demand; the consumer registers it
# on channel online_nonfault with the receipt as its external id (once).
PUBLIC_FIELDS = [("contact_name", "您的姓名", True), ("phone", "手机号码", True),
                 ("customer_no", "户号（如知道）", False), ("address", "地址", True),
                 ("station", "供电所", True), ("content", "需要什么服务？", True)]


def public_form(app: Flask, engine: Engine, publisher: Publisher) -> None:
    from flask import make_response, render_template
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address

    from app.channels import intake
    from app.channels import settings as channel_settings

    limiter = Limiter(get_remote_address, app=app, storage_uri=os.environ.get("REDIS_URL") or "memory://",
                      enabled=os.environ.get("RATELIMIT_ENABLED", "1").lower() not in {"0", "false", "no"})

    def page(form: dict[str, str], errors: dict[str, str], receipt: str | None = None) -> Any:
        token = request.cookies.get("gw_csrf") or secrets.token_urlsafe(24)
        response = make_response(render_template(
            "public_request.html", title="网上非故障服务申请", fields=PUBLIC_FIELDS, form=form,
            errors=errors, receipt=receipt, stations=store.station_list(engine), csrf_token=token),
            400 if errors else 200)
        response.set_cookie("gw_csrf", token, httponly=True, samesite="Strict")
        return response

    @app.route("/public/request", methods=["GET", "POST"])
    @limiter.limit(lambda: channel_settings.settings.public_request_rate_limit, methods=["POST"])
    def public_request() -> Any:
        if request.method == "GET":
            return page({}, {})
        form = {name: (request.form.get(name) or "").strip() for name, _label, _req in PUBLIC_FIELDS}
        cookie, sent = request.cookies.get("gw_csrf", ""), request.form.get("csrf_token", "")
        if not cookie or not secrets.compare_digest(cookie, sent):
            return page(form, {"csrf_token": "表单已过期，请重新提交。"})
        if request.form.get("website"):  # the honeypot: only bots fill it in; say thanks, keep nothing
            return page({}, {}, receipt="—")
        errors: dict[str, str] = {}
        for name, _label, required in PUBLIC_FIELDS:
            if required and not form[name]:
                errors[name] = "此项为必填项。"
        if form["phone"] and intake.normalise_phone(form["phone"]) is None:
            errors["phone"] = "请输入有效的电话号码。"
        if len(form["content"]) > 2000:
            errors["content"] = "请控制在 2000 字以内。"
        if form["station"] and form["station"] not in {code for code, _ in store.station_list(engine)}:
            errors["station"] = "请选择您所在的供电所。"
        if errors:
            return page(form, errors)
        receipt = str(uuid.uuid4())
        store.accept(engine, "online_nonfault", "", receipt, receipt, form, kind="public", receipt=receipt)
        publisher.wake.set()
        return page({}, {}, receipt=receipt)
