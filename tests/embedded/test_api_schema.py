"""Property-based requests against the API as its /openapi.json describes it, over real HTTP, on
the evaluated state of test_api_endpoints.py (a healthy, a failing and a rate-limited target in a
pool, on the embedded store): whatever names, ranges and bodies the generator tries, no answer is
a 5xx, and every answer has a documented status code, content type, headers and body schema.
The live stream is left out: it never ends, and test_api_stream.py covers it."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from aggregator.api_state import ApiState
from tests.embedded.test_api_endpoints import served, store  # noqa: F401 (fixtures)

pytestmark = pytest.mark.embedded
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
LEFT_OUT = "/api/health/stream"
EXAMPLES = 30


def test_no_answer_is_a_server_error_or_outside_the_schema(
        served: tuple[ApiState, httpx.Client]) -> None:  # noqa: F811
    """Every operation of the schema, each with its own generated cases (schemathesis's pytest
    plugin does not run under this pytest, so the operations are driven here)."""
    _, client = served
    schema = schemathesis.openapi.from_url(str(client.base_url.join("/openapi.json")))
    operations = [result.ok() for result in schema.exclude(path=LEFT_OUT).get_all_operations()]
    assert len(operations) >= 7, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)

        check()
