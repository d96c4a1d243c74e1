"""The editable graph document: nodes with op names, inputs and parameters.

A GraphDocument is what a graph file holds and what the editor changes. It
may be in any state while being edited (an unknown op, a missing input, a
shape that does not fit); `bpviz.graph.shapes.infer_shapes` reports such
problems per node and `validate` refuses them. Listeners registered with
`subscribe` are called with (event_name, payload) after every edit.
"""

from __future__ import annotations

import copy as _copy
import math
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from bpviz.graph.observable import Observable

MAX_ID_LENGTH = 64


class GraphError(ValueError):
    """A graph breaks a rule. The message names the node and the rule.

    `node` is the id of the offending node, or None for a whole-graph problem.
    """

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


@dataclass
class NodeData:
    """One node as written in the file: params as given, defaults omitted."""

    id: str
    op: str
    inputs: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    trainable: bool = True
    pos: tuple[float, float] | None = None
    group: str | None = None  # the name of the group it belongs to, if any


@dataclass
class GroupData:
    """A named group of nodes (a stage, a residual block); one level, no nesting.

    `folded`: the canvas draws the group as one box (saved with the file).
    """

    name: str
    folded: bool = False


def id_problem(node_id: Any) -> str | None:
    """Why `node_id` cannot be a node id, or None when it can."""
    if not isinstance(node_id, str):
        return f"a node id must be a string, got {node_id!r}"
    if not node_id:
        return "a node id must not be empty"
    if len(node_id) > MAX_ID_LENGTH:
        return f"node id '{node_id[:20]}…' is longer than {MAX_ID_LENGTH} characters"
    if not node_id.isprintable():
        return f"node id {node_id!r} contains unprintable characters"
    return None


def group_name_problem(name: object) -> str | None:
    """Why `name` cannot name a group, or None when it can."""
    if not isinstance(name, str):
        return f"a group name must be a string, got {name!r}"
    if not name.strip():
        return "a group name must not be empty"
    if len(name) > MAX_ID_LENGTH:
        return f"group name '{name[:20]}…' is longer than {MAX_ID_LENGTH} characters"
    if not name.isprintable():
        return f"group name {name!r} contains unprintable characters"
    return None


class GraphDocument(Observable):
    """A named list of nodes; `nodes` keeps insertion (file) order.

    `description` is one paragraph about the graph, shown in the app ("" for none).
    """

    def __init__(self, name: str = "", nodes: list[NodeData] | None = None,
                 description: str = "") -> None:
        self.name = name
        self.description = description
        self.nodes: dict[str, NodeData] = {}
        self.groups: dict[str, GroupData] = {}
        super().__init__()
        for node in nodes or []:
            self._check_new(node)
            self.nodes[node.id] = node

    # -- edits ----------------------------------------------------------
    def node(self, node_id: str) -> NodeData:
        if node_id not in self.nodes:
            raise GraphError(f"there is no node '{node_id}'", node=None)
        return self.nodes[node_id]

    def _check_new(self, node: NodeData) -> None:
        problem = id_problem(node.id)
        if problem:
            raise GraphError(problem)
        if node.id in self.nodes:
            raise GraphError(f"node '{node.id}' already exists: ids must be unique", node.id)

    def add_node(self, node: NodeData) -> None:
        self._check_new(node)
        self.nodes[node.id] = node
        self._emit("node_added", id=node.id)

    def remove_node(self, node_id: str) -> None:
        """Remove a node and every wire from it (consumers lose that input)."""
        self.node(node_id)
        del self.nodes[node_id]
        consumers = []
        for other in self.nodes.values():
            if node_id in other.inputs:
                other.inputs = [src for src in other.inputs if src != node_id]
                consumers.append(other.id)
        self._emit("node_removed", id=node_id, consumers=consumers)

    def connect(self, src: str, dst: str, port: int | None = None) -> None:
        """Feed `src` into input `port` of `dst` (None or len(inputs): a new last port).

        Refuses a wire that would close a cycle.
        """
        self.node(src)
        target = self.node(dst)
        if port is None:
            port = len(target.inputs)
        if not 0 <= port <= len(target.inputs):
            raise GraphError(f"{target.op} '{dst}' has no input port {port}: "
                             f"it has {len(target.inputs)} inputs", dst)
        if src == dst or nx.has_path(self.to_networkx(), dst, src):
            raise GraphError(f"wiring '{src}' into '{dst}' would create a cycle", dst)
        if port == len(target.inputs):
            target.inputs.append(src)
        else:
            target.inputs[port] = src
        self._emit("inputs_changed", id=dst)

    def set_input(self, dst: str, port: int, src: str) -> None:
        """Same as connect(src, dst, port)."""
        self.connect(src, dst, port)

    def disconnect(self, dst: str, port: int) -> None:
        """Remove input `port` of `dst`; later ports move down by one."""
        target = self.node(dst)
        if not 0 <= port < len(target.inputs):
            raise GraphError(f"{target.op} '{dst}' has no input port {port}", dst)
        del target.inputs[port]
        self._emit("inputs_changed", id=dst)

    def set_inputs(self, dst: str, inputs: list[str]) -> None:
        """Replace all inputs of `dst` (no checks: infer_shapes reports problems)."""
        self.node(dst).inputs = list(inputs)
        self._emit("inputs_changed", id=dst)

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Replace the node's params (as given; infer_shapes reports bad values)."""
        self.node(node_id).params = _copy.deepcopy(dict(params))
        self._emit("params_changed", id=node_id)

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        self.node(node_id).trainable = bool(trainable)
        self._emit("trainable_changed", id=node_id)

    def set_pos(self, node_id: str, pos: tuple[float, float] | None) -> None:
        node = self.node(node_id)
        if pos is not None:
            pos = (float(pos[0]), float(pos[1]))
            if not all(map(math.isfinite, pos)):
                raise GraphError(f"{node.op} '{node_id}': a position must be finite", node_id)
        node.pos = pos
        self._emit("pos_changed", id=node_id)

    def set_name(self, name: str) -> None:
        self.name = name
        self._emit("name_changed", name=name)

    def set_description(self, description: str) -> None:
        self.description = description
        self._emit("description_changed", description=description)

    def rename(self, old: str, new: str) -> None:
        """Change a node's id, keeping its place and every wire to it."""
        node = self.node(old)
        if new != old:
            self._check_new(NodeData(new, node.op))
        node.id = new
        self.nodes = {(new if key == old else key): value for key, value in self.nodes.items()}
        for other in self.nodes.values():
            other.inputs = [new if src == old else src for src in other.inputs]
        self._emit("node_renamed", old=old, new=new)

    # -- groups ---------------------------------------------------------
    def group_members(self, name: str) -> list[str]:
        """The ids of the group's nodes, in file order."""
        return [node.id for node in self.nodes.values() if node.group == name]

    def group_of(self, node_id: str) -> GroupData | None:
        """The declared group `node_id` belongs to, or None."""
        node = self.nodes.get(node_id)
        return None if node is None or node.group is None else self.groups.get(node.group)

    def group_state(self) -> tuple[list[GroupData], dict[str, str | None]]:
        """Copies of the groups and every node's group: what set_group_state restores."""
        return ([GroupData(g.name, g.folded) for g in self.groups.values()],
                {node.id: node.group for node in self.nodes.values()})

    def set_group_state(self, groups: list[GroupData],
                        membership: dict[str, str | None]) -> None:
        self.groups = {g.name: GroupData(g.name, g.folded) for g in groups}
        for node in self.nodes.values():
            node.group = membership.get(node.id)
        self._emit("groups_changed")

    def make_group(self, name: str, ids: list[str], folded: bool = False) -> None:
        """A new group `name` of the nodes `ids` (they leave any group they were in)."""
        problem = group_name_problem(name)
        if problem:
            raise GraphError(problem)
        if name in self.groups:
            raise GraphError(f"a group named '{name}' already exists")
        nodes = [self.node(node_id) for node_id in ids]
        if not nodes:
            raise GraphError("a group needs at least one node")
        self.groups[name] = GroupData(name, folded)
        for node in nodes:
            node.group = name
        self._emit("groups_changed")

    def rename_group(self, old: str, new: str) -> None:
        self._group(old)
        problem = group_name_problem(new)
        if problem:
            raise GraphError(problem)
        if new != old and new in self.groups:
            raise GraphError(f"a group named '{new}' already exists")
        self.groups = {(new if key == old else key): (GroupData(new, g.folded) if key == old
                                                        else g)
                       for key, g in self.groups.items()}
        for node in self.nodes.values():
            if node.group == old:
                node.group = new
        self._emit("groups_changed")

    def ungroup(self, name: str) -> None:
        """Drop the group; its nodes stay, in no group."""
        self._group(name)
        del self.groups[name]
        for node in self.nodes.values():
            if node.group == name:
                node.group = None
        self._emit("groups_changed")

    def set_folded(self, name: str, folded: bool) -> None:
        self._group(name).folded = bool(folded)
        self._emit("groups_changed")

    def _group(self, name: str) -> GroupData:
        if name not in self.groups:
            raise GraphError(f"there is no group '{name}'")
        return self.groups[name]

    # -- views ----------------------------------------------------------
    def consumers(self) -> dict[str, list[tuple[str, int]]]:
        """id → [(consumer id, port)] for wires between existing nodes."""
        result: dict[str, list[tuple[str, int]]] = {node_id: [] for node_id in self.nodes}
        for node in self.nodes.values():
            for port, src in enumerate(node.inputs):
                if src in result:
                    result[src].append((node.id, port))
        return result

    def to_networkx(self) -> nx.DiGraph:
        """Nodes carry `data` (the NodeData); edges src → dst carry `port`.

        A node that reads the same source twice gets one edge: `port` is the
        first port and `ports` lists all of them. Inputs naming missing nodes
        are left out.
        """
        graph = nx.DiGraph()
        for node in self.nodes.values():
            graph.add_node(node.id, data=node)
        for node in self.nodes.values():
            for port, src in enumerate(node.inputs):
                if src not in self.nodes:
                    continue
                if graph.has_edge(src, node.id):
                    graph.edges[src, node.id]["ports"].append(port)
                else:
                    graph.add_edge(src, node.id, port=port, ports=[port])
        return graph

    def find_cycle(self) -> list[str] | None:
        """The nodes of one cycle, in wire order, or None for a DAG."""
        try:
            edges = nx.find_cycle(self.to_networkx())
        except nx.NetworkXNoCycle:
            return None
        return self.rotated([edge[0] for edge in edges])

    def rotated(self, cycle: list[str]) -> list[str]:
        """The cycle starting at its node that comes first in the file."""
        position = {node_id: i for i, node_id in enumerate(self.nodes)}
        start = cycle.index(min(cycle, key=position.get))
        return cycle[start:] + cycle[:start]

    def topological_ids(self) -> list[str]:
        """Ids in topological order, ties broken by file order."""
        cycle = self.find_cycle()
        if cycle:
            raise GraphError(cycle_message(cycle), cycle[0])
        position = {node_id: i for i, node_id in enumerate(self.nodes)}
        return list(nx.lexicographical_topological_sort(self.to_networkx(), key=position.get))

    def copy(self) -> GraphDocument:
        """A deep copy without listeners."""
        doc = GraphDocument(self.name, [_copy.deepcopy(node) for node in self.nodes.values()],
                            self.description)
        doc.groups = {name: GroupData(g.name, g.folded) for name, g in self.groups.items()}
        return doc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GraphDocument):
            return NotImplemented
        return (self.name == other.name and self.description == other.description
                and list(self.nodes.items()) == list(other.nodes.items())
                and list(self.groups.values()) == list(other.groups.values()))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"GraphDocument({self.name!r}, {len(self.nodes)} nodes)"


def cycle_message(cycle: list[str]) -> str:
    path = " → ".join(f"'{node_id}'" for node_id in [*cycle, cycle[0]])
    return f"the graph has a cycle: {path}; a network must not feed a node back into itself"
