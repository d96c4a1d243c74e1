"""What the import handlers share, and the calls that belong to no op.

A handler takes the Context and the call's arguments (fx nodes already
replaced by their values, see bpviz.oracle.interop), with torch's own
parameter names, and returns the call's value: usually the TensorValue of the
node it added. A handler refuses what it cannot carry over exactly, with
`raise ctx.fail(message)`. Each op's handlers live in its torch rule
(bpviz.oracle.rules); here are the helpers they share and the handlers of
calls that add no node (sizes, attributes, nn.Identity, x.contiguous()).
"""

from __future__ import annotations

import math
import operator
from typing import Any

from torch import nn

from bpviz.engine.shape_text import batch_text
from bpviz.oracle.interop import BATCH, Context, TensorValue


# -- helpers -------------------------------------------------------------------
def pair_param(value: Any) -> int | list[int]:
    """A torch int-or-tuple size as a bpviz pair parameter: one int when h == w."""
    if isinstance(value, (tuple, list)):
        h, w = (int(value[0]), int(value[0])) if len(value) == 1 else (int(value[0]),
                                                                        int(value[1]))
        return h if h == w else [h, w]
    return int(value)


def int_pair(value: Any) -> tuple[int, int]:
    """A torch int-or-tuple size as (h, w)."""
    value = pair_param(value)
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def axis(dim: Any, value: TensorValue) -> int | None:
    """A torch dim of the batch-first tensor as a non-negative axis, or None."""
    ndim = 1 + len(value.shape)
    if not isinstance(dim, int) or isinstance(dim, bool) or not -ndim <= dim < ndim:
        return None
    return dim + ndim if dim < 0 else dim


def image(ctx: Context, value: Any, what: str) -> TensorValue:
    """`value` as an image batch [N, C, H, W], or a refusal naming `what` needs one."""
    x = ctx.tensor(value)
    if len(x.shape) != 3:
        raise ctx.fail(f"{what} needs an image batch [N, C, H, W], got {batch_text(x.shape)}")
    return x


def trainable(module: nn.Module) -> bool:
    params = list(module.parameters(recurse=False))
    return not params or any(p.requires_grad for p in params)


def same_as_floor(ctx: Context, x: TensorValue, kernel, stride, padding) -> bool:
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


# -- calls that add no node ----------------------------------------------------------
def full_size(value: TensorValue) -> tuple:
    return (BATCH, *value.shape)


def _size(ctx, input, dim=None):
    if dim is None:
        return full_size(input)
    found = axis(dim, input)
    if found is None:
        raise ctx.fail(f"size({dim!r}) of a {batch_text(input.shape)} tensor")
    return full_size(input)[found]


def _getattr(ctx, obj, name, *default):
    if isinstance(obj, TensorValue) and name == "shape":
        return full_size(obj)
    if isinstance(obj, TensorValue) and name == "ndim":
        return 1 + len(obj.shape)
    raise ctx.fail(f"reading '.{name}' of a tensor is not supported (only .shape)")


def _getitem(ctx, obj, index):
    if isinstance(obj, TensorValue):
        raise ctx.fail("indexing or slicing a tensor is not supported")
    return obj[index]


FUNCTION_RULES: dict[Any, Any] = {getattr: _getattr, operator.getitem: _getitem}

METHOD_RULES: dict[str, Any] = {
    "size": _size, "contiguous": lambda ctx, input: input,
    "dim": lambda ctx, input: 1 + len(input.shape),
}

MODULE_RULES: dict[type, Any] = {
    nn.Identity: lambda ctx, m, input, *args, **kwargs: input,
}
SUPPORTED = "nn.Identity"
