"""A provider's chat-completions usage as the gateway's four counts (`core.usage`)."""

from __future__ import annotations

import pytest

from gateway.core.usage import usage_from_chat
from gateway.errors import UpstreamFailed


def test_cache_reads_and_writes_are_taken_out_of_the_prompt_tokens() -> None:
    reported = {
        "prompt_tokens": 1000,
        "completion_tokens": 20,
        "total_tokens": 1020,
        "prompt_tokens_details": {"cached_tokens": 600, "cache_write_tokens": 300},
        "completion_tokens_details": {"reasoning_tokens": 8},
    }

    assert usage_from_chat(reported) == {
        "input_tokens": 100,
        "cache_read_tokens": 600,
        "cache_write_tokens": 300,
        "output_tokens": 20,
        "reasoning_tokens": 8,
    }


def test_counts_not_reported_are_zero_and_reasoning_is_left_out() -> None:
    reported = {"prompt_tokens": 5, "completion_tokens": 7, "prompt_tokens_details": None}

    assert usage_from_chat(reported) == {
        "input_tokens": 5,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 7,
    }


def test_counts_reported_as_null_are_zero_and_a_null_reasoning_is_left_out() -> None:
    reported = {
        "prompt_tokens": None,
        "completion_tokens": None,
        "prompt_tokens_details": {"cached_tokens": None, "cache_write_tokens": None},
        "completion_tokens_details": {"reasoning_tokens": None},
    }

    assert usage_from_chat(reported) == {
        "input_tokens": 0,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 0,
    }


def test_a_provider_counting_cache_reads_outside_prompt_tokens_gets_no_negative_input() -> None:
    reported = {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 30}}

    assert usage_from_chat(reported)["input_tokens"] == 0


@pytest.mark.parametrize(
    "reported",
    [
        {"prompt_tokens": -1},
        {"completion_tokens": True},
        {"prompt_tokens_details": {"cache_write_tokens": 1.5}},
        {"completion_tokens_details": {"reasoning_tokens": "8"}},
        {"completion_tokens_details": 8},
    ],
)
def test_counts_that_are_not_whole_numbers_are_the_providers_failure(
    reported: dict[str, object],
) -> None:
    with pytest.raises(UpstreamFailed):
        usage_from_chat(reported)
