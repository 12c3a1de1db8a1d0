"""``python -m app.gateway --port N``: the gateway process itself (what ``flask --app app
gridcare gateway`` becomes): the gateway application on a threaded HTTP server."""

from __future__ import annotations

import argparse
import logging
import os

from werkzeug.serving import make_server

from app.gateway.web import create_gateway_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="gridcare gateway")
    parser.add_argument("--host", default=os.environ.get("GATEWAY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8090")))
    args = parser.parse_args()
    level = os.environ.get("LOG_LEVEL", "INFO")
    logging.basicConfig(level=level)
    logging.getLogger("werkzeug").setLevel(level)  # its request lines only at INFO
    server = make_server(args.host, args.port, create_gateway_app(), threaded=True)
    logging.getLogger("gridcare.gateway").info("gateway on http://%s:%s", args.host, args.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
