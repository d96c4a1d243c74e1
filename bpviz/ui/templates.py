"""Where the window's files come from and go: bundled examples and the user's folder.

The examples bundled with bpviz (bpviz.graph.examples.EXAMPLES, wherever bpviz is
installed) open as templates: Save asks for a new file, and every save dialog
(graph, weights, exports) starts in the user's own folder, never in the
package, whose files must stay as shipped (and may not be writable).
"""

from __future__ import annotations

from pathlib import Path

from bpviz.graph import examples
from bpviz.ui import menus


def examples_folder() -> Path:
    return Path(examples.EXAMPLES).resolve()


def is_example(path: str | Path | None) -> bool:
    """True for a file in the bundled examples folder."""
    if not path:
        return False
    try:
        return Path(path).resolve().parent == examples_folder()
    except OSError:
        return False


def example_weights(path: str | Path) -> Path | None:
    """The weights shipped beside an example ("<name>.npz"), if there are any."""
    weights = Path(path).with_suffix(".npz")
    return weights if is_example(path) and weights.is_file() else None


def _in_package(folder: Path) -> bool:
    package = examples_folder()
    try:
        resolved = folder.resolve()
    except OSError:
        return True
    return resolved == package or package in resolved.parents


def user_folder() -> str:
    """The folder of the newest recent file outside the package, else Documents
    (or the home folder when there is none)."""
    for recent in menus.recent_files():
        folder = Path(recent).parent
        if folder.is_dir() and not _in_package(folder):
            return str(folder)
    documents = Path.home() / "Documents"
    return str(documents if documents.is_dir() else Path.home())


def save_folder(path: str | None) -> str:
    """Where to offer saving something that belongs to the graph at `path`: its
    folder, or the user's folder for an example or a graph not saved yet."""
    if path and not is_example(path):
        return str(Path(path).parent)
    return user_folder()


def training_misfit(doc, report, dataset: str) -> str | None:
    """Why `dataset` cannot train `doc` (the data loader's message), or None when it
    can, or when the graph cannot be trained as it stands anyway."""
    from bpviz.data import DataError
    from bpviz.data.fit import load_for_input
    from bpviz.data.prep import check_fits
    from bpviz.engine import OPS

    inputs = [node for node in doc.nodes.values() if node.op == "input"]
    losses = [node for node in doc.nodes.values() if node.op in OPS and OPS[node.op].is_loss]
    if len(inputs) != 1 or len(losses) != 1 or not losses[0].inputs or report.errors:
        return None
    input_shape = report.shapes.get(inputs[0].id)
    scores = report.shapes.get(losses[0].inputs[0])
    if not input_shape or not scores or len(scores) != 1:
        return None
    try:
        data = load_for_input(dataset, tuple(input_shape), seed=0)
        check_fits(data, tuple(input_shape), scores[0], losses[0].op, inputs[0].id)
    except (DataError, OSError, ValueError) as error:
        return str(error)
    return None


def open_example(window, path: str | Path) -> str:
    """After opening the example at `path`: load the weights shipped beside it, and
    say whether the Training panel's dataset can train it. The status message."""
    path = Path(path)
    message = f"opened the example {path.stem} (Save asks for a file of your own)"
    weights = example_weights(path)
    if weights is not None and window.weights.load(str(weights), quiet=True):
        message = f"opened the example {path.stem} with its weights ({weights.name})"
    dataset = window.workspace.training.config.dataset
    misfit = training_misfit(window.editor.doc, window.editor.report, dataset)
    if misfit:
        message += (f" · the Training panel's {dataset} does not fit it: "
                    f"its description says which data does")
    return message
