"""``python -m app.gateway --port N``: the gateway process itself (what ``flask --app app
gridcare gateway`` becomes): the gateway application on a threaded HTTP server.

``python -m app.gateway deliver [--retry-failed]``: one callback delivery run from the
gateway's store and exit (``--retry-failed`` first puts the results that gave up back in
line), printing ``delivered N, failed M`` as the core's ``gridcare feedback deliver`` does."""

from __future__ import annotations

import argparse
import logging
import os

from werkzeug.serving import make_server


def main() -> None:
    parser = argparse.ArgumentParser(prog="gridcare gateway")
    parser.add_argument("action", nargs="?", choices=("serve", "deliver"), default="serve")
    parser.add_argument("--host", default=os.environ.get("GATEWAY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8090")))
    parser.add_argument("--retry-failed", action="store_true",
                        help="deliver: first put the results that gave up back in line")
    args = parser.parse_args()
    level = os.environ.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level)
    if args.action == "deliver":
        deliver_once(args.retry_failed)
        return
    from app.gateway.web import create_gateway_app

    logging.getLogger("werkzeug").setLevel(level)  # its request lines only at INFO
    server = make_server(args.host, args.port, create_gateway_app(), threaded=True)
    logging.getLogger("gridcare.gateway").info("gateway on http://%s:%s", args.host, args.port)
    server.serve_forever()


def deliver_once(retry_failed: bool) -> None:
    from app import clock
    from app.gateway import delivery, store
    from app.gateway.web import gateway_database_url

    engine = store.make_engine(gateway_database_url())
    if retry_failed:
        print(f"put back in line: {delivery.retry_failed(engine)}")
    report = delivery.deliver(engine, clock.now())
    print(f"delivered {report.delivered}, failed {report.failed}")


if __name__ == "__main__":
    main()
