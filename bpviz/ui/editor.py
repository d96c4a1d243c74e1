"""GraphEditor: the one place where the app edits a GraphDocument.

Every edit is a QUndoCommand on `undo_stack`; after each one (and after each
undo and redo) the editor recomputes the ShapeReport and emits
`report_changed`. Widgets read `doc` and listen to the document's events and
to the editor's signals; they never change the document directly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import networkx as nx
from PySide6.QtCore import QObject
from PySide6.QtGui import QUndoCommand, QUndoStack

from bpviz.engine import OPS, HyperError
from bpviz.engine.op import check_hypers
from bpviz.graph import GraphDocument, GraphError, NodeData, infer_shapes
from bpviz.graph.document import group_name_problem, id_problem
from bpviz.graph.fileformat import dumps_graph, loads_graph
from bpviz.graph.layout import COLUMN_GAP, WRAP_AFTER, layered_positions
from bpviz.graph.limits import MAX_BYTES, check_memory, report_bytes
from bpviz.scene.model import SceneModel
from bpviz.scene.wire_item import label_room
from bpviz.ui import commands as cmd

PASTE_OFFSET = (40.0, 40.0)


class EditError(ValueError):
    """An edit the editor refuses; the message says why, for the status bar."""

    def __init__(self, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class GraphEditor(SceneModel):
    """The window's document model, every edit undoable. The canvas, drawing it as
    a SceneModel, sets `measure` (for arrange()) and `locate` (so a copy keeps
    the picture's layout)."""

    def __init__(self, doc: GraphDocument | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        # A dying stack clears itself and signals; its listeners may be gone already.
        stack = self.undo_stack
        self.destroyed.connect(lambda *_: stack.blockSignals(True))
        self.path: str | None = None
        self._selection: list[str] = []
        self._batch_depth = 0
        self._dirty = False
        self._unsubscribe = self.doc.subscribe(self._on_doc_event)
        if doc is not None:
            self.set_document(doc)

    # -- document -------------------------------------------------------
    def set_document(self, doc: GraphDocument, path: str | None = None) -> None:
        """Edit `doc` from now on: clears the undo stack and marks it saved."""
        self._unsubscribe()
        self.doc = doc
        self.path = None if path is None else str(path)
        self._unsubscribe = doc.subscribe(self._on_doc_event)
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._selection = []
        self.report = infer_shapes(doc)
        self.document_replaced.emit()
        self.report_changed.emit(self.report)
        self.selection_changed.emit([])

    @property
    def is_modified(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self, path: str | None = None) -> None:
        """Call after writing the file: the current state becomes the clean one."""
        if path is not None:
            self.path = str(path)
        self.undo_stack.setClean()

    def text(self) -> str:
        """The document as graph-file text."""
        return dumps_graph(self.doc)

    # -- report ---------------------------------------------------------
    def _on_doc_event(self, event: str, payload: dict) -> None:
        if event == "node_renamed" and payload["old"] in self._selection:
            old, new = payload["old"], payload["new"]
            self._selection = [new if i == old else i for i in self._selection]
            self.selection_changed.emit(list(self._selection))
        if self._batch_depth:
            self._dirty = True
        else:
            self._refresh()

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Recompute the report once, after every edit inside the block."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth and self._dirty:
                self._refresh()

    def _refresh(self) -> None:
        self._dirty = False
        self.report = infer_shapes(self.doc)
        self.report_changed.emit(self.report)
        self._drop_missing_from_selection()

    def _push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    # -- selection ------------------------------------------------------
    @property
    def selection(self) -> list[str]:
        return list(self._selection)

    def set_selection(self, ids: Iterable[str]) -> None:
        ids = [node_id for node_id in dict.fromkeys(ids) if node_id in self.doc.nodes]
        if ids != self._selection:
            self._selection = ids
            self.selection_changed.emit(list(ids))

    def _drop_missing_from_selection(self) -> None:
        if any(node_id not in self.doc.nodes for node_id in self._selection):
            self.set_selection(self._selection)

    # -- adding and removing --------------------------------------------
    def fresh_id(self, op_name: str, taken: Iterable[str] = ()) -> str:
        """The first free id "<op>_<n>", n = 1, 2, …"""
        taken = set(taken) | set(self.doc.nodes)
        n = 1
        while f"{op_name}_{n}" in taken:
            n += 1
        return f"{op_name}_{n}"

    def node_to_add(self, op_name: str, params: dict[str, Any] | None = None) -> NodeData:
        """The node add_node would add (a fresh id, the op's start_params unless given),
        not in the document: what the canvas measures to find it a free place."""
        if op_name not in OPS:
            raise EditError(f"there is no op '{op_name}'")
        params = OPS[op_name].start_params() if params is None else copy.deepcopy(params)
        return NodeData(self.fresh_id(op_name), op_name, [], params, True)

    def add_node(self, op_name: str, pos: tuple[float, float] | None = None,
                 params: dict[str, Any] | None = None) -> str:
        """Add a node of `op_name` (with the op's start_params unless given) exactly at
        `pos` (None: where the layout puts it); returns its id."""
        node = self.node_to_add(op_name, params)
        node.pos = None if pos is None else (float(pos[0]), float(pos[1]))
        self._push(cmd.AddNodesCommand(self.doc, [node], f"Add {op_name}", self.batched))
        return node.id

    def remove_nodes(self, ids: Iterable[str], wires: Iterable[tuple[str, int]] = ()) -> None:
        """Delete nodes and cut wires given as (dst, port); one undo step."""
        ids = [node_id for node_id in dict.fromkeys(ids) if node_id in self.doc.nodes]
        wires = [(dst, port) for dst, port in wires if dst in self.doc.nodes]
        if not ids and not wires:
            return
        text = f"Delete {len(ids)} node{'s' if len(ids) != 1 else ''}" if ids else "Cut wire"
        self._push(cmd.RemoveNodesCommand(self.doc, ids, wires, text, self.batched))

    # -- wires ----------------------------------------------------------
    def _node(self, node_id: str) -> NodeData:
        if node_id not in self.doc.nodes:
            raise EditError(f"there is no node '{node_id}'")
        return self.doc.nodes[node_id]

    def connect(self, src: str, dst: str, port: int | None = None) -> None:
        """Feed `src` into input `port` of `dst` (None: a new last port).

        Raises EditError for a cycle or a port the op does not have. A wire
        whose shapes do not fit is accepted: the report shows the error.
        """
        self._node(src)
        target = self._node(dst)
        inputs = list(target.inputs)
        port = len(inputs) if port is None else port
        limit = self.input_limit(dst)
        if port < 0 or port > len(inputs) or (limit is not None and port >= limit):
            raise EditError(self._port_message(target, port, limit), dst)
        if src == dst or nx.has_path(self.doc.to_networkx(), dst, src):
            raise EditError(f"wiring '{src}' into '{dst}' would create a cycle: "
                            f"a network must not feed a node back into itself", dst)
        if port == len(inputs):
            inputs.append(src)
        elif inputs[port] == src:
            return
        else:
            inputs[port] = src
        self._refuse_too_big(dst, lambda doc: doc.set_inputs(dst, inputs))
        self._push(cmd.SetInputsCommand(self.doc, dst, inputs, f"Connect {src} → {dst}",
                                        self.batched))

    def _refuse_too_big(self, node_id: str, change: Callable[[GraphDocument], None]) -> None:
        """EditError when `change` (made to a copy) would make the graph bigger than
        any pass of it may be (bpviz.graph.limits: one sample's parameters, buffers
        and activations in float64 over MAX_BYTES), so the graph never holds a layer
        that only a refusal could follow (a 100000×100000 weight is 75 GiB). Nothing
        is allocated: the sizes come from the shapes. A graph that is already that
        big (opened from a file) may still be made smaller."""
        after = self.doc.copy()
        change(after)
        report = infer_shapes(after)
        size = report_bytes(report)
        if size <= MAX_BYTES or size <= report_bytes(self.report):
            return
        try:
            check_memory(after, report)
        except GraphError as error:
            raise EditError(f"not changed: {error}", node_id) from None

    def input_limit(self, node_id: str) -> int | None:
        """The most inputs the node's op takes (None: any number)."""
        cls = OPS.get(self._node(node_id).op)
        return cls.max_inputs if cls is not None else None

    @staticmethod
    def _port_message(target: NodeData, port: int, limit: int | None) -> str:
        if limit == 0:
            return f"{target.op} '{target.id}' takes no inputs"
        if limit is not None and port >= limit:
            plural = "input" if limit == 1 else "inputs"
            return f"{target.op} '{target.id}' takes at most {limit} {plural}"
        return (f"{target.op} '{target.id}' has no input port {port}: "
                f"it has {len(target.inputs)} inputs")

    def disconnect(self, dst: str, port: int) -> None:
        """Remove input `port` of `dst`; later inputs move down by one."""
        target = self._node(dst)
        if not 0 <= port < len(target.inputs):
            raise EditError(f"{target.op} '{dst}' has no input port {port}", dst)
        inputs = target.inputs[:port] + target.inputs[port + 1:]
        self._push(cmd.SetInputsCommand(self.doc, dst, inputs, f"Disconnect {dst}",
                                        self.batched))

    # -- node fields ----------------------------------------------------
    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Replace the node's params; refuses values the op does not accept."""
        node = self._node(node_id)
        cls = OPS.get(node.op)
        if cls is not None:
            try:
                check_hypers(cls, dict(params))
            except HyperError as exc:
                raise EditError(str(exc), node_id) from None
        if dict(params) == node.params:
            return
        self._refuse_too_big(node_id, lambda doc: doc.set_params(node_id, dict(params)))
        self._push(cmd.SetParamsCommand(self.doc, node_id, params,
                                        f"Change {node_id}", self.batched))

    def set_trainable(self, node_id: str, trainable: bool) -> None:
        if self._node(node_id).trainable != bool(trainable):
            self._push(cmd.SetTrainableCommand(self.doc, node_id, trainable, self.batched))

    def move_nodes(self, positions: dict[str, tuple[float, float] | None],
                   text: str = "Move", merge_key: object = None) -> None:
        """Move nodes to new centres in one undo step (nothing when nothing moves)."""
        changed = {node_id: pos for node_id, pos in positions.items()
                   if node_id in self.doc.nodes and _pos(pos) != self.doc.nodes[node_id].pos}
        if changed:
            self._push(cmd.MoveNodesCommand(self.doc, changed, text, merge_key, self.batched))

    def rename(self, old: str, new: str) -> None:
        self._node(old)
        if new == old:
            return
        problem = id_problem(new)
        if problem:
            raise EditError(problem, old)
        if new in self.doc.nodes:
            raise EditError(f"there is already a node '{new}': ids must be unique", old)
        self._push(cmd.RenameCommand(self.doc, old, new, self.batched))

    def set_name(self, name: str) -> None:
        if name != self.doc.name:
            self._push(cmd.SetNameCommand(self.doc, name, self.batched))

    def set_description(self, description: str) -> None:
        if description != self.doc.description:
            self._push(cmd.SetDescriptionCommand(self.doc, description, self.batched))

    # -- groups ---------------------------------------------------------
    def group_nodes(self, ids: Iterable[str], name: str | None = None) -> str:
        """Gather the nodes into a new group (default name "group1", "group2", …);
        returns its name."""
        chosen = [node_id for node_id in self.doc.nodes if node_id in set(ids)]
        if not chosen:
            raise EditError("select the nodes to group first")
        if name is None:
            number = 1
            while f"group{number}" in self.doc.groups:
                number += 1
            name = f"group{number}"
        problem = group_name_problem(name)
        if problem or name in self.doc.groups:
            raise EditError(problem or f"a group named '{name}' already exists")
        self._push(cmd.GroupsCommand(self.doc, f"Group {len(chosen)} nodes as '{name}'",
                                     lambda: self.doc.make_group(name, chosen), self.batched))
        return name

    def rename_group(self, old: str, new: str) -> None:
        if old not in self.doc.groups:
            raise EditError(f"there is no group '{old}'")
        if new == old:
            return
        problem = group_name_problem(new)
        if problem or new in self.doc.groups:
            raise EditError(problem or f"a group named '{new}' already exists")
        self._push(cmd.GroupsCommand(self.doc, f"Rename group '{old}' to '{new}'",
                                     lambda: self.doc.rename_group(old, new), self.batched,
                                     renamed=(old, new)))

    def ungroup(self, name: str) -> None:
        if name not in self.doc.groups:
            raise EditError(f"there is no group '{name}'")
        self._push(cmd.GroupsCommand(self.doc, f"Ungroup '{name}'",
                                     lambda: self.doc.ungroup(name), self.batched))

    def set_group_folded(self, name: str, folded: bool) -> None:
        """Fold the group into one box on the canvas (or unfold it).

        Folding is a way of looking, like zooming: it is not an undo step and
        does not mark the graph changed, but the file keeps it the next time
        it is saved.
        """
        group = self.doc.groups.get(name)
        if group is None:
            raise EditError(f"there is no group '{name}'")
        if group.folded != bool(folded):
            self.doc.set_folded(name, folded)

    # -- clipboard ------------------------------------------------------
    def copy(self, ids: Iterable[str]) -> str:
        """The nodes as graph-file text; only wires among them are kept."""
        chosen = [node_id for node_id in self.doc.nodes if node_id in set(ids)]
        drawn = self.locate() if self.locate is not None else {}
        nodes = []
        for node_id in chosen:
            node = copy.deepcopy(self.doc.nodes[node_id])
            node.inputs = [src for src in node.inputs if src in chosen]
            node.pos = node.pos or drawn.get(node_id)
            nodes.append(node)
        return dumps_graph(GraphDocument("", nodes))

    def paste(self, text: str, offset: tuple[float, float] = PASTE_OFFSET,
              at: tuple[float, float] | None = None) -> list[str]:
        """Add the nodes of a copied fragment, renaming taken ids; returns the new ids.

        The fragment moves by `offset`, or is centred on the scene point `at`.
        """
        try:
            fragment = loads_graph(text, strict=False)
        except GraphError as exc:
            raise EditError(f"cannot paste: {exc}") from None
        if not fragment.nodes:
            return []
        renamed = self._fresh_ids(fragment)
        layout = layered_positions(fragment)
        for node in fragment.nodes.values():
            node.pos = node.pos or layout[node.id]
        if at is not None:
            xs = [node.pos[0] for node in fragment.nodes.values()]
            ys = [node.pos[1] for node in fragment.nodes.values()]
            offset = (at[0] - (min(xs) + max(xs)) / 2, at[1] - (min(ys) + max(ys)) / 2)
        nodes = [self._pasted(node, renamed, offset) for node in fragment.nodes.values()]
        self._push(cmd.AddNodesCommand(self.doc, nodes, f"Paste {len(nodes)} nodes",
                                       self.batched))
        self.set_selection([node.id for node in nodes])
        return [node.id for node in nodes]

    def _fresh_ids(self, fragment: GraphDocument) -> dict[str, str]:
        renamed: dict[str, str] = {}
        for node in fragment.nodes.values():
            taken = node.id in self.doc.nodes or node.id in renamed.values()
            renamed[node.id] = (self.fresh_id(node.op, renamed.values()) if taken else node.id)
        return renamed

    @staticmethod
    def _pasted(node: NodeData, renamed: dict[str, str],
                offset: tuple[float, float]) -> NodeData:
        pos = node.pos
        return NodeData(renamed[node.id], node.op,
                        [renamed.get(src, src) for src in node.inputs if src in renamed],
                        copy.deepcopy(node.params), node.trainable,
                        (pos[0] + offset[0], pos[1] + offset[1]))

    # -- layout ---------------------------------------------------------
    def arrange(self) -> None:
        """Lay the graph out left to right by depth, long graphs wrapped into bands,
        columns far enough apart for the shape labels between them; one undo step."""
        sizes = self.measure() if self.measure is not None else None
        gap = max(COLUMN_GAP, label_room(self.report.shapes.values()))
        self.move_nodes(layered_positions(self.doc, sizes, column_gap=gap,
                                          wrap_after=WRAP_AFTER), "Arrange")

    # -- undo -----------------------------------------------------------
    def undo(self) -> None:
        self.undo_stack.undo()

    def redo(self) -> None:
        self.undo_stack.redo()


def _pos(pos: Any) -> tuple[float, float] | None:
    return None if pos is None else (float(pos[0]), float(pos[1]))

