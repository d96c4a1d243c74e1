"""The make_panel fixture: a training panel on an editor holding an example graph."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_panel(qtbot):
    from bpviz.graph import GraphDocument, load_graph
    from bpviz.ui.editor import GraphEditor
    from bpviz.ui.training.dock import TrainingPanel
    from tests.ui.windowkit import EXAMPLES

    panels = []

    def make(graph: str | GraphDocument = "moons_mlp", dataset: str = "moons", epochs: int = 2,
             **settings) -> TrainingPanel:
        doc = graph if isinstance(graph, GraphDocument) else \
            load_graph(EXAMPLES / f"{graph}.json")
        panel = TrainingPanel(GraphEditor(doc))
        qtbot.addWidget(panel)
        panel.resize(1200, 330)
        panel.show()
        controls = panel.controls
        controls.set_dataset(dataset)
        controls.epochs.setValue(epochs)
        for name, value in settings.items():
            widget = getattr(controls, name)
            widget.setCurrentText(value) if hasattr(widget, "setCurrentText") else \
                widget.setValue(value)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shut_down()
