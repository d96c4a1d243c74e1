"""`bpviz snapshot`: a PNG of the app's window showing a graph, made without a screen.

Renders offscreen when there is no display (QT_QPA_PLATFORM=offscreen); the
window is never shown on a screen. Useful for documentation and bug reports.
With --step, the pass is built and moved through the window's workspace
(bpviz.workspace), which the window's panels show.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from bpviz.cli.common import CliError, add_graph_argument
from bpviz.display import use_offscreen_without_display

MIN_SIDE, MAX_SIDE = 320, 8000


def window_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 1600x1000, got {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise argparse.ArgumentTypeError(
            f"each side must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {width}x{height}")
    return width, height


def add_parser(commands) -> None:
    parser = commands.add_parser("snapshot", help="a PNG of the window showing a graph",
                                 description=__doc__.splitlines()[0])
    add_graph_argument(parser)
    parser.add_argument("--out", required=True, metavar="window.png", help="the PNG to write")
    parser.add_argument("--size", type=window_size, default=(1600, 1000), metavar="WxH",
                        help="window size in pixels (default: 1600x1000)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--select", metavar="NODE",
                        help="select this node, so the inspector shows it")
    parser.add_argument("--step", type=int, metavar="K",
                        help="step through a pass of a random batch and show its K-th step "
                             "(from 1) of --phase")
    parser.add_argument("--phase", choices=("forward", "backward"), default="forward",
                        help="the pass --step counts in (default: forward)")
    parser.set_defaults(run=run)


def check_out(text: str) -> Path:
    out = Path(text)
    if out.suffix.lower() != ".png":
        raise CliError(f"--out must name a .png file, got {text}")
    if not out.parent.is_dir():
        raise CliError(f"the folder {out.parent} does not exist")
    return out


def run(args: argparse.Namespace) -> int:
    from bpviz.graph import load_graph

    out = check_out(args.out)
    if not Path(args.graph).is_file():
        raise CliError(f"graph file {args.graph} does not exist")
    document = load_graph(args.graph, strict=False)  # a half-edited graph shows its errors
    if args.select is not None and args.select not in document.nodes:
        raise CliError(f"--select: there is no node '{args.select}' in {args.graph}")
    use_offscreen_without_display()
    try:
        image = render_window(document, args.graph, args.size, args.theme, args.select,
                              step=(args.phase, args.step) if args.step is not None else None)
    except ImportError as error:
        raise CliError(f"the snapshot needs Qt (PySide6), which failed to load: {error}") from None
    if not image.save(str(out), "PNG"):
        raise CliError(f"cannot write {out}")
    print(f"wrote {out} ({image.width()}×{image.height()})")
    return 0


def render_window(document, path: str, size: tuple[int, int], theme: str,
                  select: str | None, step: tuple[str, int] | None = None):
    """The window's picture (a QImage) at `size`, with `document` open (and, with
    `step` = (phase, K), showing the K-th step of that phase of a pass)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from bpviz.scene.theme import theme_manager
    from bpviz.ui.app import application
    from bpviz.ui.main_window import MainWindow

    app = application()
    theme_manager().set_theme(theme)
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.editor.set_document(document, path)
    window.resize(*size)
    window.show()
    for _ in range(3):
        QApplication.processEvents()
    try:
        if step is not None:
            build_pass(window)
            window.resize(*size)  # the docks that appeared may have widened it
            QApplication.processEvents()
        window.view.zoom_to_fit()
        if step is not None:
            show_step(window, *step)  # after the zoom: the node comes into view
    except CliError:
        window.editor.undo_stack.setClean()
        window.close()
        raise
    if select is not None:
        window.editor.set_selection([select])
    QApplication.processEvents()
    image = window.grab().toImage()
    window.editor.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()
    return image


def build_pass(window) -> None:
    """Build the workspace's pass on this thread, with no dots moving along the
    wires (CliError if it cannot be built)."""
    from PySide6.QtWidgets import QApplication

    window.stepping.set_animate(False)
    why = window.workspace.build_pass()
    if why is not None:
        raise CliError(f"--step: {why}")
    for _ in range(3):
        QApplication.processEvents()


def show_step(window, phase: str, number: int) -> None:
    """Move the workspace's pass to step `number` of `phase` (CliError if none)."""
    from PySide6.QtWidgets import QApplication

    try:
        window.workspace.seek_step(phase, number)
    except IndexError as error:
        raise CliError(f"--step: {error}") from None
    for _ in range(3):
        QApplication.processEvents()
