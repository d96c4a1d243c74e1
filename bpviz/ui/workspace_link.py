"""The window's side of the workspace: the editor reports into it, widgets observe it.

`follow_editor(workspace, editor)` tells the workspace of every document the
editor opens and of every new shape report. `observe(workspace, owner,
callback)` subscribes `callback` to the workspace's events for as long as the
QObject `owner` lives (a deleted widget is never called).
"""

from __future__ import annotations

from bpviz.workspace import Workspace


def follow_editor(workspace: Workspace, editor) -> None:
    """Keep `workspace`'s document and report those of `editor` (a GraphEditor)."""
    if workspace.doc is not editor.doc:
        workspace.set_document(editor.doc, editor.report)
    editor.document_replaced.connect(lambda: workspace.set_document(editor.doc, editor.report))
    editor.report_changed.connect(workspace.set_report)


def observe(workspace: Workspace, owner, callback) -> None:
    """Call `callback(event, payload)` on each of `workspace`'s events while `owner` lives."""
    unsubscribe = workspace.subscribe(callback)
    owner.destroyed.connect(lambda *_: unsubscribe())
