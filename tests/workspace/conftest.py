"""Workspaces on the bundled examples, and a recorder of their events."""

from __future__ import annotations

from pathlib import Path

import pytest

from bpviz.graph import load_graph
from bpviz.workspace import Workspace

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


def example(name: str):
    return load_graph(EXAMPLES / f"{name}.json")


class Events(list):
    """(event, payload) of every event of a workspace, in order."""

    def names(self) -> list[str]:
        return [name for name, _ in self]


@pytest.fixture
def workspace_on():
    def make(name: str = "tiny_cnn") -> tuple[Workspace, Events]:
        workspace = Workspace(example(name))
        events = Events()
        workspace.subscribe(lambda event, payload: events.append((event, payload)))
        return workspace, events

    return make
