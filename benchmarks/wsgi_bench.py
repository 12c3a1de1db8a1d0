"""The WSGI app a benchmark's gunicorn serves: GridCare itself (``wsgi.app``) plus one bare
Flask endpoint, ``/_bench/bare``, answered by the same workers without touching the database —
the ceiling of any endpoint on that server — and ``/_bench/floor`` (``benchmarks/floor.py``):
a registration's writes replayed through the driver, the ceiling of any intake."""

import os

from flask import jsonify, request

from benchmarks import floor
from wsgi import app


@app.route("/_bench/bare", methods=["GET", "POST"])
def bare():  # type: ignore[no-untyped-def]
    request.get_data()
    return jsonify(id=1, state="registered", worker=os.getpid())


from app.extensions import csrf  # noqa: E402

csrf.exempt(bare)
floor.install(app)
