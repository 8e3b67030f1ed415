"""Query-parameter encoding (the text ClickHouse parses for `{name:Type}`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from aggregator.store.params import encode_param


@pytest.mark.parametrize(("value", "text"), [
    pytest.param("it's \\ fine\n\t", "it's \\\\ fine\\n\\t", id="top-level-string-escaped"),
    pytest.param(["a", "b'c", "d\\e"], "['a','b\\'c','d\\\\e']", id="array-of-strings-quoted"),
    pytest.param([0.05, 1], "[0.05,1]", id="array-of-numbers"),
    pytest.param({"llmhealth.target": "a'b"}, "{'llmhealth.target':'a\\'b'}", id="map"),
    pytest.param(True, "1", id="bool"),
    pytest.param(300, "300", id="int"),
    pytest.param(None, "\\N", id="null"),
    pytest.param(datetime(2026, 1, 1, tzinfo=UTC), "1767225600.000000", id="datetime-utc"),
    pytest.param(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "1767225600.000000",
                 id="datetime-offset"),
])
def test_encode(value: object, text: str) -> None:
    assert encode_param(value) == text


@pytest.mark.parametrize("value", [
    pytest.param(float("nan"), id="nan"),
    pytest.param(datetime(2026, 1, 1), id="naive-datetime"),
    pytest.param({1, 2}, id="set"),
])
def test_rejects(value: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        encode_param(value)
