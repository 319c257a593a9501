"""Remove from an installed dependency tree what the gateway never runs on Lambda.

    python3 prune.py SITE_DIR [--dry-run]

SITE_DIR is a `pip install --target` directory (the layer's `python/`). Each rule below
names what it removes and why that is safe. "Never read" was checked, not assumed:
tests/sam/test_pruning.py installs the same pins for the host, records every module
and file that `import litellm` and streamed `litellm.acompletion` calls (OpenAI,
Anthropic and Bedrock wire formats, against a local fake server) load, asserts that none
of them is under a pruned path, and runs the same calls again on the pruned tree.

What is *not* pruned, on purpose: LiteLLM's Python code, its proxy package included
(core modules such as `litellm_core_utils/litellm_logging.py` import proxy hooks lazily
on the success path), the Rust bridge (`litellm/rust_bridge/_native*.so` serves every
call), `litellm/model_prices_and_context_window_backup.json` (the offline cost map,
`LITELLM_LOCAL_MODEL_COST_MAP=True`), the tokenizer files and tiktoken cache under
`litellm/litellm_core_utils/tokenizers/` (offline token counting), and every
`*.dist-info/` metadata directory (importlib.metadata reads versions from them).
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rule:
    patterns: tuple[str, ...]  # globs relative to SITE_DIR (pathlib syntax, ** allowed)
    why: str
    # The Lambda runtime has its own copy: the function does use it, just not ours.
    provided_by_runtime: bool = False


RULES: tuple[Rule, ...] = (
    Rule(
        (
            "boto3",
            "boto3-*.dist-info",
            "botocore",
            "botocore-*.dist-info",
            "s3transfer",
            "s3transfer-*.dist-info",
        ),
        "The python3.13 runtime ships boto3/botocore/s3transfer (LiteLLM requires boto3, "
        "Powertools Parameters uses it). LiteLLM's Bedrock code uses only stable botocore "
        "APIs (SigV4Auth, AWSRequest, Credentials, EventStreamBuffer), so the runtime's "
        "copy serves it; shipping ours would shadow it with 32 MB.",
        provided_by_runtime=True,
    ),
    Rule(
        ("hf_xet", "hf_xet-*.dist-info"),
        "Xet storage transfers for huggingface_hub uploads/downloads; huggingface_hub "
        "imports it lazily and only for Hub transfers. The function never downloads from "
        "the Hub, and without it huggingface_hub falls back to plain HTTP.",
    ),
    Rule(
        ("bin",),
        "Console scripts written by pip --target, with the build host's interpreter in "
        "their shebangs: nothing on Lambda runs them.",
    ),
    Rule(
        ("litellm_cli",),
        "The `litellm`/`lite` command-line entry points (console scripts only); no "
        "module under litellm/ imports litellm_cli.",
    ),
    Rule(
        ("litellm/proxy/_experimental/out",),
        "The LiteLLM proxy admin UI (prebuilt Next.js HTML/JS/CSS/images, no Python); "
        "only proxy_server.py serves it, and the gateway runs no proxy server.",
    ),
    Rule(
        ("litellm/proxy/swagger",),
        "Swagger UI static assets (JS/CSS/icons, no Python) served by the proxy server's "
        "/swagger route only.",
    ),
    Rule(
        ("litellm/proxy/_lazy_openapi_snapshot.json",),
        "The proxy server's OpenAPI snapshot, read only by litellm/proxy/"
        "_lazy_openapi_snapshot.py when the proxy builds its /openapi.json.",
    ),
    Rule(
        (
            "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.js",
            "aws_lambda_powertools/event_handler/openapi/swagger_ui/*.css",
        ),
        "Swagger UI assets of Powertools' event handler (enable_swagger); the gateway "
        "serves HTTP through FastAPI, not the Powertools event handler. The .py files stay.",
    ),
    Rule(
        (
            "numpy",
            "numpy.libs",
            "safetensors",
            "toml",
            "wordllama/*.py",
            "wordllama/adapters",
            "wordllama/algorithms",
            "wordllama/config",
            "wordllama/embedding",
            "wordllama/extract",
            "wordllama/trainers",
        ),
        "WordLlama's Python code and what only it imports (numpy, safetensors, toml): "
        "the semantic cache tier reads the wheel's two data files (wordllama/weights, "
        "wordllama/tokenizers) with the standard library and tokenizers, and never "
        "imports the package (gateway/cache/semantic/embedding.py).",
    ),
    Rule(
        ("*/**/tests",),
        "Test suites shipped inside packages (jsonschema, regex, fsspec, referencing, ...): "
        "libraries never import their own tests.",
    ),
    Rule(
        ("*.dist-info/sboms",),
        "Software bills of materials: build-time metadata that importlib.metadata never "
        "reads (it reads METADATA, RECORD and entry_points.txt, which stay).",
    ),
    Rule(
        ("**/__pycache__",),
        "Bytecode, if any, was compiled by the build host's Python (not 3.13): the "
        "python3.13 runtime ignores it (the build installs with --no-compile anyway, and "
        "compiles what bytecode.txt lists with a 3.13 after pruning).",
    ),
)


def matches(site: Path) -> list[tuple[Rule, list[Path]]]:
    """The existing paths each rule selects (a path already under a selected directory
    is left out, so sizes are counted once)."""
    chosen: set[Path] = set()
    result = []
    for rule in RULES:
        paths = []
        for pattern in rule.patterns:
            for path in sorted(site.glob(pattern)):
                if path in chosen or any(parent in chosen for parent in path.parents):
                    continue
                chosen.add(path)
                paths.append(path)
        result.append((rule, paths))
    return result


def size_of(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.lstat().st_size


def prune(site: Path, *, dry_run: bool = False) -> list[Path]:
    """Remove (or with dry_run only list) every path the rules select; returns them."""
    removed = []
    total = 0
    for rule, paths in matches(site):
        size = sum(size_of(p) for p in paths)
        total += size
        label = ", ".join(rule.patterns)
        print(f"prune: {size / 1e6:7.2f} MB  {len(paths):4d} paths  {label}")
        for path in paths:
            removed.append(path)
            if dry_run:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    print(f"prune: {total / 1e6:7.2f} MB in total")
    return removed


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if len(args) != 1 or not Path(args[0]).is_dir():
        print(__doc__, file=sys.stderr)
        return 2
    prune(Path(args[0]), dry_run="--dry-run" in argv)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
