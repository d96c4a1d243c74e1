"""A PyTorch training script for an exported graph: `bpviz export-torch --train-script`.

The script (bpviz.oracle.train_template) trains the module export-torch
writes as `bpviz train` trains the graph, on one process or many with
torchrun, and saves bpviz weight files. It imports the model file by its
name from its folder, found relative to the script's own folder.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path
from string import Template

from bpviz.data.prep import LOSSES
from bpviz.engine import OPS
from bpviz.graph import GraphDocument, validate
from bpviz.oracle.interop import InteropError
from bpviz.oracle.train_template import TEMPLATE

__all__ = ["training_facts", "train_script"]

WHO = "the training script"
Ends = tuple[list[str], list[str], list[str]]


def training_facts(document: GraphDocument, ends: Ends) -> dict[str, object]:
    """What the script must know of the graph's ends: its input, loss and outputs.

    ends: the exported module's (input ids, ids of what forward returns, loss
    ids), as bpviz.oracle.exporter.interface gives them.

    InteropError, in bpviz train's words, unless the graph has one input and
    one loss that classes can feed (LOSSES) reading a flat [K] output.
    """
    report = validate(document)
    inputs, outputs, losses = ends
    for what, ids in (("input", inputs), ("loss", losses)):
        if len(ids) != 1:
            raise InteropError(f"{WHO} needs a graph with one {what} node, this one has "
                               f"{len(ids)}")
    loss = document.nodes[losses[0]]
    if loss.op not in LOSSES:
        raise InteropError(f"{WHO} feeds class labels to the loss, which a '{loss.op}' loss "
                           f"cannot take (use one of {', '.join(LOSSES)})")
    pred_id = loss.inputs[0]
    shape = report.shapes[pred_id]
    if len(shape) != 1:
        raise InteropError(f"the loss '{loss.id}' reads '{pred_id}', shaped {list(shape)}: "
                           f"{WHO} needs one score per class, a flat [K] output")
    assert OPS[loss.op].is_loss and outputs[0] == pred_id  # the exporter returns it first
    return {"input_id": inputs[0], "input_shape": tuple(report.shapes[inputs[0]]),
            "loss_id": loss.id, "loss_op": loss.op, "outputs": shape[0],
            "tuple_output": len(outputs) > 1}


def _module_name(model_path: Path, script_path: Path) -> str:
    name = model_path.stem
    if model_path.suffix != ".py" or not name.isidentifier():
        raise InteropError(f"the training script imports {model_path.name}: name it "
                           f"<a Python name>.py, e.g. model.py")
    if name in sys.stdlib_module_names or name in ("torch", "numpy") \
            or name == script_path.stem:
        raise InteropError(f"the training script imports {model_path.name}, whose name "
                           f"hides the module '{name}': call it e.g. model.py")
    return name


def train_script(document: GraphDocument, class_name: str, ends: Ends,
                 model_path: str | os.PathLike, script_path: str | os.PathLike,
                 source: str = "") -> str:
    """The source of the training script for `document`'s module `class_name`, written
    to `model_path`, when the script goes to `script_path` (InteropError if the graph
    cannot be trained on class labels or the file names do not work); `ends` as in
    training_facts."""
    facts = training_facts(document, ends)
    model_path, script_path = Path(model_path).absolute(), Path(script_path).absolute()
    module = _module_name(model_path, script_path)
    try:
        folder = os.path.relpath(model_path.parent, script_path.parent)
    except ValueError:  # another drive
        folder = str(model_path.parent)
    stem = Path(source).stem if source else module
    title, graph = _plain(document.name or stem), _plain(source or "a bpviz graph")
    intro = "\n".join([
        *wrap(f"Train {title} with PyTorch: on a GPU when there is one, across GPUs and "
              "machines with torchrun."), "",
        *wrap(f"Written by bpviz export-torch from {graph}. It trains {class_name} (in "
              f"{_plain(model_path.name)}) as `bpviz train` does: the same data files, "
              "split, standardisation, batch order, optimizers and defaults, and the same "
              "metrics.csv; the weights come back into bpviz (`bpviz check "
              f"{graph} --weights DIR/weights.npz`, or File > Load Weights).")])
    values = {"intro": intro, "cls": class_name, "script": _plain(script_path.name),
              "model_dir": repr(folder), "model_module": module, "graph_stem": repr(stem),
              **{key: repr(value) for key, value in facts.items()}}
    return Template(TEMPLATE).substitute(values)


def wrap(text: str) -> list[str]:
    return textwrap.wrap(text, 79, break_on_hyphens=False) or [""]


def _plain(text: str) -> str:
    """`text` as it may stand in the script's raw docstring."""
    return text.replace('"', "'").replace("\\", "/")
