"""Folded and unfolded groups on the canvas: boxes, frames, hidden nodes, re-attached wires.

A GraphScene owns one Folding. `apply` makes the items match the document's
groups: a folded group's nodes and its inner wires are hidden behind one
GroupBox, and the wires crossing its border are drawn to and from the box
(the WireItems stay those of the document's wires, so step colours and
selection keep working); an unfolded group gets a GroupFrame around its
nodes. `layout` places nodes without a position of their own with each
folded group taking the room of one box.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpviz.graph import GraphError
from bpviz.graph.groups import BOX_KEY, fields_of, folded_groups, folded_view, summarise
from bpviz.graph.layout import COLUMN_GAP, layered_positions
from bpviz.scene.group_item import GroupBox, GroupFrame
from bpviz.scene.node_item import remove_from_scene

if TYPE_CHECKING:
    from bpviz.scene.scene import GraphScene

Pos = tuple[float, float]


class Folding:
    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        self.boxes: dict[str, GroupBox] = {}
        self.frames: dict[str, GroupFrame] = {}
        self.node_group: dict[str, str] = {}  # node id → its folded group
        self.box_pos: dict[str, Pos] = {}  # from the layout, for nodes without a pos

    def forget(self) -> None:
        """The scene has deleted every item."""
        self.boxes.clear()
        self.frames.clear()
        self.node_group = {}
        self.box_pos = {}

    # -- layout ---------------------------------------------------------
    def layout(self, sizes: dict[str, tuple[float, float]], wrap_after: int,
               column_gap: float = COLUMN_GAP) -> dict[str, Pos]:
        """id → centre for every node; a folded group's nodes all at its box's centre."""
        doc = self.scene.model.doc
        view, key = folded_view(doc)
        if view is doc:
            return layered_positions(doc, sizes, wrap_after=wrap_after, column_gap=column_gap)
        try:
            placed = layered_positions(view, {**sizes, **self.box_sizes()},
                                       wrap_after=wrap_after, column_gap=column_gap)
        except GraphError:  # a cycle through a folded group: lay out the nodes themselves
            return layered_positions(doc, sizes, wrap_after=wrap_after, column_gap=column_gap)
        self.box_pos = {name: placed[BOX_KEY + name] for name in self.boxes
                        if BOX_KEY + name in placed}
        return {node_id: placed[key[node_id]] for node_id in doc.nodes}

    def box_sizes(self) -> dict[str, tuple[float, float]]:
        """Each box's (width, height), under its id in the layout's stand-in document."""
        return {BOX_KEY + name: (box.rect().width(), box.rect().height())
                for name, box in self.boxes.items()}

    # -- items ----------------------------------------------------------
    def apply(self) -> None:
        """Boxes for folded groups, frames for unfolded ones, members and wires to match."""
        scene, doc = self.scene, self.scene.model.doc
        self.node_group = {node_id: name for node_id, name in folded_groups(doc).items()
                           if node_id in scene.nodes}
        folded = set(self.node_group.values())
        unfolded = {node.group for node in doc.nodes.values()
                    if node.group in doc.groups and node.group not in folded}
        for name in [n for n in self.boxes if n not in folded]:
            remove_from_scene(self.boxes.pop(name))
        for name in [n for n in self.frames if n not in unfolded]:
            remove_from_scene(self.frames.pop(name))
        fields = fields_of(doc, scene.report) if folded else {}
        for name in folded:
            summary = summarise(doc, scene.report, name, fields)
            box = self.boxes.get(name)
            if box is None:
                box = self.boxes[name] = GroupBox(summary)
                scene.addItem(box)
                box.setPos(*self._box_centre(name, summary.members))
            else:
                box.set_summary(summary)
        for name in unfolded:
            if name not in self.frames:
                self.frames[name] = GroupFrame(name)
                scene.addItem(self.frames[name])
        for node_id, item in scene.nodes.items():
            item.setVisible(node_id not in self.node_group)
        self._attach_wires()
        self.fit_frames()

    def place_boxes(self) -> None:
        """Put every box where the layout (or its first node's own pos) says."""
        doc = self.scene.model.doc
        for name, box in self.boxes.items():
            box.setPos(*self._box_centre(name, doc.group_members(name)))

    def _box_centre(self, name: str, members: list[str]) -> Pos:
        nodes = self.scene.model.doc.nodes
        placed = [nodes[m].pos for m in members if nodes[m].pos is not None]
        if placed:
            return placed[0]
        if name in self.box_pos:
            return self.box_pos[name]
        first = self.scene.nodes[members[0]].pos()
        return first.x(), first.y()

    def _attach_wires(self) -> None:
        drawn: set[tuple[object, object, int]] = set()
        for wire in self.scene.wires.values():
            src_group = self.node_group.get(wire.src.node_id)
            dst_group = self.node_group.get(wire.dst.node_id)
            if src_group is not None and src_group == dst_group:
                wire.attach(None, None)
                wire.setVisible(False)
                continue
            src_end = self.boxes.get(src_group) if src_group else None
            dst_end = self.boxes.get(dst_group) if dst_group else None
            port = 0
            if dst_end is not None and wire.src.node_id in dst_end.summary.sources:
                port = dst_end.summary.sources.index(wire.src.node_id)
            wire.attach(src_end, dst_end, port)
            # One wire per source and box port: a block reads its input twice (its
            # convolution and its shortcut), its box shows it once.
            seen = (src_end or wire.src, dst_end, port) if dst_end is not None else None
            wire.setVisible(seen is None or seen not in drawn)
            if seen is not None:
                drawn.add(seen)

    def fit_frames(self) -> None:
        doc, nodes = self.scene.model.doc, self.scene.nodes
        for name, frame in self.frames.items():
            frame.fit([nodes[m].mapRectToScene(nodes[m].rect())
                       for m in doc.group_members(name) if m in nodes])

    # -- step-through ---------------------------------------------------
    def show_step(self, active: str | None, done, phase: str | None) -> None:
        doc = self.scene.model.doc
        for name, box in self.boxes.items():
            members = doc.group_members(name)
            if active in members:
                box.set_step("active", phase, active)
            elif members and all(m in done for m in members):
                box.set_step("done", phase, None)
            else:
                box.set_step(None, None, None)

    def clear_step(self) -> None:
        for box in self.boxes.values():
            box.set_step(None, None, None)

    def shown_item(self, node_id: str):
        """The item that shows `node_id`: its folded group's box, or its own NodeItem."""
        group = self.node_group.get(node_id)
        return self.boxes[group] if group in self.boxes else self.scene.nodes.get(node_id)

    def selected_group(self) -> str | None:
        """The group of the selected box, or of the first selected node."""
        for name, box in self.boxes.items():
            if box.isSelected():
                return name
        doc = self.scene.model.doc
        for node_id in self.scene.selected_node_ids():
            group = doc.group_of(node_id)
            if group is not None:
                return group.name
        return None
