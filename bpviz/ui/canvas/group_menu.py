"""The canvas's group commands: group the selection, rename, fold or unfold, ungroup.

They act on the group of the box or node under the mouse (context menu) or
of the selection (shortcuts: Ctrl+G groups the selected nodes, Ctrl+Shift+G
ungroups, Ctrl+. folds or unfolds). Grouping, renaming and ungrouping are
undoable edits; folding is a view, like zooming: no undo step, and the graph
is not marked changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QInputDialog, QMenu

from bpviz.scene.group_item import GroupBox, GroupFrame
from bpviz.scene.node_item import NodeItem
from bpviz.ui.editor import EditError

if TYPE_CHECKING:
    from bpviz.ui.canvas.view import GraphView

SHORTCUTS = {"group": "Ctrl+G", "ungroup": "Ctrl+Shift+G", "fold": "Ctrl+."}


class GroupCommands:
    def __init__(self, view: GraphView) -> None:
        self.view = view
        self.actions: dict[str, QAction] = {}
        for key, text, slot in (("group", "Group selected nodes", self.group_selection),
                                ("ungroup", "Ungroup", lambda: self.ungroup()),
                                ("fold", "Fold or unfold group", lambda: self.toggle())):
            action = QAction(text, view)
            action.setShortcut(QKeySequence(SHORTCUTS[key]))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.triggered.connect(slot)
            view.addAction(action)
            self.actions[key] = action

    @property
    def editor(self):
        return self.view.editor

    def _report(self, exc: EditError) -> None:
        self.view.status_message.emit(str(exc))

    def current_group(self) -> str | None:
        return self.view.graph_scene.folding.selected_group()

    def group_selection(self) -> str | None:
        try:
            return self.editor.group_nodes(self.view.graph_scene.selected_node_ids())
        except EditError as exc:
            self._report(exc)
            return None

    def ungroup(self, name: str | None = None) -> None:
        name = name or self.current_group()
        if name is not None:
            self.editor.ungroup(name)

    def toggle(self, name: str | None = None) -> None:
        name = name or self.current_group()
        group = self.editor.doc.groups.get(name) if name else None
        if group is not None:
            self.editor.set_group_folded(name, not group.folded)

    def rename(self, name: str) -> None:
        new, ok = QInputDialog.getText(self.view, "Rename group", "Group name:", text=name)
        if ok:
            try:
                self.editor.rename_group(name, new.strip())
            except EditError as exc:
                self._report(exc)

    def menu_at(self, scene_pos) -> QMenu | None:
        """The context menu for the group item or node at `scene_pos` (None: nothing there)."""
        name = None
        for item in self.view.graph_scene.items(scene_pos):
            if isinstance(item, (GroupBox, GroupFrame)):
                name = item.name
                break
            if isinstance(item, NodeItem):
                group = self.editor.doc.group_of(item.node_id)
                name = group.name if group is not None else None
                break
        selected = self.view.graph_scene.selected_node_ids()
        if name is None and not selected:
            return None
        menu = QMenu(self.view)
        if selected:
            menu.addAction(self.actions["group"])
        if name is not None:
            folded = self.editor.doc.groups[name].folded
            menu.addAction(f"{'Unfold' if folded else 'Fold'} '{name}'",
                           lambda: self.toggle(name)).setShortcut(SHORTCUTS["fold"])
            menu.addAction(f"Rename '{name}'…", lambda: self.rename(name))
            menu.addAction(f"Ungroup '{name}'",
                           lambda: self.ungroup(name)).setShortcut(SHORTCUTS["ungroup"])
        return menu
