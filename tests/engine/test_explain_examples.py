"""Every op's explanation together, on every bundled example: one random entry of
every tensor of every node adds up, reads the pass's own entries and is torch's."""

from __future__ import annotations

import numpy as np
import pytest

from tests.engine.explain_checks import check_entry, pass_tensors, random_entries, torch_reference
from tests.engine.stepping_graphs import DATA
from tests.engine.test_explain_pointwise import EXAMPLE_FILES, session_on

pytest.importorskip("torch")


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("path", EXAMPLE_FILES + [DATA / "residual_concat_cnn.json",
                                                  DATA / "every_loss.json"],
                         ids=lambda path: path.stem)
def test_every_entry_kind_of_every_node_of_an_example(path, training):
    session = session_on(path, training, seed=5)
    tensors, reference = pass_tensors(session), torch_reference(session)
    entries = random_entries(session, np.random.default_rng(5), per_tensor=1)
    assert {node for node, _, _ in entries} == set(session.network.nodes)
    for node, tensor, at in entries:
        check_entry(session, tensors, reference, node, tensor, at)
