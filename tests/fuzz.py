"""Schemathesis against the app's own ``/api/v1/_openapi`` (in process, through WSGI).

Every operation of the spec is called with generated input as an administrator, as a district
manager (bearer tokens) and, for the intake operations, with a channel's API key.  Checks: no
5xx, and every response conforms to the spec (declared status code, content type, body schema).
Used by ``tests/test_proof_fuzz.py`` (a bounded number of examples) and by ``make fuzz``
(``FUZZ_EXAMPLES`` larger).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import hypothesis
from hypothesis import HealthCheck, Phase, given, settings


@dataclasses.dataclass
class FuzzFigures:
    operations: int = 0
    examples: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (f"schemathesis: {self.operations} operations, {self.examples} examples, "
                f"{len(self.failures)} failures in {self.seconds:.1f} s")


# Operations not fuzzed as callers of a given kind: logging out revokes the caller's own token.
SKIP = {("POST", "/api/v1/session/logout")}


def run_fuzz(app: Any, headers_by_caller: dict[str, dict[str, str]], intake_key: str,
             examples: int = 10) -> FuzzFigures:
    import schemathesis
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
    from schemathesis.checks import not_a_server_error
    from schemathesis.transport.wsgi import WSGI_TRANSPORT

    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]
    figures = FuzzFigures()
    started = time.monotonic()
    client = app.test_client()
    spec = client.get("/api/v1/_openapi", headers=next(iter(headers_by_caller.values()))).get_json()
    schema = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in SKIP or operation.path.endswith("/_openapi"):
            continue
        figures.operations += 1
        intake = operation.path.startswith("/api/v1/intake/")
        callers = {"intake-key": {"X-API-Key": intake_key}} if intake else headers_by_caller
        for caller, headers in callers.items():
            strategy = operation.as_strategy()

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def one(case: Any) -> None:
                figures.examples += 1
                response = WSGI_TRANSPORT.send(case, app=app, headers=dict(headers))
                case.validate_response(response, checks=checks)

            try:
                one()
            except hypothesis.errors.Unsatisfiable:
                pass
            except BaseException as error:  # noqa: BLE001 - every failure is a finding to report
                if isinstance(error, (KeyboardInterrupt, SystemExit)):
                    raise
                figures.failures.append(f"{caller} {key[0]} {key[1]}: {str(error)[:700]}")
    figures.seconds = time.monotonic() - started
    return figures
