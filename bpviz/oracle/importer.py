"""From a torch nn.Module to a bpviz graph and its weights, through torch.fx.

`import_torch("models.py:make_model", (1, 28, 28))` loads the source (a .py
file or a dotted module name), calls the factory, traces the module with
torch.fx and converts every fx node with the import handlers of the ops'
torch rules (bpviz.oracle.rules). The result is a validated GraphDocument and the
weights in bpviz's layout ('<node id>/<param>', float64), ready for
bpviz.graph.weights. A module with no loss gives a graph with no loss node.

Node ids come from fx: a layer's module path ('layer1.0.conv1' becomes
'layer1_0_conv1'), or the fx node's name for a function ('add', 'cat_1'),
with every character other than letters, digits and '_' replaced by '_', and a
suffix _1, _2, … where needed to keep them unique. Flattening the [C, 1, 1]
output of nn.AdaptiveAvgPool2d(1) adds no node (bpviz's global average pooling
is already flat); neither do nn.Identity and x.contiguous(). `a + b + c` becomes
one add node with three inputs. A module called twice becomes two nodes, each
with its own copy of the weights (bpviz does not share weights between nodes).
Nodes are grouped by the module they come from (bpviz.oracle.import_groups:
'layer1.0.conv1' joins the group "layer1.0").

Anything else raises InteropError naming the module or function, the fx node
and, when known, the module and the source line that called it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import fx, nn

from bpviz.atomic import atomic_write
from bpviz.engine.shape_text import shape_text
from bpviz.graph import GraphDocument, GraphError, save_graph, validate
from bpviz.oracle import import_groups
from bpviz.oracle.interop import Context, InteropError, TensorValue, sanitise_id
from bpviz.oracle.rules import handlers, supported_text

__all__ = ["ImportedModel", "InteropError", "import_module", "import_torch", "load_factory",
           "save_import"]


@dataclass
class ImportedModel:
    """document: the graph; weights: '<node>/<param>' → float64 array; outputs: the ids of
    the nodes forward returns, in order (their shapes may differ from torch's only by
    trailing 1×1 axes after global average pooling)."""

    document: GraphDocument
    weights: dict[str, np.ndarray]
    outputs: list[str] = field(default_factory=list)


# -- loading the factory -----------------------------------------------------------
def _load_source(source: str) -> Any:
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_file():
            raise InteropError(f"{source} does not exist")
        name = f"bpviz_import_{sanitise_id(path.stem)}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InteropError(f"cannot load {source} as Python code")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        _run(lambda: spec.loader.exec_module(module), f"running {source}")
        return module
    added = os.getcwd() not in sys.path
    if added:
        sys.path.insert(0, os.getcwd())
    try:
        return _run(lambda: importlib.import_module(source), f"importing {source}")
    finally:
        if added:
            sys.path.remove(os.getcwd())


def _run(action: Callable[[], Any], what: str) -> Any:
    try:
        return action()
    except SyntaxError as error:
        raise InteropError(f"{what} failed: syntax error at line {error.lineno}: "
                           f"{error.msg}") from None
    except Exception as error:  # the user's code: report it in one line
        raise InteropError(f"{what} failed: {type(error).__name__}: {error}") from None


def load_factory(spec: str) -> Callable[[], Any]:
    """The callable FACTORY in SOURCE, from 'SOURCE:FACTORY'."""
    source, sep, name = spec.rpartition(":")
    if not sep or not source or not name:
        raise InteropError(f"expected SOURCE:FACTORY, e.g. models.py:make_model or "
                           f"mypackage.nets:Net, got {spec!r}")
    module = _load_source(source)
    factory: Any = module
    for part in name.split("."):
        if not hasattr(factory, part):
            raise InteropError(f"{source} has no '{name}'")
        factory = getattr(factory, part)
    if not callable(factory):
        raise InteropError(f"{source}:{name} is not callable: it must return an nn.Module")
    return factory


def _build(factory: Callable[[], Any], spec: str) -> nn.Module:
    model = _run(factory, f"calling {spec}")
    if not isinstance(model, nn.Module):
        raise InteropError(f"{spec} returned {type(model).__name__}, not a torch nn.Module")
    return model


# -- tracing and converting ------------------------------------------------------
def _trace(model: nn.Module) -> fx.Graph:
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        return tracer.trace(model)
    except Exception as error:
        raise InteropError(f"torch.fx cannot trace {type(model).__name__}: "
                           f"{type(error).__name__}: {error} (bpviz imports models whose "
                           "forward is a fixed sequence of layers)") from None


def _function_name(target: Any) -> str:
    name = getattr(target, "__name__", None)
    for prefix, namespace in (("torch", torch), ("F", torch.nn.functional),
                              ("operator", __import__("operator"))):
        if name and getattr(namespace, name, None) is target:
            return f"{prefix}.{name}"
    return repr(target)


def _apply(ctx: Context, rule: Any, label: str, args: tuple, kwargs: dict) -> Any:
    try:
        inspect.signature(rule).bind(ctx, *args, **kwargs)
    except TypeError as error:
        raise ctx.fail(f"{label} is called with arguments bpviz does not know ({error})") from None
    return rule(ctx, *args, **kwargs)


def _call(ctx: Context, node: fx.Node, args: tuple, kwargs: dict) -> Any:
    modules, functions, methods = handlers()
    if node.op == "call_module":
        module = ctx.root.get_submodule(node.target)
        label = f"{type(module).__module__}.{type(module).__name__} module '{node.target}'"
        rule = modules.get(type(module))
        args = (module, *args)
    elif node.op == "call_function":
        label = _function_name(node.target)
        try:
            rule = functions.get(node.target)
        except TypeError:  # an unhashable target
            rule = None
    else:
        label = f"the tensor method .{node.target}()"
        rule = methods.get(node.target)
    if rule is None:
        raise ctx.fail(f"{label} is not supported by bpviz import-torch",
                       f"It supports {supported_text()}")
    return _apply(ctx, rule, label, args, kwargs)


def _convert_node(ctx: Context, node: fx.Node, env: dict, input_shape: tuple[int, ...]) -> Any:
    if node.op == "placeholder":
        if node.args:  # an argument with a default value: a constant
            return node.args[0]
        if any(v for v in env.values() if isinstance(v, TensorValue)):
            raise ctx.fail("forward takes more than one tensor; bpviz import-torch feeds one "
                           "input of the shape given by --input-shape")
        return ctx.add("input", [], {"shape": list(input_shape)})
    if node.op == "get_attr":
        raise ctx.fail(f"forward reads 'self.{node.target}' directly",
                       f"bpviz imports layers called as modules and the functions it knows: "
                       f"{supported_text()}")
    args = fx.node.map_arg(node.args, env.__getitem__)
    kwargs = fx.node.map_arg(node.kwargs, env.__getitem__)
    return _call(ctx, node, tuple(args), dict(kwargs))


def _outputs(ctx: Context, value: Any) -> list[str]:
    if isinstance(value, TensorValue):
        return [value.node]
    if isinstance(value, (tuple, list)):
        return [node for item in value for node in _outputs(ctx, item)]
    if isinstance(value, dict):
        return [node for item in value.values() for node in _outputs(ctx, item)]
    raise ctx.fail(f"forward returns {value!r}; bpviz needs it to return tensors")


def _check_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    if len(shape) not in (1, 3) or not all(isinstance(d, int) and d >= 1 for d in shape):
        raise InteropError(f"the input shape must be C H W (an image) or F (features), each "
                           f"at least 1, got {' '.join(map(str, shape)) or 'nothing'}")
    return shape


def import_module(model: nn.Module, input_shape: Sequence[int], name: str = "",
                  source: str = "") -> ImportedModel:
    """Trace `model` for samples of `input_shape` (C, H, W) or (F,) and convert it."""
    shape = _check_input_shape(input_shape)
    graph = _trace(model)
    cls = type(model).__name__
    described = source or cls
    description = (f"Imported from {described} by bpviz import-torch: {cls}.forward traced "
                   f"with torch.fx for samples of shape {shape_text(shape)}.")
    ctx = Context(model, (name or f"{cls} (imported from torch)")[:200], description)
    env: dict[fx.Node, Any] = {}
    outputs: list[str] = []
    for node in graph.nodes:
        ctx.fx_node = node
        if node.op == "output":
            outputs = _outputs(ctx, fx.node.map_arg(node.args[0], env.__getitem__))
        else:
            before = set(ctx.doc.nodes)
            env[node] = _convert_node(ctx, node, env, shape)
            import_groups.assign(ctx.doc, [i for i in ctx.doc.nodes if i not in before], node)
    ctx.fx_node = None
    try:
        validate(ctx.doc)
    except GraphError as error:
        raise InteropError(f"the imported graph is not valid: {error}") from None
    return ImportedModel(ctx.doc, ctx.weights, outputs)


def import_torch(spec: str, input_shape: Sequence[int]) -> ImportedModel:
    """Load 'SOURCE:FACTORY', call it and import the module it returns."""
    shape = _check_input_shape(input_shape)
    model = _build(load_factory(spec), spec)
    return import_module(model, shape, source=spec)


def save_import(result: ImportedModel, graph_path: str | os.PathLike,
                weights_path: str | os.PathLike | None = None) -> None:
    """Write the graph file and, when asked, the weights (.npz, never pickled)."""
    save_graph(result.document, graph_path)
    if weights_path is not None:
        tensors = dict(sorted(result.weights.items()))
        atomic_write(weights_path, lambda handle: np.savez(handle, **tensors))
