"""Every one-input op of the spec table through its torch rule and back: export-torch
writes it, the generated module computes what the engine computes, and
import-torch reads the same node back. A new op's rule is covered by its spec rows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpviz.engine import OPS, Executor
from tests.engine.op_specs import SPECS
from tests.oracle.test_interop import exported, same_graph

torch = pytest.importorskip("torch")
from bpviz.oracle.importer import import_module  # noqa: E402

ONE_INPUT = {}
for spec in SPECS:  # the first row of every one-input op that is not a loss
    cls = OPS[spec.op]
    if cls.max_inputs == 1 and cls.min_inputs == 1 and not cls.is_loss:
        ONE_INPUT.setdefault(spec.op, spec)


@pytest.mark.parametrize("spec", list(ONE_INPUT.values()), ids=lambda s: s.op)
def test_export_compute_and_import_again(tmp_path, spec):
    shape = list(spec.in_shapes[0][1:])
    graph = {"format": "bpviz-graph", "version": 1, "name": f"one {spec.op}",
             "nodes": [{"id": "x", "op": "input", "params": {"shape": shape}},
                       {"id": "node", "op": spec.op, "inputs": ["x"], "params": spec.hp}]}
    path = tmp_path / "graph.json"
    path.write_text(json.dumps(graph), encoding="utf-8")
    doc, network, _, model = exported(tmp_path, path)
    network.set_training(False)  # dropout and batchnorm as fixed functions
    model.eval()
    x = np.random.default_rng(3).standard_normal((2, *shape))
    executor = Executor(network)
    executor.run({"x": x})
    ours = executor.values["node"]
    theirs = model(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours, theirs.reshape(ours.shape), rtol=1e-12, atol=1e-12)
    same_graph(doc, import_module(model, shape).document)
