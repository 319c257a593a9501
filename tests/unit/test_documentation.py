"""The documentation keeps up with the code: every `GATEWAY_*` variable the code reads is in
the README's configuration table, every route and tenant option the configuration parser
accepts is documented there, and every relative link in the README and `docs/` resolves.

What the code reads and accepts is found in the code itself, never in a list kept here:
a list kept here would go stale exactly as the README did.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import config
from tests.support.template import load_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]
CODE = [ROOT / "functions", ROOT / "layers" / "streaming-runtime"]

VARIABLE = re.compile(r"GATEWAY_[A-Z0-9]+(?:_[A-Z0-9]+)*")
CODE_SPAN = re.compile(r"`([^`]+)`")
FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


# What the code reads and accepts


def variables_in_code() -> set[str]:
    """Every string constant in the code that is exactly a `GATEWAY_*` name. The gateway
    reads its variables through a mapping (`env.get(...)`), a limit's metadata
    (`_limit("GATEWAY_...", default)`) or a named constant, so the names are found as the
    strings they are written as, not by the call that reads them; a name inside a
    sentence (a docstring, an error message) is not a read."""
    return {
        node.value
        for folder in CODE
        for path in folder.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and VARIABLE.fullmatch(node.value)
    }


def variables_in_template() -> set[str]:
    """The `GATEWAY_*` variables template.yaml sets on any function, or globally."""
    template = load_template()
    blocks = [template.get("Globals", {}).get("Function", {})]
    blocks += [r.get("Properties", {}) for r in template["Resources"].values()]
    return {
        name
        for block in blocks
        for name in block.get("Environment", {}).get("Variables", {})
        if VARIABLE.fullmatch(name)
    }


def keys_read_by(parser: Callable[..., Any]) -> set[str]:
    """The literal keys `parser` reads from a JSON object (`entry.get("key")`,
    `entry["key"]`), in its own body and in the functions of its module it calls: the
    parsers read each option by name, and ignore the rest."""
    module = ast.parse(Path(inspect.getfile(parser)).read_text())
    functions = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
    keys: set[str] = set()
    seen: set[str] = set()
    pending = [parser.__name__]
    while pending:
        name = pending.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        for node in ast.walk(functions[name]):
            keys.update(_literal_key(node))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                pending.append(node.func.id)
    return keys


def _literal_key(node: ast.AST) -> Iterator[str]:
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        key = node.slice
    elif (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and isinstance(node.func.value, ast.Name)
        and node.args
    ):
        key = node.args[0]
    else:
        return
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        yield key.value


# What the documentation says


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def table_names(text: str, first_header: str) -> set[str]:
    """The backticked names in the first column of the table whose first header cell is
    `first_header`."""
    names: set[str] = set()
    in_table = False
    for line in without_code_blocks(text).splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            in_table = False
        elif cells[0] == first_header:
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            names.update(CODE_SPAN.findall(cells[0]))
    assert names, f"no table headed {first_header!r}"
    return names


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, and
    `-1`, `-2`, ... for repeated headings."""
    found: set[str] = set()
    for heading in HEADING.findall(without_code_blocks(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def relative_links(document: Path) -> Iterator[str]:
    text = CODE_SPAN.sub("", without_code_blocks(document.read_text()))
    for target in LINK.findall(text):
        if not re.match(r"[a-z]+:", target):
            yield target


def broken(document: Path, target: str) -> str | None:
    """Why `target`, linked from `document`, does not resolve; None when it does."""
    path, _, anchor = target.partition("#")
    linked = (document.parent / path).resolve() if path else document
    if not linked.exists():
        return "no such file"
    if anchor and (linked.suffix != ".md" or anchor not in anchors(linked.read_text())):
        return f"no heading #{anchor}"
    return None


# The tests


README_TEXT = README.read_text()
CONFIGURATION_TABLE = table_names(README_TEXT, "variable")


def test_every_variable_the_code_reads_is_in_the_readmes_configuration_table() -> None:
    read = variables_in_code() | variables_in_template()

    assert {"GATEWAY_MODELS", "GATEWAY_CONFIG_SECRET", "GATEWAY_KEEPALIVE_SECONDS"} <= read
    assert sorted(read - CONFIGURATION_TABLE) == []


def test_the_configuration_table_lists_only_variables_the_code_reads() -> None:
    read = variables_in_code() | variables_in_template()

    assert sorted(CONFIGURATION_TABLE - read) == []


@pytest.mark.parametrize(
    ("parser", "first_header"),
    [(config.parse_models, "route option"), (config.parse_tenants, "tenant option")],
)
def test_every_option_the_parser_accepts_is_documented_and_nothing_else(
    parser: Callable[..., Any], first_header: str
) -> None:
    accepted = keys_read_by(parser)

    assert accepted, f"{parser.__name__} reads no option by name"
    assert sorted(accepted ^ table_names(README_TEXT, first_header)) == []


def test_the_option_finder_sees_the_parsers_reads() -> None:
    assert {"model", "api_key_env", "cache_ttl_seconds"} <= keys_read_by(config.parse_models)
    assert {"keys", "models", "cache"} <= keys_read_by(config.parse_tenants)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    failures = {
        target: reason
        for target in relative_links(document)
        if (reason := broken(document, target)) is not None
    }

    assert failures == {}


def test_the_readme_begins_with_serve_and_test() -> None:
    title, rest = README_TEXT.split("```bash\n", 1)
    first_block = rest.split("```", 1)[0]

    assert [line for line in title.splitlines() if line.strip()] == [README_TEXT.split("\n")[0]]
    assert title.startswith("# ")
    assert [line.split()[0] for line in first_block.splitlines()] == [
        "scripts/serve",
        "scripts/test",
    ]
