"""Undoable edits of a GraphDocument: one QUndoCommand per kind of edit.

Every command changes the document only through its edit methods, so the
document's listeners (the canvas) see each change as an event. Undo restores
the exact previous document: `dumps_graph` gives the same text before an edit
and after its undo, but for whether a group is folded (a view, which undo
leaves as it is).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from PySide6.QtGui import QUndoCommand

from bpviz.graph import GraphDocument, NodeData
from bpviz.graph.document import GroupData

Pos = tuple[float, float] | None
Batch = Callable[[], AbstractContextManager]

MOVE_COMMAND_ID = 1001


def snapshot(doc: GraphDocument) -> list[NodeData]:
    """Deep copies of the document's nodes, in file order."""
    return [copy.deepcopy(node) for node in doc.nodes.values()]


def restore(doc: GraphDocument, nodes: list[NodeData]) -> None:
    """Make `doc` hold exactly `nodes` (same order), using edit methods where possible."""
    wanted = {node.id: node for node in nodes}
    for node_id in [i for i, n in doc.nodes.items()
                    if i not in wanted or n.op != wanted[i].op]:
        doc.remove_node(node_id)
    for node in nodes:
        if node.id not in doc.nodes:
            doc.add_node(copy.deepcopy(node))
    for node in nodes:
        _restore_fields(doc, doc.nodes[node.id], node)
    if list(doc.nodes) != list(wanted):
        # Order is what the file shows; listeners do not depend on it.
        doc.nodes = {node_id: doc.nodes[node_id] for node_id in wanted}


def _restore_fields(doc: GraphDocument, current: NodeData, target: NodeData) -> None:
    if current.inputs != target.inputs:
        doc.set_inputs(target.id, target.inputs)
    if current.params != target.params:
        doc.set_params(target.id, target.params)
    if current.trainable != target.trainable:
        doc.set_trainable(target.id, target.trainable)
    if current.pos != target.pos:
        doc.set_pos(target.id, target.pos)


class DocCommand(QUndoCommand):
    """Base: holds the document and a batch context (the editor's report refresh)."""

    def __init__(self, doc: GraphDocument, text: str, batch: Batch | None = None) -> None:
        super().__init__(text)
        self.doc = doc
        self._batch = batch or nullcontext

    def redo(self) -> None:
        with self._batch():
            self.apply()

    def undo(self) -> None:
        with self._batch():
            self.revert()

    def apply(self) -> None:
        raise NotImplementedError

    def revert(self) -> None:
        raise NotImplementedError


class AddNodesCommand(DocCommand):
    """Add new nodes at the end of the document (adding one node, or a paste)."""

    def __init__(self, doc: GraphDocument, nodes: list[NodeData], text: str = "Add node",
                 batch: Batch | None = None) -> None:
        super().__init__(doc, text, batch)
        self.nodes = [copy.deepcopy(node) for node in nodes]

    def apply(self) -> None:
        for node in self.nodes:
            self.doc.add_node(copy.deepcopy(node))

    def revert(self) -> None:
        for node in reversed(self.nodes):
            self.doc.remove_node(node.id)


class RemoveNodesCommand(DocCommand):
    """Remove nodes and cut wires (dst, port); undo restores the whole previous document."""

    def __init__(self, doc: GraphDocument, ids: list[str],
                 wires: list[tuple[str, int]] = (), text: str = "Delete",
                 batch: Batch | None = None) -> None:
        super().__init__(doc, text, batch)
        self.ids = list(ids)
        self.wires = sorted(set(wires), key=lambda wire: (wire[0], -wire[1]))
        self.before: list[NodeData] = []

    def apply(self) -> None:
        self.before = snapshot(self.doc)
        for dst, port in self.wires:
            if dst in self.doc.nodes and dst not in self.ids:
                self.doc.disconnect(dst, port)
        for node_id in self.ids:
            self.doc.remove_node(node_id)

    def revert(self) -> None:
        restore(self.doc, self.before)


class SetInputsCommand(DocCommand):
    """Replace a node's inputs list (connect, disconnect, reconnect)."""

    def __init__(self, doc: GraphDocument, node_id: str, inputs: list[str],
                 text: str = "Connect", batch: Batch | None = None) -> None:
        super().__init__(doc, text, batch)
        self.node_id = node_id
        self.old = list(doc.node(node_id).inputs)
        self.new = list(inputs)

    def apply(self) -> None:
        self.doc.set_inputs(self.node_id, self.new)

    def revert(self) -> None:
        self.doc.set_inputs(self.node_id, self.old)


class SetParamsCommand(DocCommand):
    def __init__(self, doc: GraphDocument, node_id: str, params: dict[str, Any],
                 text: str = "Change parameters", batch: Batch | None = None) -> None:
        super().__init__(doc, text, batch)
        self.node_id = node_id
        self.old = copy.deepcopy(doc.node(node_id).params)
        self.new = copy.deepcopy(dict(params))

    def apply(self) -> None:
        self.doc.set_params(self.node_id, self.new)

    def revert(self) -> None:
        self.doc.set_params(self.node_id, self.old)


class SetTrainableCommand(DocCommand):
    def __init__(self, doc: GraphDocument, node_id: str, trainable: bool,
                 batch: Batch | None = None) -> None:
        text = "Unfreeze" if trainable else "Freeze"
        super().__init__(doc, text, batch)
        self.node_id = node_id
        self.old = doc.node(node_id).trainable
        self.new = bool(trainable)

    def apply(self) -> None:
        self.doc.set_trainable(self.node_id, self.new)

    def revert(self) -> None:
        self.doc.set_trainable(self.node_id, self.old)


class MoveNodesCommand(DocCommand):
    """Move several nodes at once; consecutive moves with the same merge key merge."""

    def __init__(self, doc: GraphDocument, positions: dict[str, Pos], text: str = "Move",
                 merge_key: object = None, batch: Batch | None = None) -> None:
        super().__init__(doc, text, batch)
        self.old = {node_id: doc.node(node_id).pos for node_id in positions}
        self.new = {node_id: _as_pos(pos) for node_id, pos in positions.items()}
        self.merge_key = merge_key

    def id(self) -> int:
        return MOVE_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:
        if (not isinstance(other, MoveNodesCommand) or self.merge_key is None
                or other.merge_key != self.merge_key):
            return False
        for node_id, pos in other.new.items():
            self.old.setdefault(node_id, other.old[node_id])
            self.new[node_id] = pos
        return True

    def apply(self) -> None:
        for node_id, pos in self.new.items():
            self.doc.set_pos(node_id, pos)

    def revert(self) -> None:
        for node_id, pos in self.old.items():
            self.doc.set_pos(node_id, pos)


class RenameCommand(DocCommand):
    def __init__(self, doc: GraphDocument, old: str, new: str,
                 batch: Batch | None = None) -> None:
        super().__init__(doc, f"Rename '{old}' to '{new}'", batch)
        self.old, self.new = old, new
        self.order = list(doc.nodes)

    def apply(self) -> None:
        self.doc.rename(self.old, self.new)

    def revert(self) -> None:
        self.doc.rename(self.new, self.old)
        if list(self.doc.nodes) != self.order:
            self.doc.nodes = {node_id: self.doc.nodes[node_id] for node_id in self.order}


class SetNameCommand(DocCommand):
    def __init__(self, doc: GraphDocument, name: str, batch: Batch | None = None) -> None:
        super().__init__(doc, "Rename graph", batch)
        self.old, self.new = doc.name, name

    def apply(self) -> None:
        self.doc.set_name(self.new)

    def revert(self) -> None:
        self.doc.set_name(self.old)


class SetDescriptionCommand(DocCommand):
    def __init__(self, doc: GraphDocument, description: str,
                 batch: Batch | None = None) -> None:
        super().__init__(doc, "Change description", batch)
        self.old, self.new = doc.description, description

    def apply(self) -> None:
        self.doc.set_description(self.new)

    def revert(self) -> None:
        self.doc.set_description(self.old)


def _as_pos(pos: Any) -> Pos:
    return None if pos is None else (float(pos[0]), float(pos[1]))


class GroupsCommand(DocCommand):
    """A change of groups (make, rename, ungroup): `edit` applies it to the
    document; undo puts the groups and memberships back as they were.

    Whether a group is folded is not part of the edit (folding is a view, never
    an undo step): undo leaves a group that still exists folded or unfolded as
    it is now, following a rename (`renamed` = (old, new)) back to its old name.
    """

    def __init__(self, doc: GraphDocument, text: str, edit: Callable[[], None],
                 batch: Batch | None = None, renamed: tuple[str, str] | None = None) -> None:
        super().__init__(doc, text, batch)
        self.edit = edit
        self.renamed = renamed
        self.before = doc.group_state()

    def apply(self) -> None:
        self.edit()

    def revert(self) -> None:
        groups, membership = self.before
        now = {name: group.folded for name, group in self.doc.groups.items()}
        if self.renamed is not None and self.renamed[1] in now:
            now[self.renamed[0]] = now.pop(self.renamed[1])
        groups = [GroupData(g.name, now.get(g.name, g.folded)) for g in groups]
        self.doc.set_group_state(groups, membership)
