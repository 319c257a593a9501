"""Chunks of the wrong shape stop where they enter the gateway (`core.chunk_shape`), as the
provider's failure the client reads, so that no door's stream format meets them."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.chunk_shape import checked_chunk
from gateway.errors import UpstreamFailed


def delta(**fields: Any) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": fields, "finish_reason": None}]}


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param({"choices": None}, id="choices not a list"),
        pytest.param({"choices": ["x"]}, id="a choice not an object"),
        pytest.param({"choices": [{"delta": "x"}]}, id="a delta not an object"),
        pytest.param(delta(tool_calls=["x"]), id="a tool call not an object"),
    ],
)
def test_a_chunk_of_the_wrong_shape_is_the_providers_failure(chunk: Any) -> None:
    with pytest.raises(UpstreamFailed) as caught:
        checked_chunk(chunk)

    assert (caught.value.status, caught.value.body()) == (
        502,
        {
            "error": {
                "message": "The provider sent a chunk of the wrong shape.",
                "type": "api_error",
                "param": None,
                "code": "upstream_error",
            }
        },
    )


@pytest.mark.parametrize(
    "chunk",
    [
        pytest.param({"choices": []}, id="no choices"),
        pytest.param(delta(content="x"), id="a text delta"),
        pytest.param(
            delta(tool_calls=[{"index": 0, "id": "c1", "function": {"name": "f"}}]),
            id="a tool call",
        ),
    ],
)
def test_a_well_formed_chunk_passes_as_it_is(chunk: Any) -> None:
    assert checked_chunk(chunk) is chunk
