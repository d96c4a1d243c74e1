"""From a bpviz graph to the Python source of an equivalent torch nn.Module.

The generated file needs only numpy and torch. It holds one class with a
named submodule per layer (nn.Linear, nn.Conv2d, nn.BatchNorm2d/1d, nn.ReLU,
…, named after the node ids), a forward that computes the nodes in
topological order with every shape in a comment, a `loss(output, target)`
method for the graph's loss nodes (forward never includes them), and:

* BPVIZ_KEYS: bpviz weight key '<node id>/<param>' → state_dict key
  '<attribute>.<param>' (the attribute is the node id, made a valid Python
  name where needed: 'conv-1' → 'conv_1', 'eval' → 'eval_');
* load_bpviz_weights(model, path): reads a bpviz weights file with
  allow_pickle=False and copies every tensor into the model;
* save_bpviz_weights(model, path): the reverse, for bpviz to read.

forward returns the inputs of the loss nodes, then every other sink, in graph
order (a single tensor when there is one). Each node's module, or the
expression written for it where there is none (add as `a + b`, concat as
`torch.cat([...], dim=1)`, global average pooling as `x.mean((2, 3))`), and
each loss's call come from its op's torch rule (bpviz.oracle.rules); bpviz
import-torch reads all of them back.
"""

from __future__ import annotations

import keyword
import os
import re
import textwrap

from torch import nn

from bpviz.atomic import atomic_write
from bpviz.engine import OPS
from bpviz.engine.op import check_hypers
from bpviz.engine.shape_text import batch_text
from bpviz.graph import GraphDocument, GraphError, build_network, validate
from bpviz.graph.document import NodeData
from bpviz.graph.weights import load_weights
from bpviz.oracle.interop import InteropError
from bpviz.oracle.rules import rule_for

__all__ = ["InteropError", "export_torch", "interface", "write_export"]

RESERVED = {"self", "torch", "nn", "F", "np", "output", "target", "targets", "loss",
            "BPVIZ_KEYS", "load_bpviz_weights", "save_bpviz_weights"}


def identifiers(doc: GraphDocument) -> dict[str, str]:
    """node id → a Python name for its attribute and local variable, unique."""
    names: dict[str, str] = {}
    for node_id in doc.nodes:
        base = re.sub(r"\W", "_", node_id, flags=re.ASCII) or "node"
        if base[0].isdigit():
            base = f"n_{base}"
        if keyword.iskeyword(base) or base in RESERVED or hasattr(nn.Module, base):
            base += "_"
        name, count = base, 0
        while name in names.values():
            count += 1
            name = f"{base}_{count}"
        names[node_id] = name
    return names


def module_code(node: NodeData, in_shape: tuple[int, ...]) -> str | None:
    """The nn module constructor of a node, or None when forward writes an expression."""
    return rule_for(node.op).module(node.params, in_shape)


def _expression(node: NodeData, names: dict[str, str]) -> str:
    args = [names[src] for src in node.inputs]
    expression = rule_for(node.op).expression(args)
    return expression or f"self.{names[node.id]}({', '.join(args)})"


def _class_name(doc: GraphDocument) -> str:
    words = re.findall(r"[A-Za-z0-9]+", doc.name.replace("×", "x"), flags=re.ASCII)
    name = "".join(word[:1].upper() + word[1:] for word in words)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = f"Graph{name}"
    return name[:60]


def interface(document: GraphDocument) -> tuple[list[str], list[str], list[str]]:
    """(input ids, ids of what forward returns, loss ids) of the exported module, in order."""
    writer = _Writer(document)
    return writer.inputs, writer.outputs, writer.losses


class _Writer:
    """The pieces of the generated file for one validated document."""

    def __init__(self, doc: GraphDocument) -> None:
        self.doc = doc
        self.report = validate(doc)
        self.order = self.report.order
        self.names = identifiers(doc)
        self.losses = [i for i in self.order if OPS[doc.nodes[i].op].is_loss]
        consumers = doc.consumers()
        loss_inputs = list(dict.fromkeys(doc.nodes[i].inputs[0] for i in self.losses))
        sinks = [i for i in self.order if not consumers[i] and i not in self.losses]
        self.outputs = loss_inputs + [i for i in sinks if i not in loss_inputs]
        self.inputs = [i for i in self.order if doc.nodes[i].op == "input"]

    def in_shape(self, node_id: str) -> tuple[int, ...]:
        return self.report.shapes[self.doc.nodes[node_id].inputs[0]]

    def init_lines(self) -> list[str]:
        lines = []
        for node_id in self.order:
            node = self.doc.nodes[node_id]
            if node.op == "input" or OPS[node.op].is_loss:
                continue
            code = module_code(node, self.in_shape(node_id))
            if code is not None:
                lines.append(f"self.{self.names[node_id]} = {code}")
                if not node.trainable and self.report.param_counts[node_id]:
                    lines.append(f"self.{self.names[node_id]}.requires_grad_(False)"
                                 "  # frozen in bpviz")
        return lines or ["pass"]

    def forward_lines(self) -> list[str]:
        lines = []
        for node_id in self.order:
            node = self.doc.nodes[node_id]
            shape = batch_text(self.report.shapes[node_id])
            if node.op == "input":
                lines.append(f"# {self.names[node_id]}: {shape}")
            elif not OPS[node.op].is_loss:
                lines.append(f"{self.names[node_id]} = {_expression(node, self.names)}"
                             f"  # {node.op}: {shape}")
        outputs = ", ".join(self.names[i] for i in self.outputs)
        return [*lines, f"return {outputs}"]

    def loss_lines(self) -> list[str]:
        if not self.losses:
            return []
        several = len(self.losses) > 1
        tuple_out = len(self.outputs) > 1
        body = []
        for k, loss_id in enumerate(self.losses):
            node = self.doc.nodes[loss_id]
            index = self.outputs.index(node.inputs[0])
            prediction = f"output[{index}]" if tuple_out else "output"
            target = f"targets[{k}]" if several else "target"
            reduction = repr(check_hypers(OPS[node.op], node.params)["reduction"])
            body += [f"# {node.op} '{loss_id}' on {node.inputs[0]}",
                     f"{'L =' if k == 0 else 'L = L +'} "
                     + rule_for(node.op).loss_code(prediction, target, reduction)]
        argument = "targets" if several else "target"
        doc = (f"L, the sum of the graph's {len(self.losses)} loss nodes (targets in their "
               "order)" if several else f"L, the graph's loss node '{self.losses[0]}'")
        return ["", f"def loss(self, output, {argument}):",
                *wrap(f'"""{doc}, as bpviz computes it; output is what forward returns."""',
                      "    "),
                *[f"    {line}" for line in body], "    return L"]

    def weight_keys(self) -> list[tuple[str, str]]:
        keys = []
        for node_id in self.order:
            node = self.doc.nodes[node_id]
            op = OPS[node.op](**node.params)
            in_shapes = [self.report.shapes[s] for s in node.inputs]
            for name in [*op.param_shapes(in_shapes), *op.buffer_shapes(in_shapes)]:
                keys.append((f"{node_id}/{name}", f"{self.names[node_id]}.{name}"))
        return keys


def _docstring_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


WEIGHT_FUNCTIONS = '''

def load_bpviz_weights(model: nn.Module, path: str) -> None:
    """Copy a bpviz weights file (.npz, keys '<node id>/<param>') into `model`."""
    state = model.state_dict()
    with np.load(path, allow_pickle=False) as archive:
        missing = sorted(set(BPVIZ_KEYS) - set(archive.files))
        unknown = sorted(set(archive.files) - set(BPVIZ_KEYS))
        if missing or unknown:
            raise ValueError(f"{path} does not fit this model: missing {missing}, "
                             f"unknown {unknown}")
        values = {key: torch.from_numpy(archive[key]) for key in BPVIZ_KEYS}
    for key, name in BPVIZ_KEYS.items():
        if values[key].shape != state[name].shape:
            raise ValueError(f"{path}: '{key}' has shape {list(values[key].shape)}, "
                             f"'{name}' needs {list(state[name].shape)}")
    with torch.no_grad():
        for key, name in BPVIZ_KEYS.items():
            state[name].copy_(values[key])


def save_bpviz_weights(model: nn.Module, path: str) -> None:
    """Write the model's parameters and buffers as a bpviz weights file (float64)."""
    state = model.state_dict()
    np.savez(path, **{key: state[name].detach().cpu().double().numpy()
                      for key, name in BPVIZ_KEYS.items()})
'''


def _header(writer: _Writer, cls: str, weights_path: str | None, source: str) -> list[str]:
    doc = writer.doc
    inputs = ", ".join(writer.names[i] for i in writer.inputs)
    shapes = "; ".join(f"{writer.names[i]}: {batch_text(writer.report.shapes[i])}"
                       for i in writer.inputs)
    usage = [f"    model = {cls}()",
             f"    load_bpviz_weights(model, {str(weights_path or 'weights.npz')!r})",
             "    model.eval()  # or model.train(): batchnorm and dropout as in bpviz",
             f"    output = model({inputs})  # {shapes}"]
    if writer.losses:
        targets = "targets" if len(writer.losses) > 1 else "target"
        usage.append(f"    L = model.loss(output, {targets})")
    origin = f" from {source}" if source else ""
    lines = ['"""' + _docstring_text(doc.name or "A bpviz graph") + ": a PyTorch module", ""]
    if doc.description:
        lines += [*wrap(_docstring_text(doc.description)), ""]
    lines += [f"Written by bpviz export-torch{origin}. Usage:", "", *usage, '"""', "",
              "import numpy as np", "import torch"]
    if writer.losses:
        lines.append("import torch.nn.functional as F")
    lines += ["from torch import nn", "", "# bpviz weight key '<node id>/<param>' → this "
              "module's state_dict key", "BPVIZ_KEYS = {"]
    lines += [f"    {key!r}: {name!r}," for key, name in writer.weight_keys()]
    return [*lines, "}"]


def export_torch(document: GraphDocument, weights_path: str | None = None,
                 source: str = "") -> str:
    """The Python source of an nn.Module computing `document` (GraphError if invalid)."""
    writer = _Writer(document)
    cls = _class_name(document)
    inputs = ", ".join(writer.names[i] for i in writer.inputs)
    lines = _header(writer, cls, weights_path, source)
    lines += ["", "", f"class {cls}(nn.Module):",
              *wrap(f'"""{_docstring_text(document.name or cls)}, as bpviz computes it."""',
                    "    "), "",
              "    def __init__(self):", "        super().__init__()",
              *[f"        {line}" for line in writer.init_lines()], "",
              f"    def forward(self, {inputs}):",
              *[f"        {line}" for line in writer.forward_lines()],
              *[f"    {line}" if line else "" for line in writer.loss_lines()], ""]
    return "\n".join(lines) + WEIGHT_FUNCTIONS


def write_export(document: GraphDocument, out_path: str | os.PathLike,
                 weights_path: str | os.PathLike | None = None, source: str = "",
                 train_script_path: str | os.PathLike | None = None) -> str:
    """Write the module source to `out_path`; returns the class name.

    With `weights_path`, the weights file is first checked against the graph
    (WeightsError when it does not fit). With `train_script_path`, a PyTorch
    training script for the module is written there too (bpviz.oracle.train_script);
    nothing is written when either cannot be.
    """
    from bpviz.oracle.train_script import train_script

    try:
        if weights_path is not None:
            load_weights(build_network(document), weights_path)
        text = export_torch(document, None if weights_path is None else str(weights_path),
                            source)
        script = None if train_script_path is None else train_script(
            document, _class_name(document), interface(document), out_path,
            train_script_path, source)
    except GraphError as error:
        raise InteropError(f"cannot export the graph: {error}") from None
    atomic_write(out_path, lambda handle: handle.write(text.encode("utf-8")))
    if script is not None:
        atomic_write(train_script_path, lambda handle: handle.write(script.encode("utf-8")))
    return _class_name(document)


def wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, 88, initial_indent=indent, subsequent_indent=indent) or [indent]
