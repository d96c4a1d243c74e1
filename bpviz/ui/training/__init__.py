"""Live training in the window: the Training panel and its Train menu.

`install(window, workspace)` puts a TrainingPanel (dock.py) on the window's
workspace in a bottom dock (with its toggle in View › Panels), adds a Train
menu before Help (Train Ctrl+T, Pause/Resume, Stop Ctrl+Shift+T; enabled as
the workspace's training state allows) and sends the panel's messages to
the status bar. When a run starts the panel comes to the front of its tab
group and gets the room its plots need (bpviz.ui.dock_room.give_room).
Training itself runs in a process of its own (job.py, worker.py), which
imports nothing from Qt: this file imports Qt only inside install().
"""

from __future__ import annotations


def install(window, workspace):
    """Add the training panel to a MainWindow; returns the QDockWidget (its
    widget() is the panel)."""
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QMenu

    from bpviz.ui.dock_room import give_room
    from bpviz.ui.menus import action
    from bpviz.ui.training.dock import TrainingPanel
    from bpviz.ui.workspace_link import observe

    panel = TrainingPanel(window.editor, workspace=workspace)
    dock = window.add_dock("Training", panel, Qt.DockWidgetArea.BottomDockWidgetArea)
    panel.message.connect(window.show_message)
    acts = {
        "train": action(window, "&Train", panel.start, "Ctrl+T",
                        "train a copy of the graph on the chosen dataset"),
        "train_pause": action(window, "&Pause / Resume", panel.toggle_pause),
        "train_stop": action(window, "&Stop", panel.stop, "Ctrl+Shift+T"),
    }
    help_menu = next((a for a in window.menuBar().actions() if a.text() == "&Help"), None)
    menu = QMenu("&Train", window.menuBar())
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu, menu)
    else:
        window.menuBar().addMenu(menu)
    menu.addActions(list(acts.values()))
    observe(workspace, menu, lambda event, payload: event == "training_state"
            and _enable(acts, payload["state"]))
    was = [workspace.training.state]

    def started(event: str, payload: dict) -> None:
        if event != "training_state":
            return
        if was[0] == "idle" and payload["state"] != "idle":
            QTimer.singleShot(0, lambda: give_room(window, dock, panel.wanted_size))
        was[0] = payload["state"]

    observe(workspace, dock, started)
    _enable(acts, workspace.training.state)
    window.actions_.update(acts)
    return dock


def _enable(acts, state: str) -> None:
    acts["train"].setEnabled(state == "idle")
    acts["train_pause"].setEnabled(state != "idle")
    acts["train_stop"].setEnabled(state != "idle")
