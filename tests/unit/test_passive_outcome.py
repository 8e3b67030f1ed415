"""error.type of applications' requests onto the outcome taxonomy (aggregator/passive_outcome.py),
from values recorded from real instrumentations."""

from __future__ import annotations

import pytest

from aggregator.passive_outcome import outcome, outcomes

RECORDED = [
    # opentelemetry-instrumentation-openai-v2 2.4b0 with opentelemetry-util-genai 0.4b0 (both
    # conventions) around openai 2.54.0, against the simulator's faults (tests/embedded/
    # test_passive_e2e.py records them again)
    pytest.param("InternalServerError", "http_5xx", id="openai-v2-500"),
    pytest.param("RateLimitError", "http_429", id="openai-v2-429"),
    pytest.param("APITimeoutError", "timeout", id="openai-v2-timeout"),
    pytest.param("AuthenticationError", "auth", id="openai-v2-401"),
    pytest.param("APIConnectionError", "connect", id="openai-v2-refused-or-cut"),
    pytest.param("JSONDecodeError", "invalid_response", id="openai-v2-invalid-json"),
    # the same instrumentation with opentelemetry-util-genai 1.1b0: str(type(error))
    pytest.param("<class 'openai.InternalServerError'>", "http_5xx", id="util-genai-1.1-class-repr"),
    pytest.param("<class 'openai.RateLimitError'>", "http_429", id="util-genai-1.1-429"),
    pytest.param("<class 'httpx.ConnectError'>", "connect", id="class-repr-httpx"),
    # module-qualified names (Java and .NET SDKs, older instrumentations)
    pytest.param("openai.RateLimitError", "http_429", id="dotted-python"),
    pytest.param("com.openai.errors.RateLimitException", "http_429", id="java-openai"),
    pytest.param("java.net.UnknownHostException", "dns", id="semconv-example-java-dns"),
    pytest.param("java.net.SocketTimeoutException", "timeout", id="java-timeout"),
    pytest.param("anthropic.OverloadedError", "http_5xx", id="anthropic-529"),
    pytest.param("ThrottlingException", "http_429", id="bedrock-throttling"),
    # the semantic conventions' own examples: values of their own and status codes
    pytest.param("timeout", "timeout", id="semconv-timeout"),
    pytest.param("server_certificate_invalid", "tls", id="semconv-certificate"),
    pytest.param("500", "http_5xx", id="status-500"),
    pytest.param("429", "http_429", id="status-429"),
    pytest.param("403", "auth", id="status-403"),
    pytest.param("404", "http_4xx", id="status-404"),
    # unknown values are kept verbatim (and counted as errors by the SQL)
    pytest.param("_OTHER", "_OTHER", id="semconv-other-kept"),
    pytest.param("CancelledError", "CancelledError", id="unknown-kept-verbatim"),
    pytest.param("", "ok", id="no-error-type-is-a-success"),
]


@pytest.mark.parametrize(("error_type", "expected"), RECORDED)
def test_error_type_maps_onto_the_taxonomy(error_type: str, expected: str) -> None:
    assert outcome(error_type) == expected


def test_outcomes_leave_out_successes() -> None:
    assert outcomes(["", "RateLimitError", "Weird"]) == {"RateLimitError": "http_429",
                                                         "Weird": "Weird"}
