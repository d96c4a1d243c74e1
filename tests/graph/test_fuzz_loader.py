"""Thousands of mutated graph files: each loads cleanly or raises GraphError, nothing else."""

from __future__ import annotations

import copy
import functools
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine import OPS
from bpviz.graph import (
    MAX_BYTES,
    GraphError,
    build_network,
    dumps_graph,
    estimate_bytes,
    infer_shapes,
    loads_graph,
)
from tests.graph.test_fileformat import RESIDUAL, TINY_CNN, TINY_DENSE

MUTANTS = 5000
# Messages of the defensive fallbacks in bpviz.graph.shapes: seeing one means an
# op raised something other than ShapeError/HyperError, i.e. an engine bug.
INTERNAL = ("cannot infer the output shape (", "invalid parameters (",
            "cannot size the parameters (")
PARAM_NAMES = sorted({spec.name for cls in OPS.values() for spec in cls.hypers})
VALUES = [None, True, False, 0, -1, 1, 2, 3, 7, 64, 2**31, 10**15, 10**30, -10**9, 0.5, -0.0,
          1e300, float("nan"), float("inf"), "", "x", "relu", "mean", [], [1], [1, 2, 3],
          [0, 0], [2, 9, 9, 9], [[1]], {}, {"a": 1}, {"shape": [3]}]


@functools.cache
def seeds() -> tuple[str, ...]:
    texts = []
    for text in (TINY_DENSE, TINY_CNN, RESIDUAL):
        try:
            loads_graph(text)
        except GraphError:  # uses ops that are not registered
            continue
        texts.append(text)
    return tuple(texts)


# -- structural mutations ------------------------------------------------------------------
def containers(value, found=None):
    found = [] if found is None else found
    if isinstance(value, (dict, list)):
        found.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            containers(child, found)
    return found


def replace_value(data, rng):
    box = rng.choice([c for c in containers(data) if c])
    key = rng.choice(list(box)) if isinstance(box, dict) else rng.randrange(len(box))
    box[key] = copy.deepcopy(rng.choice(VALUES))


def tweak_number(data, rng):
    boxes = [(c, k) for c in containers(data) for k in (c if isinstance(c, dict) else range(len(c)))
             if isinstance(c[k], (int, float)) and not isinstance(c[k], bool)]
    if boxes:
        box, key = rng.choice(boxes)
        box[key] = rng.choice([box[key] * 1000, -box[key], box[key] + 0.5, float("nan"),
                               10**12, 0, box[key] + 1, 2**40])


def drop_key(data, rng):
    dicts = [c for c in containers(data) if isinstance(c, dict) and c]
    box = rng.choice(dicts)
    del box[rng.choice(list(box))]


def add_key(data, rng):
    box = rng.choice([c for c in containers(data) if isinstance(c, dict)] or [data])
    key = rng.choice(["inputs", "params", "pos", "trainable", "id", "op", "junk", *PARAM_NAMES])
    box[key] = copy.deepcopy(rng.choice(VALUES))


def nodes_of(data):
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def change_op(data, rng):
    nodes = nodes_of(data)
    if nodes:
        name = rng.choice(sorted(OPS))
        rng.choice(nodes)["op"] = rng.choice([name, name[:-1], name.upper(), "conv3d", ""])


def rewire(data, rng):
    nodes = nodes_of(data)
    if len(nodes) < 2:
        return
    index = rng.randrange(len(nodes) - 1)
    node, later = nodes[index], nodes[rng.randrange(index + 1, len(nodes))]
    inputs = list(node.get("inputs", [])) if isinstance(node.get("inputs"), list) else []
    choice = rng.randrange(3)
    if choice == 0:  # a cycle, or at least a wire to a later node
        inputs.append(later.get("id"))
    elif choice == 1:
        rng.shuffle(inputs)
        inputs *= rng.choice([1, 2])
    else:
        inputs = [n.get("id") for n in rng.sample(nodes, rng.randint(0, 3))]
    node["inputs"] = inputs


def reshape_nodes(data, rng):
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if not isinstance(nodes, list) or not nodes:
        return
    index = rng.randrange(len(nodes))
    choice = rng.randrange(3)
    if choice == 0:
        nodes.insert(rng.randrange(len(nodes) + 1), copy.deepcopy(nodes[index]))
    elif choice == 1:
        del nodes[index]
    else:
        rng.shuffle(nodes)


STRUCTURAL = [replace_value, tweak_number, drop_key, add_key, change_op, rewire, reshape_nodes]


# -- text mutations ----------------------------------------------------------------------------
def mutate_text(text: str, rng: random.Random) -> str:
    i, j = sorted(rng.randrange(len(text) + 1) for _ in range(2))
    j = min(j, i + 12)
    choice = rng.randrange(4)
    if choice == 0:
        return text[:i] + text[j:]
    if choice == 1:
        return text[:j] + text[i:j] + text[j:]
    if choice == 2 and j < len(text):
        return text[:i] + text[j] + text[i + 1:j] + text[i] + text[j + 1:]
    return text[:i] + rng.choice('{}[],:"0-9.eE NaN Infinity \\u0000 true null') + text[i:]


def mutant(text: str, rng: random.Random) -> str:
    data = json.loads(text)
    for _ in range(rng.randint(1, 3)):
        rng.choice(STRUCTURAL)(data, rng)
    out = json.dumps(data, allow_nan=True)
    if rng.random() < 0.3:
        out = mutate_text(out, rng)
    return out


# -- the checks -----------------------------------------------------------------------------------
def check(text: str) -> str:
    """'loaded', 'loose' or 'refused'; any exception but GraphError fails the test."""
    try:
        doc = loads_graph(text)
    except GraphError as exc:
        assert str(exc)
    else:
        assert infer_shapes(doc).ok
        size = estimate_bytes(doc)
        assert size <= MAX_BYTES
        assert loads_graph(dumps_graph(doc)) == doc
        if size < 2**20:
            build_network(doc, seed=1)
        return "loaded"
    try:
        loose = loads_graph(text, strict=False)
    except GraphError:
        return "refused"
    report = infer_shapes(loose)
    for message in report.errors.values():
        assert not any(marker in message for marker in INTERNAL), message
    estimate_bytes(loose)
    assert loads_graph(dumps_graph(loose), strict=False) == loose
    return "loose"


def test_mutated_files_load_or_raise_graph_error():
    texts = seeds()
    rng = random.Random(20240531)
    outcomes = {"loaded": 0, "loose": 0, "refused": 0}
    for index in range(MUTANTS):
        text = mutant(texts[index % len(texts)], rng)
        try:
            outcomes[check(text)] += 1
        except AssertionError as exc:
            raise AssertionError(f"mutant {index}: {exc}\n{text}") from None
    # The mutator must exercise every path, not only the JSON parser.
    assert min(outcomes.values()) > MUTANTS // 50, outcomes


def test_text_mutations_of_valid_files():
    rng = random.Random(7)
    for index in range(500):
        text = seeds()[index % len(seeds())]
        for _ in range(rng.randint(1, 4)):
            text = mutate_text(text, rng)
        check(text)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["id", "op", "inputs", "params", "format", "version", "nodes",
                         *PARAM_NAMES]), children, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_arbitrary_text(text):
    check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON, st.integers(min_value=0, max_value=5))
def test_arbitrary_json_in_a_graph(value, where):
    data = json.loads(TINY_DENSE)
    targets = [data, data["nodes"][2], data["nodes"][2]["params"], data["nodes"][0]["params"],
               data["nodes"][1], data["nodes"][3]]
    key = ["nodes", "inputs", "units", "shape", "pos", "params"][where]
    targets[where][key] = value
    check(json.dumps(data, allow_nan=True))
