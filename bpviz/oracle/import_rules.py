"""How each torch module, function and tensor method becomes a bpviz node.

Every rule takes the Context and the call's arguments (fx nodes already
replaced by their values, see bpviz.oracle.interop), with torch's own
parameter names, and returns the call's value: usually the TensorValue of the
node it added. A rule refuses what it cannot carry over exactly, with
`raise ctx.fail(message)`.
"""

from __future__ import annotations

import math
import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from bpviz.oracle.interop import BATCH, Context, TensorValue


# -- helpers -------------------------------------------------------------------
def pair_param(value: Any) -> int | list[int]:
    """A torch int-or-tuple size as a bpviz pair parameter: one int when h == w."""
    if isinstance(value, (tuple, list)):
        h, w = (int(value[0]), int(value[0])) if len(value) == 1 else (int(value[0]),
                                                                        int(value[1]))
        return h if h == w else [h, w]
    return int(value)


def _pair(value: Any) -> tuple[int, int]:
    value = pair_param(value)
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(["N", *map(str, shape)])


def _axis(dim: Any, value: TensorValue) -> int | None:
    """A torch dim of the batch-first tensor as a non-negative axis, or None."""
    ndim = 1 + len(value.shape)
    if not isinstance(dim, int) or isinstance(dim, bool) or not -ndim <= dim < ndim:
        return None
    return dim + ndim if dim < 0 else dim


def _image(ctx: Context, value: Any, what: str) -> TensorValue:
    x = ctx.tensor(value)
    if len(x.shape) != 3:
        raise ctx.fail(f"{what} needs an image batch [N, C, H, W], got [{_dims(x.shape)}]")
    return x


def _trainable(module: nn.Module) -> bool:
    params = list(module.parameters(recurse=False))
    return not params or any(p.requires_grad for p in params)


def _non_default(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k not in defaults or v != defaults[k]}


def _same_as_floor(ctx: Context, x: TensorValue, kernel, stride, padding) -> bool:
    """True when ceil_mode=True gives the same output size as floor mode (torch's rule)."""
    for size, k, s, p in zip(x.shape[1:], kernel, stride, padding):
        span = size + 2 * p - k
        floor_out = span // s + 1
        ceil_out = math.ceil(span / s) + 1
        if (ceil_out - 1) * s >= size + p:
            ceil_out -= 1
        if ceil_out != floor_out:
            return False
    return True


# -- pooling -------------------------------------------------------------------
def _pool(ctx: Context, op: str, value, kernel_size, stride, padding, dilation=1,
          ceil_mode=False) -> TensorValue:
    x = _image(ctx, value, op)
    kernel = _pair(kernel_size)
    strides = kernel if stride is None or stride == () else _pair(stride)
    pads = _pair(padding)
    if _pair(dilation) != (1, 1):
        raise ctx.fail(f"{op} with dilation {pair_param(dilation)} is not supported: "
                       "bpviz pools without dilation")
    if ceil_mode and not _same_as_floor(ctx, x, kernel, strides, pads):
        raise ctx.fail(f"{op} with ceil_mode=True gives a larger output here than bpviz, "
                       "which rounds down (ceil_mode=False)")
    params = {"kernel": pair_param(kernel)}
    if strides != kernel:
        params["stride"] = pair_param(strides)
    if pads != (0, 0):
        params["padding"] = pair_param(pads)
    return ctx.add(op, [x], params)


def _max_pool(ctx, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              return_indices=False):
    if return_indices:
        raise ctx.fail("max pooling with return_indices=True is not supported")
    return _pool(ctx, "maxpool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_pool(ctx, input, kernel_size, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True, divisor_override=None):
    if divisor_override is not None:
        raise ctx.fail("average pooling with divisor_override is not supported")
    if not count_include_pad and _pair(padding) != (0, 0):
        raise ctx.fail("average pooling with count_include_pad=False and padding is not "
                       "supported: bpviz counts the padded zeros in the average")
    return _pool(ctx, "avgpool2d", input, kernel_size, stride, padding, 1, ceil_mode)


def _global_pool(ctx: Context, value, keepdim: bool) -> TensorValue:
    x = _image(ctx, value, "global average pooling")
    return ctx.add("global_avgpool", [x], torch_shape=(x.shape[0], 1, 1) if keepdim else None)


def _adaptive_avg_pool(ctx, input, output_size):
    if pair_param(output_size) != 1:
        raise ctx.fail(f"adaptive average pooling to {output_size!r} is not supported: only "
                       "to 1 (global average pooling)")
    return _global_pool(ctx, input, keepdim=True)


def _mean(ctx, input, dim=None, keepdim=False, dtype=None):
    x = ctx.tensor(input)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if len(x.shape) != 3 or dtype is not None or {_axis(d, x) for d in dims} != {2, 3}:
        raise ctx.fail(f"mean over {dim!r}: bpviz supports only the mean over the spatial "
                       "axes (2, 3) of an image batch (global average pooling)")
    return _global_pool(ctx, x, keepdim)


# -- shapes: flatten, view, size -------------------------------------------------
def _as_flat(ctx: Context, value: TensorValue) -> TensorValue:
    if value.shape != ctx.bpviz_shape(value):  # global pooling's [C, 1, 1]: flat in bpviz
        return TensorValue(value.node, ctx.bpviz_shape(value))
    return ctx.add("flatten", [value])


def _flatten(ctx, input, start_dim=0, end_dim=-1):
    if not isinstance(input, TensorValue):
        raise ctx.fail(f"flatten of {input!r}: expected a tensor")
    if _axis(start_dim, input) != 1 or _axis(end_dim, input) != len(input.shape):
        raise ctx.fail(f"flatten(start_dim={start_dim}, end_dim={end_dim}) is not supported: "
                       "bpviz flattens every axis but the batch axis (start_dim=1, end_dim=-1)")
    return _as_flat(ctx, input)


def _reshape(ctx, input, *shape):
    if not isinstance(input, TensorValue):
        raise ctx.fail(f"view/reshape of {input!r}: expected a tensor")
    sizes = list(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else list(
        shape)
    numel = math.prod(input.shape)
    if sizes and (sizes[0] is BATCH or sizes[0] == -1):
        rest = sizes[1:]
        if rest in ([-1], [numel]) and not (sizes[0] == -1 and rest == [-1]):
            return _as_flat(ctx, input)
        if sizes[0] is BATCH and tuple(rest) == input.shape:
            return input
    shown = ", ".join("N" if s is BATCH else str(s) for s in sizes)
    raise ctx.fail(f"view/reshape of [{_dims(input.shape)}] to [{shown}] is not supported: "
                   "bpviz can only flatten each sample, as x.view(x.size(0), -1)")


def _full_size(value: TensorValue) -> tuple:
    return (BATCH, *value.shape)


def _size(ctx, input, dim=None):
    if dim is None:
        return _full_size(input)
    axis = _axis(dim, input)
    if axis is None:
        raise ctx.fail(f"size({dim!r}) of a [{_dims(input.shape)}] tensor")
    return _full_size(input)[axis]


def _getattr(ctx, obj, name, *default):
    if isinstance(obj, TensorValue) and name == "shape":
        return _full_size(obj)
    if isinstance(obj, TensorValue) and name == "ndim":
        return 1 + len(obj.shape)
    raise ctx.fail(f"reading '.{name}' of a tensor is not supported (only .shape)")


def _getitem(ctx, obj, index):
    if isinstance(obj, TensorValue):
        raise ctx.fail("indexing or slicing a tensor is not supported")
    return obj[index]


# -- merges and activations ---------------------------------------------------
def _add(ctx, input, other, alpha=1):
    if not (isinstance(input, TensorValue) and isinstance(other, TensorValue)):
        raise ctx.fail("adding a constant is not supported: bpviz's add sums tensors "
                       "(a residual connection)")
    if alpha != 1:
        raise ctx.fail(f"torch.add with alpha={alpha!r} is not supported")
    first, second = ctx.tensor(input), ctx.tensor(other)
    origin = ctx.origin.get(first.node)
    if (ctx.doc.nodes[first.node].op == "add" and origin is not None and len(origin.users) == 1
            and first.shape == second.shape):
        # a + b + c: the partial sum is used nowhere else, so one add node takes all three
        ctx.doc.nodes[first.node].inputs.append(second.node)
        return first
    return ctx.add("add", [first, second])


def _cat(ctx, tensors, dim=0):
    values = [ctx.tensor(t, "each concatenated input") for t in tensors]
    if not values or any(_axis(dim, v) != 1 for v in values):
        raise ctx.fail(f"torch.cat along dim={dim!r} is not supported: bpviz concatenates "
                       "along the channel axis, dim=1")
    return values[0] if len(values) == 1 else ctx.add("concat", values)


def _softmax_of(ctx, value, dim, dtype=None):
    x = ctx.tensor(value)
    if _axis(dim, x) != 1 or dtype is not None:
        raise ctx.fail(f"softmax over dim={dim!r} is not supported: bpviz's softmax is over "
                       "dim=1")
    return ctx.add("softmax", [x])


def _pointwise(op: str):
    def rule(ctx, input, *args, **kwargs):
        return ctx.add(op, [ctx.tensor(input)])

    return rule


def _leaky(ctx, input, negative_slope=0.01, inplace=False):
    params = {} if negative_slope == 0.01 else {"slope": float(negative_slope)}
    return ctx.add("leaky_relu", [ctx.tensor(input)], params)


def _softmax_fn(ctx, input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_of(ctx, input, dim, dtype)


def _dropout_fn(ctx, input, p=0.5, training=True, inplace=False):
    raise ctx.fail("F.dropout in forward is not supported (its training flag is fixed when "
                   "tracing): use an nn.Dropout module")


FUNCTION_RULES: dict[Any, Any] = {
    F.relu: _pointwise("relu"), torch.relu: _pointwise("relu"),
    torch.sigmoid: _pointwise("sigmoid"), F.sigmoid: _pointwise("sigmoid"),
    torch.tanh: _pointwise("tanh"), F.tanh: _pointwise("tanh"),
    F.leaky_relu: _leaky, F.softmax: _softmax_fn, torch.softmax: _softmax_fn,
    F.max_pool2d: _max_pool, torch.max_pool2d: _max_pool, F.avg_pool2d: _avg_pool,
    F.adaptive_avg_pool2d: _adaptive_avg_pool, torch.mean: _mean,
    torch.flatten: _flatten, operator.add: _add, operator.iadd: _add, torch.add: _add,
    torch.cat: _cat, torch.concat: _cat, getattr: _getattr, operator.getitem: _getitem,
    F.dropout: _dropout_fn,
}

METHOD_RULES: dict[str, Any] = {
    "relu": _pointwise("relu"), "sigmoid": _pointwise("sigmoid"), "tanh": _pointwise("tanh"),
    "softmax": _softmax_fn, "view": _reshape, "reshape": _reshape,
    "flatten": _flatten,
    "mean": _mean, "size": _size, "add": _add, "contiguous": lambda ctx, input: input,
    "dim": lambda ctx, input: 1 + len(input.shape),
}


# -- modules -------------------------------------------------------------------
def _linear(ctx, m: nn.Linear, input):
    x = ctx.tensor(input)
    if len(x.shape) != 1:
        raise ctx.fail(f"nn.Linear on a [{_dims(x.shape)}] tensor is not supported: bpviz's "
                       "dense layer takes flat inputs [N, features]; flatten first")
    if m.in_features != x.shape[0]:
        raise ctx.fail(f"nn.Linear expects {m.in_features} features, its input has {x.shape[0]}")
    params = _non_default({"units": m.out_features, "bias": m.bias is not None}, {"bias": True})
    return ctx.add("dense", [x], params, {"weight": m.weight, "bias": m.bias}, _trainable(m))


def _conv_padding(ctx, m: nn.Conv2d) -> tuple[int, int]:
    if not isinstance(m.padding, str):
        return _pair(m.padding)
    if m.padding == "valid":
        return 0, 0
    spans = [d * (k - 1) for k, d in zip(m.kernel_size, m.dilation)]  # 'same'
    if any(span % 2 for span in spans):
        raise ctx.fail("nn.Conv2d with padding='same' and an even kernel pads one side more "
                       "than the other, which bpviz cannot do")
    return spans[0] // 2, spans[1] // 2


def _conv2d(ctx, m: nn.Conv2d, input):
    x = _image(ctx, input, "nn.Conv2d")
    if m.groups != 1 or m.padding_mode != "zeros":
        raise ctx.fail(f"nn.Conv2d with groups={m.groups} and padding_mode='{m.padding_mode}' "
                       "is not supported: bpviz convolves with groups=1 and zero padding")
    if m.in_channels != x.shape[0]:
        raise ctx.fail(f"nn.Conv2d expects {m.in_channels} channels, its input has {x.shape[0]}")
    params = {"out_channels": m.out_channels, "kernel": pair_param(m.kernel_size),
              "stride": pair_param(m.stride), "padding": pair_param(_conv_padding(ctx, m)),
              "dilation": pair_param(m.dilation), "bias": m.bias is not None}
    params = _non_default(params, {"stride": 1, "padding": 0, "dilation": 1, "bias": True})
    return ctx.add("conv2d", [x], params, {"weight": m.weight, "bias": m.bias}, _trainable(m))


def _batchnorm(ctx, m: nn.modules.batchnorm._BatchNorm, input):
    x = ctx.tensor(input)
    axes = 3 if isinstance(m, nn.BatchNorm2d) else 1
    name = type(m).__name__
    if len(x.shape) != axes:
        raise ctx.fail(f"{name} on a [{_dims(x.shape)}] tensor is not supported")
    if not m.affine or not m.track_running_stats or m.momentum is None:
        raise ctx.fail(f"{name} needs affine=True, track_running_stats=True and a momentum "
                       "(not None) to match bpviz's batchnorm")
    if m.num_features != x.shape[0]:
        raise ctx.fail(f"{name} expects {m.num_features} channels, its input has {x.shape[0]}")
    params = _non_default({"eps": float(m.eps), "momentum": float(m.momentum)},
                          {"eps": 1e-5, "momentum": 0.1})
    tensors = {"weight": m.weight, "bias": m.bias, "running_mean": m.running_mean,
               "running_var": m.running_var}
    return ctx.add("batchnorm", [x], params, tensors, _trainable(m))


def _dropout(ctx, m: nn.Dropout, input):
    return ctx.add("dropout", [ctx.tensor(input)], _non_default({"p": float(m.p)}, {"p": 0.5}))


MODULE_RULES: dict[type, Any] = {
    nn.Linear: _linear, nn.Conv2d: _conv2d, nn.BatchNorm2d: _batchnorm,
    nn.BatchNorm1d: _batchnorm, nn.Dropout: _dropout,
    nn.MaxPool2d: lambda ctx, m, input: _max_pool(
        ctx, input, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode,
        m.return_indices),
    nn.AvgPool2d: lambda ctx, m, input: _avg_pool(
        ctx, input, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
        m.divisor_override),
    nn.AdaptiveAvgPool2d: lambda ctx, m, input: _adaptive_avg_pool(ctx, input, m.output_size),
    nn.ReLU: lambda ctx, m, input: ctx.add("relu", [ctx.tensor(input)]),
    nn.Sigmoid: lambda ctx, m, input: ctx.add("sigmoid", [ctx.tensor(input)]),
    nn.Tanh: lambda ctx, m, input: ctx.add("tanh", [ctx.tensor(input)]),
    nn.LeakyReLU: lambda ctx, m, input: _leaky(ctx, input, m.negative_slope),
    nn.Softmax: lambda ctx, m, input: _softmax_of(ctx, input, m.dim),
    nn.Flatten: lambda ctx, m, input: _flatten(ctx, input, m.start_dim, m.end_dim),
    nn.Identity: lambda ctx, m, input, *args, **kwargs: input,
}
