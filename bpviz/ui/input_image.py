"""File › Use Image as Input… and Use the Batch as It Is, for the main window.

InputImageFiles asks for a picture (PNG, JPEG, anything Pillow reads), reads
it and hands it to the workspace (bpviz.workspace.input_image: how it is
resized and scaled to the graph's input, and what is said about it): the
next pass runs with it as sample 0 of the batch, and the step bar says so.
A file that is not a picture, or a graph whose input cannot take one, gets a
message naming the file and why; nothing changes then. A new document
forgets the picture (the workspace's rule). The file dialog is
`ask_image_path`, replaced in tests; errors go to the window's `show_error`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog

from bpviz.ui import templates
from bpviz.ui.workspace_link import observe
from bpviz.workspace import Workspace
from bpviz.workspace.input_image import read_image

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

IMAGE_FILTER = "Pictures (*.png *.jpg *.jpeg *.bmp *.gif *.webp);;All files (*)"


class InputImageFiles(QObject):
    def __init__(self, window: MainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window, self.workspace = window, workspace
        self.use_action = QAction("Use Image as &Input…", window)
        self.use_action.setObjectName("use_image_action")
        self.use_action.setStatusTip("run the pass on a picture (PNG, JPEG): it becomes "
                                     "sample 0 of the batch, resized to the input")
        self.use_action.triggered.connect(lambda: self.choose())
        self.forget_action = QAction("Forget the Input Image", window)
        self.forget_action.setObjectName("forget_image_action")
        self.forget_action.setStatusTip("run the pass on the batch as it is again")
        self.forget_action.triggered.connect(lambda: self.forget())
        window.addActions([self.use_action, self.forget_action])
        self._put_in_file_menu()
        observe(workspace, self, self._workspace_event)
        self._refresh()

    def _put_in_file_menu(self) -> None:
        """After Use Initial Weights (the end of the weights' group), else at the end."""
        file_menu = next((act.menu() for act in self.window.menuBar().actions()
                          if act.text().replace("&", "") == "File"), None)
        if file_menu is None:
            return
        acts = file_menu.actions()
        after = next((i for i, act in enumerate(acts)
                      if act.text().replace("&", "") == "Use Initial Weights"), None)
        before = acts[after + 1] if after is not None and after + 1 < len(acts) else None
        if before is None:
            file_menu.addActions([self.use_action, self.forget_action])
        else:
            file_menu.insertActions(before, [self.use_action, self.forget_action])

    def ask_image_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Use image as input",
                                              templates.user_folder(), IMAGE_FILTER)
        return path or None

    def choose(self) -> bool:
        path = self.ask_image_path()
        return bool(path) and self.use(path)

    def use(self, path: str) -> bool:
        """Run the passes on the picture in `path`; False (the reason shown) if not."""
        try:
            self.workspace.set_input_image(read_image(path))
        except ValueError as error:
            self.window.show_error("Cannot use the image as input", str(error))
            return False
        self.window.show_message(f"the pass runs on {path} as sample 0 of the batch "
                                 "(F10 builds it)")
        return True

    def forget(self) -> None:
        if self.workspace.input_image is not None:
            self.workspace.set_input_image(None)
            self.window.show_message("the pass runs on the batch as it is")

    def _workspace_event(self, event: str, _payload: dict) -> None:
        if event in ("input_image_changed", "document_replaced"):
            self._refresh()

    def _refresh(self) -> None:
        self.forget_action.setEnabled(self.workspace.input_image is not None)
