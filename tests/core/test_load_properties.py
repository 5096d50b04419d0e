"""Properties of the YAML and JSON loaders: on any bytes they return findings, never raise, and stay bounded.

Alias bombs (lists of lists of aliases, merge keys of merge keys, anchors merged into themselves) and deep
nesting are built by strategies; the work a document may cost is capped by ``Limits`` (nodes and depth), so
each load must finish quickly and within a small amount of memory however the document is shaped.
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from changebot.core.documents.load import Limits, Loaded, load_any, load_json, load_yaml

SMALL = Limits(max_nodes=5_000, max_depth=100)
SECONDS = 2.0  # generous for two busy cores: a capped load takes milliseconds
PEAK_BYTES = 48 * 1024 * 1024

TOKENS = [
    *"[]{}:,-&*!<>|'\"#?%@`~=.\\ \t\n\r",
    *"ab01_xyz",
    "<<: ",
    "&a ",
    "*a",
    "!!int ",
    "!!python/object ",
    "0b_",
    "---\n",
    "\n- ",
    ": ",
    "\ufeff",
    "é",
    "\u200b",
]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=80).map("".join)


def values(data: Any) -> int:
    """How many values ``data`` holds, counting containers and scalars alike."""
    if isinstance(data, dict):
        return 1 + sum(values(v) for v in data.values())
    if isinstance(data, list):
        return 1 + sum(values(v) for v in data)
    return 1


def depth(data: Any) -> int:
    if isinstance(data, dict):
        return 1 + max((depth(v) for v in data.values()), default=0)
    if isinstance(data, list):
        return 1 + max((depth(v) for v in data), default=0)
    return 0


def bounded_load(path: str, raw: bytes, limits: Limits = SMALL) -> Loaded:
    """Load ``raw`` and check the result is findings or a document within ``limits``, made in bounded time
    and memory."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        loaded = load_any(path, raw, limits)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < SECONDS, f"{elapsed:.2f}s for {len(raw)} bytes"
    assert peak < PEAK_BYTES, f"{peak:,} bytes at peak for {len(raw)} bytes"
    if loaded.document is None:
        assert loaded.findings, "no document and no finding saying why"
        assert all(f.path == path for f in loaded.findings)
    elif not path.endswith(".json"):  # JSON has no aliases: its size is capped by the file's
        assert values(loaded.document.data) <= limits.max_nodes
        assert depth(loaded.document.data) <= limits.max_depth + 1
    return loaded


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["x.yaml", "x.json"]))
@example(b"a: " + b"1" * 5000, "x.yaml")  # more digits than Python converts to an int
@example(b"a: 0b_", "x.yaml")  # an int by YAML 1.1's pattern, no digits once "_" is dropped
@example(b"!!int ", "x.yaml")  # an explicit int with no digits at all
@example(b"a: !!float x", "x.yaml")
@example(b"a: &a {<<: *a}\n", "x.yaml")  # a mapping merged into itself
@example(b"\xef\xbb\xbf{}", "x.json")
def test_arbitrary_bytes_give_findings_not_exceptions(raw: bytes, path: str) -> None:
    bounded_load(path, raw)


@settings(max_examples=150, deadline=None)
@given(YAMLISH, st.sampled_from(["x.yaml", "x.json"]))
def test_yaml_punctuation_gives_findings_not_exceptions(text: str, path: str) -> None:
    bounded_load(path, text.encode("utf-8"))


def merge_bomb(levels: int, fan: int) -> str:
    """Merge keys of merge keys, each anchor defined inside the merge that uses it: every level multiplies
    the merged pairs by ``fan`` before a single value is built."""
    node = "&m0 {k: v}"
    for i in range(1, levels + 1):
        node = f"&m{i} {{<<: [{node}{f', *m{i - 1}' * (fan - 1)}]}}"
    return f"b: {{<<: {node}}}\n"


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """A document whose aliases expand exponentially: a sequence, merge or flow-mapping "billion laughs",
    anchors defined at the top or nested inside the merge that uses them, or an anchor inside itself."""
    levels = draw(st.integers(min_value=1, max_value=40))
    fan = draw(st.integers(min_value=2, max_value=9))
    shape = draw(st.sampled_from(["seq", "map", "merge", "inline-merge", "self"]))
    if shape == "self":
        return draw(st.sampled_from(["a: &a [*a, *a]\n", "a: &a {<<: *a, b: *a}\n", "&a {x: [*a], <<: [*a]}\n"]))
    if shape == "inline-merge":
        return merge_bomb(levels, fan)
    lines = ["m0: &m0 {k: v}" if shape != "seq" else "m0: &m0 [v, v]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*m{i - 1}"] * fan)
        if shape == "seq":
            lines.append(f"m{i}: &m{i} [{refs}]")
        elif shape == "map":
            lines.append(f"m{i}: &m{i} {{{', '.join(f'k{j}: *m{i - 1}' for j in range(fan))}}}")
        else:
            lines.append(f"m{i}: &m{i} {{<<: [{refs}], own{i}: x}}")
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None)
@given(alias_bombs())
@example(merge_bomb(20, 2))  # 2**20 merged pairs from 400 bytes
def test_alias_bombs_are_refused_in_bounded_time_and_memory(text: str) -> None:
    bounded_load("bomb.yaml", text.encode("utf-8"))


@st.composite
def deep_documents(draw: st.DrawFn) -> tuple[str, str]:
    """Nesting from 1 to 3,000 levels: flow lists and mappings, block lists, and JSON arrays and objects."""
    n = draw(st.integers(min_value=1, max_value=3_000))
    shape = draw(st.sampled_from(["flow-seq", "flow-map", "block", "json-array", "json-object"]))
    if shape == "flow-seq":
        return "deep.yaml", "[" * n + "]" * n
    if shape == "flow-map":
        return "deep.yaml", "{a: " * n + "1" + "}" * n
    if shape == "block":
        return "deep.yaml", "".join("  " * i + "- \n" for i in range(min(n, 400))) + "  " * min(n, 400) + "x\n"
    if shape == "json-array":
        return "deep.json", "[" * n + "]" * n
    return "deep.json", '{"a": ' * n + "1" + "}" * n


@settings(max_examples=40, deadline=None)
@given(deep_documents())
def test_deep_nesting_is_refused_or_read_within_the_depth_cap(case: tuple[str, str]) -> None:
    path, text = case
    loaded = bounded_load(path, text.encode("utf-8"))
    if loaded.document is None:
        assert {f.code for f in loaded.findings} <= {"yaml-too-complex", "json-too-complex", "yaml-syntax"}


def test_the_default_caps_bound_a_classic_billion_laughs() -> None:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    loaded = load_yaml("laughs.yaml", "\n".join(lines).encode("utf-8"))
    assert loaded.document is None
    assert [f.code for f in loaded.findings] == ["yaml-too-complex"]
    assert [f.code for f in load_yaml("merges.yaml", merge_bomb(40, 3).encode("utf-8")).findings] == [
        "yaml-too-complex"
    ]
    assert load_json("x.json", b"[" * 100_000 + b"]" * 100_000).findings[0].code == "json-too-complex"
