"""A run in the window evaluates its validation set in batches that fit in memory."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import load_graph  # noqa: E402
from bpviz.graph.memory import Footprint, memory_limit  # noqa: E402
from bpviz.ui.training.job import Job  # noqa: E402
from tests.ui.windowkit import EXAMPLES  # noqa: E402


@pytest.fixture(autouse=True)
def _a_fresh_process(monkeypatch):
    # the estimates count what this process holds already: hold that fixed
    monkeypatch.setattr("bpviz.graph.memory.resident_bytes", lambda: 200 * 2**20)


def test_a_run_in_the_window_evaluates_as_many_samples_at_once_as_fit(monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "5G")
    doc = load_graph(EXAMPLES / "vgg16.json")
    run = SimpleNamespace(doc=doc, config=SimpleNamespace(batch_size=1, optimizer="sgd",
                                                          dtype="float32"))
    size = Job._evaluation_batch(run, samples=1000)
    assert 1 < size < 256  # the trainer's default of 256 images of 224×224 would not fit
    footprint, limit = Footprint(doc), memory_limit()

    def total(evaluation: int) -> int:
        return footprint.estimate("train", 1, "float32", "sgd+pause",
                                  evaluation=evaluation).total

    assert total(size) <= limit.bytes < total(size + 1)
    assert Job._evaluation_batch(run, samples=size - 1) == size - 1  # a smaller set at once
