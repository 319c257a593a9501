"""Benchmark: the semantic cache tier (docs/caching.md#the-semantic-tier).

Prints one table: false hits and hit rate on the development pairs (each pair's first
question stored, the second asked, as the tier does it), the time a lookup adds before
the first byte on a miss and on a hit (the embedded SQLite store, a partition of 64
stored questions), the cold start the tier adds when a route turns it on (a fresh
process: import, table and tokenizer) and when none does, the memory it takes and the
bytes it adds to the layer.

    .venv/bin/python benchmarks/semantic.py [--pairs shared/semantic/dev-pairs.jsonl]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "functions"))

from gateway.cache.semantic.embedding import StaticEmbedding, similarity  # noqa: E402
from gateway.cache.semantic.index import MAX_ENTRIES, SemanticIndex  # noqa: E402
from gateway.cache.semantic.tier import THRESHOLD  # noqa: E402
from gateway.cache.semantic.verify import Text, verify  # noqa: E402
from gateway.storage.sqlite import SqliteStore  # noqa: E402

_PAIRS = ("shared/semantic/dev-pairs.jsonl",)


def dev_set(path: Path, embedding: StaticEmbedding) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    hits = false_hits = paraphrases = near_misses = 0
    for row in rows:
        near = similarity(embedding.embed(row["a"]), embedding.embed(row["b"])) >= THRESHOLD
        hit = near and verify(Text(row["a"]), Text(row["b"])) is None
        if row["label"] == "hit":
            paraphrases += 1
            hits += hit
        else:
            near_misses += 1
            false_hits += hit
    return [
        ("false hits on near-misses", f"{false_hits} of {near_misses} (goal 0)"),
        ("paraphrases that hit", f"{hits} of {paraphrases}, {hits / paraphrases:.0%} (goal 50%)"),
    ]


async def lookup_times(embedding: StaticEmbedding) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "cache.sqlite3")
        index = SemanticIndex(store, time.time)
        partition = b"p" * 32
        for i in range(MAX_ENTRIES - 1):
            question = f"What is the population of city number {i} in the region?"
            await index.add(partition, embedding.embed(question), question, b"k" * 32, 300, b"o")
        stored = "Who wrote Pride and Prejudice?"
        await index.add(partition, embedding.embed(stored), stored, b"a" * 32, 300, b"o")
        rows = []
        for label, asked in (
            ("miss (near-miss refused)", "Who wrote Sense and Sensibility?"),
            ("hit", "Who is the author of Pride and Prejudice?"),
        ):
            times = []
            for _ in range(200):
                started = time.perf_counter()
                neighbours = await index.nearest(
                    partition, embedding.embed(asked), 300, THRESHOLD, 3
                )
                for neighbour in neighbours:
                    if verify(Text(neighbour.text), Text(asked)) is None:
                        break
                times.append((time.perf_counter() - started) * 1000)
            times.sort()
            p50, p95 = statistics.median(times), times[int(len(times) * 0.95)]
            rows.append(
                (
                    f"lookup added before the first byte, {label}",
                    f"p50 {p50:.2f} ms, p95 {p95:.2f} ms (goal 10 ms)",
                )
            )
        return rows


def cold_start() -> list[tuple[str, str]]:
    """Fresh processes: what turning the tier on adds at start, and what `import
    gateway.app` loads of it when no route does."""
    on = (
        "import time; t = time.perf_counter(); "
        "from gateway.cache.semantic.embedding import StaticEmbedding; StaticEmbedding(); "
        "print((time.perf_counter() - t) * 1000)"
    )
    off = (
        "import sys, gateway.app; "
        "print(sum(m.startswith('gateway.cache.semantic') for m in sys.modules))"
    )
    env = {"PYTHONPATH": str(ROOT / "functions")}
    runs = sorted(float(_run(on, env)) for _ in range(5))
    loaded = _run(off, env)
    return [
        (
            "cold start added, tier on",
            f"{statistics.median(runs):.0f} ms median of 5 (goal 200 ms)",
        ),
        ("cold start added, tier off", f"{loaded} semantic modules imported (goal none)"),
    ]


def memory_and_size(embedding: StaticEmbedding, before_load_kb: int) -> list[tuple[str, str]]:
    for i in range(500):
        embedding.embed(f"question {i} about the weather in a city far away from here")
    import importlib.metadata

    files = importlib.metadata.distribution("wordllama").files or []
    kept = sum(
        f.locate().stat().st_size
        for f in files
        if "/weights/" in str(f) or "/tokenizers/" in str(f) or ".dist-info" in str(f)
    )
    added = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_load_kb) / 1024
    return [
        ("memory added (peak RSS, table loaded, 500 embeddings)", f"{added:.0f} MB"),
        ("layer size added (table, tokenizer, metadata)", f"{kept / 1e6:.1f} MB"),
    ]


def _run(code: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _pairs(given: str | None) -> Path:
    if given:
        return Path(given)
    for base in (ROOT.parent, ROOT.parent.parent):
        for relative in _PAIRS:
            if (base / relative).is_file():
                return base / relative
    raise SystemExit("dev-pairs.jsonl not found: pass --pairs")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs")
    args = parser.parse_args(argv)
    before_load_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    embedding = StaticEmbedding()
    rows: list[Any] = dev_set(_pairs(args.pairs), embedding)
    rows += asyncio.run(lookup_times(embedding))
    rows += cold_start()
    rows += memory_and_size(embedding, before_load_kb)
    width = max(len(name) for name, _ in rows)
    print("semantic cache tier")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
