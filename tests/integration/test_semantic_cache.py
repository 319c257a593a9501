"""The semantic tier, as clients see it: the official `openai` SDK against a gateway under
uvicorn whose routes have `"semantic_cache": true`, with the embedded (SQLite) store.

Every test opens its own conversation (a fresh system prompt), so questions stored by one
test are never candidates in another: the partition key covers the system prompt.
The pairs are one of each kind in the development set (`shared/semantic`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from gateway.config import Settings
from tests.integration.test_cache import OPTED_OUT_KEY, OTHER_KEY, cached_env, sdk
from tests.integration.test_request_log import emf_records, metric_names
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.servers import serve

PARAPHRASES = {
    "para_short": ("Who wrote Pride and Prejudice?", "Who is the author of Pride and Prejudice?"),
    "para_task": (
        "Write a Python function that reverses a string.",
        "Give me a Python function to reverse a string.",
    ),
    "para_long": (
        "My React app re-renders a large list whenever a parent component's state changes, "
        "which makes typing in a search box laggy. What are the usual ways to prevent "
        "the unnecessary re-renders?",
        "My React app re-renders a big list whenever a parent component's state changes, "
        "which makes typing in a search box laggy. What are the usual ways to prevent "
        "these unnecessary re-renders?",
    ),
    "para_trivial": ("what is the capital of australia", "What is the capital of Australia?"),
}
NEAR_MISSES = {
    "number": ("What is 12 times 13?", "What is 12 times 14?"),
    "entity": ("What's the capital of France?", "What's the capital of Germany?"),
    "negation": ("How do I make bread with yeast?", "How do I make bread without yeast?"),
    "antonym": ("How do I gain weight healthily?", "How do I lose weight healthily?"),
    "direction": (
        "How do I get from Boston to New York by train?",
        "How do I get from New York to Boston by train?",
    ),
    "unit": ("How many seconds are in a day?", "How many minutes are in a day?"),
    "date": ("Who won the World Cup in 2018?", "Who won the World Cup in 2022?"),
    "lang": ("How do I sort a list in Python?", "How do I sort a list in Java?"),
    "format": ("Write a haiku about autumn.", "Write a limerick about autumn."),
    "template": (
        "Translate to French: The meeting is postponed until next week.",
        "Translate to French: The meeting is cancelled until further notice.",
    ),
    "unrelated": ("Explain how vaccines work.", "Recommend a good science fiction novel."),
}
ROUTES = ["direct", "via-litellm"]


@pytest.fixture(scope="module")
def semantic_url(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("semantic") / "cache.sqlite3"
    with serve(Settings.from_env(semantic_env(upstream.url, f"sqlite://{path}"))) as url:
        yield url


def semantic_env(upstream_url: str, store: str) -> dict[str, str]:
    env = cached_env(upstream_url, GATEWAY_CACHE_URL=store)
    models = json.loads(env["GATEWAY_MODELS"])
    for route in ROUTES:
        models[route]["semantic_cache"] = True
    env["GATEWAY_MODELS"] = json.dumps(models)
    return env


def conversation(question: str, system: str | None = None) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": system or f"session {uuid.uuid4().hex}"},
        {"role": "user", "content": question},
    ]


def ask(
    client: openai.OpenAI,
    messages: list[dict[str, Any]],
    *,
    stream: bool,
    model: str = "direct",
    **params: Any,
) -> tuple[dict[str, str], str]:
    """The cache headers and the answer's text."""
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model=model,
            messages=messages,
            stream=True,
            **params,  # type: ignore[arg-type]
        ) as response:
            chunks = list(response.parse())
            headers = dict(response.headers)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        raw = client.chat.completions.with_raw_response.create(
            model=model,
            messages=messages,
            **params,  # type: ignore[arg-type]
        )
        headers, text = dict(raw.headers), raw.parse().choices[0].message.content or ""
    return {k: v for k, v in headers.items() if k.startswith("x-gateway-cache")}, text


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("kind", list(PARAPHRASES))
def test_a_paraphrase_is_answered_with_the_stored_answer(
    semantic_url: str, upstream: FakeUpstream, kind: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.text(["The", " answer"])
    stored, asked = PARAPHRASES[kind]
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)

    first, _ = ask(client, conversation(stored, system), stream=stream)
    upstream.scripts["scripted"] = fake.text(["another", " answer"])
    second, text = ask(client, conversation(asked, system), stream=not stream)

    assert first == {"x-gateway-cache": "miss"}
    assert second["x-gateway-cache"] == "hit"
    assert second["x-gateway-cache-match"] == "semantic"
    assert 0.75 <= float(second["x-gateway-cache-similarity"]) <= 1.0
    assert text == "The answer"
    assert len(upstream.requests) == 1


@pytest.mark.parametrize("model", ROUTES)
def test_both_provider_paths_serve_semantic_hits(
    semantic_url: str, upstream: FakeUpstream, model: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["Canberra"])
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)

    ask(client, conversation("what is the capital of australia", system), stream=True, model=model)
    second, text = ask(
        client, conversation("What is the capital of Australia?", system), stream=True, model=model
    )

    assert (second["x-gateway-cache-match"], text) == ("semantic", "Canberra")


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
@pytest.mark.parametrize("kind", list(NEAR_MISSES))
def test_a_near_miss_is_never_answered_from_the_cache(
    semantic_url: str, upstream: FakeUpstream, kind: str, stream: bool
) -> None:
    upstream.scripts["scripted"] = fake.text(["first"])
    stored, asked = NEAR_MISSES[kind]
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)

    ask(client, conversation(stored, system), stream=stream)
    upstream.scripts["scripted"] = fake.text(["second"])
    headers, text = ask(client, conversation(asked, system), stream=stream)

    assert (headers, text) == ({"x-gateway-cache": "miss"}, "second")
    assert len(upstream.requests) == 2


def test_an_identical_request_is_an_exact_hit(semantic_url: str, upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = fake.text(["same"])
    messages = conversation("Who painted the Mona Lisa?")
    client = sdk(semantic_url)

    ask(client, messages, stream=True)
    headers, _ = ask(client, messages, stream=False)

    assert headers == {"x-gateway-cache": "hit", "x-gateway-cache-match": "exact"}


def test_two_tenants_with_the_same_question_never_share(
    semantic_url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["for acme"])
    system = f"session {uuid.uuid4().hex}"
    acme, initech = sdk(semantic_url), sdk(semantic_url, OTHER_KEY)

    ask(acme, conversation("Who discovered penicillin?", system), stream=True)
    upstream.scripts["scripted"] = fake.text(["for initech"])
    paraphrase = ask(
        initech, conversation("Who discovered penicillin? Thanks!", system), stream=True
    )
    same = ask(initech, conversation("Who discovered penicillin?", system), stream=True)

    assert paraphrase == ({"x-gateway-cache": "miss"}, "for initech")
    assert same[1] == "for initech"  # its own earlier question's answer, never acme's
    assert len(upstream.requests) == 2


def _tools(name: str) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}]


DIFFERENT_CONTEXTS = {
    "system prompt": (
        [{"role": "system", "content": "Answer in English."}],
        [{"role": "system", "content": "Answer in French."}],
        {},
        {},
    ),
    "earlier turn": (
        [
            {"role": "user", "content": "We talk about Japan."},
            {"role": "assistant", "content": "OK"},
        ],
        [
            {"role": "user", "content": "We talk about Peru."},
            {"role": "assistant", "content": "OK"},
        ],
        {},
        {},
    ),
    "tool list": ([], [], {"tools": _tools("lookup")}, {"tools": _tools("search")}),
    "sampling parameters": ([], [], {"temperature": 0}, {"temperature": 1}),
}


@pytest.mark.parametrize("difference", list(DIFFERENT_CONTEXTS))
def test_a_paraphrase_in_another_context_never_hits(
    semantic_url: str, upstream: FakeUpstream, difference: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    before_a, before_b, params_a, params_b = DIFFERENT_CONTEXTS[difference]
    session = [{"role": "system", "content": f"session {uuid.uuid4().hex}"}]
    client = sdk(semantic_url)

    ask(
        client,
        [*session, *before_a, {"role": "user", "content": "How tall is Mount Everest?"}],
        stream=True,
        **params_a,
    )
    same, _ = ask(
        client,
        [*session, *before_a, {"role": "user", "content": "What is the height of Mount Everest?"}],
        stream=True,
        **params_a,
    )
    other, _ = ask(
        client,
        [*session, *before_b, {"role": "user", "content": "What is the height of Mount Everest?"}],
        stream=True,
        **params_b,
    )

    assert same["x-gateway-cache-match"] == "semantic"  # the same context does hit
    assert other == {"x-gateway-cache": "miss"}


INELIGIBLE = {
    "a last turn over 1,000 characters": (
        "Explain this log. " + "x" * 1000,
        "Please explain this log. " + "x" * 1000,
        {},
    ),
}


@pytest.mark.parametrize("case", list(INELIGIBLE))
def test_an_ineligible_request_uses_the_exact_tier_only(
    semantic_url: str, upstream: FakeUpstream, case: str
) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    stored, asked, params = INELIGIBLE[case]
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)

    ask(client, conversation(stored, system), stream=False, **params)
    paraphrase, _ = ask(client, conversation(asked, system), stream=False, **params)
    repeat, _ = ask(client, conversation(stored, system), stream=False, **params)

    assert paraphrase == {"x-gateway-cache": "miss"}
    assert repeat == {"x-gateway-cache": "hit", "x-gateway-cache-match": "exact"}


def test_a_last_turn_with_an_image_is_not_eligible(
    semantic_url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    system = f"session {uuid.uuid4().hex}"
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    client = sdk(semantic_url)

    def turn(text: str) -> list[dict[str, Any]]:
        return [
            {"role": "system", "content": system},
            {"role": "user", "content": [{"type": "text", "text": text}, image]},
        ]

    ask(client, turn("What is in this picture?"), stream=False)
    headers, _ = ask(client, turn("what is in this picture"), stream=False)

    assert headers == {"x-gateway-cache": "miss"}


def test_cache_control_and_opting_out_hold_for_the_semantic_tier(
    semantic_url: str, upstream: FakeUpstream
) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)
    ask(client, conversation("How do I boil an egg?", system), stream=True)

    no_cache, _ = ask(
        client,
        conversation("how do i boil an egg", system),
        stream=True,
        extra_headers={"cache-control": "no-cache"},
    )
    opted_out, _ = ask(
        sdk(semantic_url, OPTED_OUT_KEY),
        conversation("how do i boil an egg", system),
        stream=True,
    )
    hit, _ = ask(client, conversation("how do i boil an egg?", system), stream=True)

    assert no_cache == {"x-gateway-cache": "miss"}
    assert opted_out == {"x-gateway-cache": "bypass"}
    assert hit["x-gateway-cache-match"] in {"semantic", "exact"}


def test_the_log_and_metrics_count_hits_rejections_and_lookup_time(
    semantic_url: str, upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    system = f"session {uuid.uuid4().hex}"
    client = sdk(semantic_url)
    ask(
        client, conversation("What is the hottest planet in the solar system?", system), stream=True
    )
    capsys.readouterr()

    ask(
        client, conversation("What is the coldest planet in the solar system?", system), stream=True
    )
    ask(
        client, conversation("What is the warmest planet in the solar system?", system), stream=True
    )

    refused, hit = emf_records(capsys.readouterr().out)
    assert refused["SemanticRejectionsPolar"] == [1.0]
    assert "SemanticHits" not in metric_names(refused)
    assert hit["SemanticHits"] == [1.0]
    assert {"SemanticLookupTime", "CacheHits"} <= metric_names(hit)


def test_a_damaged_index_entry_is_a_miss(upstream: FakeUpstream, tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "cache.sqlite3"
    upstream.scripts["scripted"] = fake.text(["answer"])
    with serve(Settings.from_env(semantic_env(upstream.url, f"sqlite://{path}"))) as url:
        client = sdk(url)
        system = f"session {uuid.uuid4().hex}"
        ask(client, conversation("How do I boil an egg?", system), stream=True)
        with sqlite3.connect(path) as db:
            db.execute("UPDATE entries SET data = ?", (b"damaged",))
        headers, text = ask(client, conversation("how do i boil an egg", system), stream=True)

    assert (headers, text) == ({"x-gateway-cache": "miss"}, "answer")


def test_a_store_that_cannot_be_opened_is_a_miss(upstream: FakeUpstream) -> None:
    upstream.scripts["scripted"] = fake.text(["answer"])
    env = semantic_env(upstream.url, "sqlite:///nonexistent-directory/cache.sqlite3")
    with serve(Settings.from_env(env)) as url:
        system = f"session {uuid.uuid4().hex}"
        ask(sdk(url), conversation("How do I boil an egg?", system), stream=True)
        headers, text = ask(sdk(url), conversation("how do i boil an egg", system), stream=False)

    assert (headers, text) == ({"x-gateway-cache": "miss"}, "answer")
