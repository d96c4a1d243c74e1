"""The main window's menus, their actions and shortcuts, and the recent-files list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from bpviz.scene.theme import THEMES, current_theme
from bpviz.ui.action_names import STABLE_NAME
from bpviz.ui.app import settings
from bpviz.ui.appearance import set_theme

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

MAX_RECENT = 8
RECENT_KEY = "files/recent"


# -- recent files ----------------------------------------------------------------
def recent_files() -> list[str]:
    value = settings().value(RECENT_KEY, [])
    if isinstance(value, str):  # an ini file gives back a one-item list as a string
        value = [value]
    return [str(path) for path in (value or [])][:MAX_RECENT]


def add_recent(path: str) -> None:
    path = str(Path(path).resolve())
    paths = [path] + [p for p in recent_files() if p != path]
    settings().setValue(RECENT_KEY, paths[:MAX_RECENT])


def clear_recent() -> None:
    settings().setValue(RECENT_KEY, [])


# -- examples --------------------------------------------------------------------
def examples() -> list[tuple[Path, str, str]]:
    """(file, title, description) of every bundled example, by name (file stem)."""
    from bpviz.graph.examples import EXAMPLES

    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        title = data.get("name") if isinstance(data.get("name"), str) else ""
        description = data.get("description")
        found.append((path, title or path.stem,
                      description if isinstance(description, str) else ""))
    return sorted(found, key=lambda entry: entry[0].stem.lower())


# -- building --------------------------------------------------------------------
def action(window: MainWindow, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    """A window-wide action (its shortcut works with the menu bar hidden too)."""
    act = QAction(text, window)
    if shortcut is not None:
        shortcuts = shortcut if isinstance(shortcut, list) else [shortcut]
        act.setShortcuts([QKeySequence(s) for s in shortcuts])
    if tip:
        act.setStatusTip(tip)
    act.triggered.connect(lambda _checked=False: slot())
    window.addAction(act)
    return act


def build_menus(window: MainWindow) -> dict[str, QAction]:
    """Fill the window's menu bar; returns the actions by name."""
    acts: dict[str, QAction] = {}
    _file_menu(window, acts)
    _edit_menu(window, acts)
    _view_menu(window, acts)
    help_menu = window.menuBar().addMenu("&Help")
    acts["shortcuts"] = action(window, "&Keyboard Shortcuts", lambda: window.help.shortcuts(),
                               "F1", "every shortcut of the window")
    acts["tour"] = action(window, "Quick &Tour", lambda: window.help.tour(),
                          tip="where to drag, what F10 does, where the formula and tensors "
                              "appear, how to export")
    acts["notation"] = action(window, "Lecture &Notation", lambda: window.help.notation(),
                              tip="the lecture's symbols, and each op's step in them")
    acts["about"] = action(window, "&About bpviz", window.show_about)
    help_menu.addActions([acts["shortcuts"], acts["tour"], acts["notation"]])
    help_menu.addSeparator()
    help_menu.addAction(acts["about"])
    return acts


def _file_menu(window: MainWindow, acts: dict[str, QAction]) -> None:
    menu = window.menuBar().addMenu("&File")
    acts["new"] = action(window, "&New", window.new_graph, QKeySequence.StandardKey.New)
    acts["open"] = action(window, "&Open…", window.open_dialog, QKeySequence.StandardKey.Open)
    menu.addActions([acts["new"], acts["open"]])
    window.recent_menu = menu.addMenu("Open &Recent")
    window.recent_menu.aboutToShow.connect(lambda: fill_recent(window))
    fill_recent(window)
    window.examples_menu = menu.addMenu("&Examples")
    window.examples_menu.setToolTipsVisible(True)
    fill_examples(window)
    menu.addSeparator()
    acts["save"] = action(window, "&Save", window.save, QKeySequence.StandardKey.Save)
    acts["save_as"] = action(window, "Save &As…", window.save_as, "Ctrl+Shift+S")
    menu.addActions([acts["save"], acts["save_as"]])
    menu.addSeparator()
    _file_extras(window, acts, menu)
    menu.addSeparator()
    acts["quit"] = action(window, "&Quit", window.close, "Ctrl+Q")
    menu.addAction(acts["quit"])


def _file_extras(window: MainWindow, acts: dict[str, QAction], menu) -> None:
    """Export, PyTorch and weights (their owners are made after the menus)."""
    acts["export"] = action(window, "E&xport…", lambda: window.files.export_dialog(), "Ctrl+E",
                            "the graph, the pass or the training curves for slides and papers")
    acts["import_torch"] = action(window, "&Import from PyTorch…",
                                  lambda: window.files.import_torch(),
                                  tip="a torch nn.Module from a .py file, with its weights")
    acts["export_torch"] = action(window, "Export to &PyTorch…",
                                  lambda: window.files.export_torch(),
                                  tip="model.py with an equivalent nn.Module, and the weights")
    acts["load_weights"] = action(window, "&Load Weights…", lambda: window.weights.load_dialog(),
                                  tip="weights (.npz) for step-through and to start training")
    acts["save_weights"] = action(window, "Save &Weights…", lambda: window.weights.save_dialog(),
                                  tip="the weights step-through shows, as .npz")
    menu.addAction(acts["export"])
    menu.addSeparator()
    menu.addActions([acts["import_torch"], acts["export_torch"]])
    menu.addSeparator()
    acts["initial_weights"] = action(window, "Use &Initial Weights",
                                     lambda: window.weights.use_initial(),
                                     tip="forget trained, loaded or imported weights: "
                                         "the step bar's seed gives them")
    menu.addActions([acts["load_weights"], acts["save_weights"], acts["initial_weights"]])


def fill_recent(window: MainWindow) -> None:
    menu = window.recent_menu
    menu.clear()
    paths = recent_files()
    for number, path in enumerate(paths, start=1):
        act = menu.addAction(f"&{number} {Path(path).name}")
        act.setStatusTip(path)
        act.setEnabled(Path(path).is_file())
        act.triggered.connect(lambda _checked=False, p=path: window.open_file(p))
    if paths:
        menu.addSeparator()
        menu.addAction("Clear list", clear_recent)
    else:
        menu.addAction("(no recent files)").setEnabled(False)


def example_label(path: Path, title: str) -> str:
    """"digits_cnn — small CNN for 8×8 digits": the example's name as README,
    the commands and the window title give it (its file's stem), then its title."""
    return f"{path.stem} — {title}" if title and title != path.stem else path.stem


def fill_examples(window: MainWindow) -> None:
    for path, title, description in examples():
        act = window.examples_menu.addAction(example_label(path, title))
        tip = description or path.name
        act.setToolTip(tip)
        act.setStatusTip(tip)
        act.triggered.connect(lambda _checked=False, p=str(path): window.open_file(p))


def _edit_menu(window: MainWindow, acts: dict[str, QAction]) -> None:
    menu = window.menuBar().addMenu("&Edit")
    stack = window.editor.undo_stack
    acts["undo"] = stack.createUndoAction(window, "&Undo")
    acts["undo"].setShortcut(QKeySequence("Ctrl+Z"))
    acts["redo"] = stack.createRedoAction(window, "&Redo")
    acts["redo"].setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    acts["undo"].setProperty(STABLE_NAME, "Undo")  # its text names the command to undo
    acts["redo"].setProperty(STABLE_NAME, "Redo")
    window.addActions([acts["undo"], acts["redo"]])
    menu.addActions([acts["undo"], acts["redo"]])
    menu.addSeparator()
    acts["copy"] = action(window, "&Copy", window.copy_selection, QKeySequence.StandardKey.Copy)
    acts["paste"] = action(window, "&Paste", window.paste, QKeySequence.StandardKey.Paste)
    acts["delete"] = action(window, "&Delete", window.delete_selection,
                            QKeySequence.StandardKey.Delete)
    acts["select_all"] = action(window, "Select &All", window.select_all,
                                QKeySequence.StandardKey.SelectAll)
    menu.addActions([acts["copy"], acts["paste"], acts["delete"], acts["select_all"]])
    menu.addSeparator()
    acts["arrange"] = action(window, "A&rrange", window.editor.arrange, "Ctrl+L",
                             "lay the graph out left to right")
    menu.addAction(acts["arrange"])


def _view_menu(window: MainWindow, acts: dict[str, QAction]) -> None:
    menu = window.menuBar().addMenu("&View")
    view = window.view
    acts["zoom_fit"] = action(window, "Zoom to &Fit", view.zoom_to_fit, "Ctrl+0")
    acts["zoom_in"] = action(window, "Zoom &In", view.zoom_in, ["Ctrl++", "Ctrl+="])
    acts["zoom_out"] = action(window, "Zoom &Out", view.zoom_out, "Ctrl+-")
    menu.addActions([acts["zoom_fit"], acts["zoom_in"], acts["zoom_out"]])
    menu.addSeparator()
    theme_menu = menu.addMenu("&Theme")
    group = QActionGroup(window)
    for name in THEMES:
        act = theme_menu.addAction(name.capitalize())
        act.setCheckable(True)
        act.setChecked(name == current_theme().name)
        act.triggered.connect(lambda _checked=False, n=name: set_theme(n))
        group.addAction(act)
        acts[f"theme_{name}"] = act
    acts["presentation"] = action(window, "&Presentation Mode", window.toggle_presentation,
                                  "F11", "large fonts, full screen, no menus (F11 or Esc)")
    acts["presentation"].setCheckable(True)
    acts["leave_presentation"] = action(window, "Leave Presentation Mode",
                                        lambda: window.set_presentation(False), "Esc")
    acts["leave_presentation"].setEnabled(False)
    menu.addAction(acts["presentation"])
    menu.addSeparator()
    window.panels_menu = menu.addMenu("&Panels")
