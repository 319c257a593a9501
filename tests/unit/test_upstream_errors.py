"""What of a provider's error text a tenant sees: the message, without client internals."""

from __future__ import annotations

import pytest

from gateway.providers.upstream_errors import MAX_DETAIL, cleaned


@pytest.mark.parametrize(
    ("detail", "shown"),
    [
        ("max_tokens is too large", "max_tokens is too large"),
        (
            'litellm.BadRequestError: AnthropicException - b\'{"type":"error","error":'
            '{"type":"invalid_request_error","message":"prompt is too long"}}\'',
            "prompt is too long",
        ),
        ('AnthropicException - {"error": {"message": "bad tool"}}', "bad tool"),
        ("litellm.RateLimitError: RateLimitError: OpenAIException - slow down", "slow down"),
        ("see https://internal.example:8443/a?b=c for more", "see [address] for more"),
        ("line one\nline two\r\n\tthree", "line one line two three"),
        ("b'plain bytes text'", "plain bytes text"),
        ('{"not": "an error"}', ""),
        ("", ""),
    ],
    ids=[
        "plain",
        "LiteLLM labels and a bytes repr of Anthropic's body",
        "a JSON body",
        "nested labels",
        "an address",
        "line breaks",
        "a bytes repr of text",
        "JSON without a message",
        "nothing",
    ],
)
def test_a_providers_error_text_is_cleaned(detail: str, shown: str) -> None:
    assert cleaned(detail) == shown


def test_a_long_message_is_cut() -> None:
    shown = cleaned("x" * 5000)
    assert len(shown) == MAX_DETAIL
    assert shown.endswith("...")
