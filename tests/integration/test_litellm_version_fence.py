"""The gateway's patches of LiteLLM's and the `openai` SDK's internals apply only on the
releases they were measured on: on any other, each is skipped with one warning that names
it and the release, and LiteLLM streams as it does unpatched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from gateway.providers import litellm_internals, litellm_provider
from gateway.providers.litellm_internals import LITELLM, OPENAI, StreamPatches, install
from gateway.providers.litellm_provider import _litellm
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.litellm_stream import stream_through_litellm
from tests.support.servers import ROOT

SKIPPED = "library patch not applied"


def skipped(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, str]]:
    return [
        (r.patch, r.package, r.installed)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == SKIPPED and r.levelname == "WARNING"
    ]


@pytest.mark.parametrize(
    ("version", "covered"),
    [
        ("1.110.2", True),
        ("1.110.2.post1", True),
        ("1.110.1", False),
        ("1.111.0", False),
        ("1.110", False),
        ("nightly", False),
        (None, False),
    ],
)
def test_a_range_covers_the_releases_between_its_ends(version: str | None, covered: bool) -> None:
    assert litellm_internals.Measured("litellm", "1.110.2", "1.110.2").covers(version) is covered


def test_on_the_pinned_releases_every_patch_applies(caplog: pytest.LogCaptureFixture) -> None:
    litellm = _litellm()

    assert install(litellm) == StreamPatches(True, True, True, True)
    assert skipped(caplog) == []


def test_on_another_openai_release_its_chunks_are_built_as_the_sdk_builds_them(
    upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    litellm = _litellm()
    import openai._base_client
    import openai._models
    from openai.types.chat import ChatCompletionChunk

    versions = {"litellm": LITELLM.last, "openai": "4.0.0"}
    monkeypatch.setattr(litellm_internals, "installed_version", versions.get)
    monkeypatch.setattr(litellm_provider, "_loaded", (litellm, install(litellm)))
    constructed: list[object] = []
    construct = openai._models.construct_type

    def counting(*, value: object, type_: object, **kwargs: Any) -> object:
        if type_ is ChatCompletionChunk:
            constructed.append(value)
        return construct(value=value, type_=type_, **kwargs)

    monkeypatch.setattr(openai._base_client, "construct_type", counting)
    monkeypatch.setattr(openai._models, "construct_type", counting)

    text, usage = stream_through_litellm(upstream, fake.text(["Hello", " world"]))

    assert skipped(caplog) == [("validate_chunks", "openai", "4.0.0")]
    assert text == "Hello world"
    assert usage == {
        "input_tokens": 5,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "output_tokens": 7,
    }
    assert len(constructed) == 5  # role, two words, finish, usage: none validated


ON_ANOTHER_LITELLM = """
import json
from gateway.providers import litellm_internals
litellm_internals.installed_version = {"litellm": "1.111.0", "openai": "4.0.0"}.get
from gateway.providers.litellm_provider import _load
from tests.support import fake_upstream as fake
from tests.support.fake_upstream import FakeUpstream
from tests.support.litellm_stream import stream_through_litellm

upstream = FakeUpstream().start()
text, usage = stream_through_litellm(upstream, fake.text(["Hello", " world"]))
upstream.stop()
litellm, stream_patches = _load()
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler
print(json.dumps({"outcome": {
    "text": text,
    "usage": usage,
    "bounded_transports": hasattr(AsyncHTTPHandler.create_async_transport, "bounded"),
    "cost_skipped": hasattr(litellm.response_cost_calculator, "skips_unread_streams"),
    "tokenizer_dicts_kept": hasattr(litellm.utils, "json_data"),
    "stream_patches": str(stream_patches),
}}))
"""


def test_on_another_litellm_release_only_the_bound_applies_and_litellm_still_streams() -> None:
    """In a process of its own: the patches to LiteLLM as a whole apply as it is imported."""
    run = subprocess.run(
        [sys.executable, "-c", ON_ANOTHER_LITELLM],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    outcome = next(line["outcome"] for line in lines if "outcome" in line)
    warnings = [line for line in lines if line.get("message") == SKIPPED]
    assert [(w["level"], w["patch"], w["package"], w["installed"]) for w in warnings] == [
        ("WARNING", "skip_cost_of_unread_streams", "litellm", "1.111.0"),
        ("WARNING", "release_import_leftovers", "litellm", "1.111.0"),
        ("WARNING", "no_proxy_audio", "litellm", "1.111.0"),
        ("WARNING", "ChunkTail", "litellm", "1.111.0"),
        ("WARNING", "OneIterator", "litellm", "1.111.0"),
        ("WARNING", "validate_chunks", "openai", "4.0.0"),
        ("WARNING", "nothing_after_the_end", "litellm", "1.111.0"),
    ]
    assert {w["measured_on"] for w in warnings} == {
        f"{LITELLM.first} to {LITELLM.last}",
        f"{OPENAI.first} to {OPENAI.last}",
    }
    assert outcome["text"] == "Hello world"
    # LiteLLM's own figure, which it rebuilds from every chunk of the stream
    usage = outcome["usage"]
    assert (usage["input_tokens"], usage["output_tokens"]) == (5, 7)
    assert outcome["bounded_transports"]  # a bound, applied on every release
    assert not outcome["cost_skipped"]
    assert outcome["tokenizer_dicts_kept"]
    assert outcome["stream_patches"] == str(StreamPatches(False, False, False, False))
