"""Op specs for conv2d, pooling and global average pooling."""

from __future__ import annotations

import numpy as np

from tests.engine.op_specs import OpSpec


def _conv(xs, params, hp):
    import torch.nn.functional as F
    return F.conv2d(xs[0], params["weight"], params.get("bias"), stride=hp.get("stride", 1),
                    padding=hp.get("padding", 0), dilation=hp.get("dilation", 1))


def _maxpool(xs, params, hp):
    import torch.nn.functional as F
    return F.max_pool2d(xs[0], hp["kernel"], hp.get("stride"), hp.get("padding", 0))


def _avgpool(xs, params, hp):
    import torch.nn.functional as F
    return F.avg_pool2d(xs[0], hp["kernel"], hp.get("stride"), hp.get("padding", 0))


def _global_avgpool(xs, params, hp):
    import torch.nn.functional as F
    return F.adaptive_avg_pool2d(xs[0], 1).flatten(1)


def _integers(shape, high):
    """Small integer-valued floats: many ties inside every pooling window."""
    return lambda rng: [rng.integers(0, high, shape).astype(np.float64)]


def _constant(shape):
    return lambda rng: [np.full(shape, 0.5)]


def _conv_spec(id, hp, shape, **kw):
    return OpSpec(id, "conv2d", hp, [shape], _conv, **kw)


def _max_spec(id, hp, shape, **kw):
    return OpSpec(id, "maxpool2d", hp, [shape], _maxpool, **kw)


def _avg_spec(id, hp, shape, **kw):
    return OpSpec(id, "avgpool2d", hp, [shape], _avgpool, **kw)


CONV_SPECS: list[OpSpec] = [
    _conv_spec("conv_in3", {"out_channels": 2, "kernel": 3}, (2, 3, 5, 5)),
    _conv_spec("conv_stride2", {"out_channels": 2, "kernel": 3, "stride": 2}, (2, 2, 7, 7)),
    _conv_spec("conv_pad1", {"out_channels": 2, "kernel": 3, "padding": 1}, (2, 2, 5, 5)),
    _conv_spec("conv_dilation2", {"out_channels": 2, "kernel": 3, "dilation": 2},
               (2, 1, 7, 7)),
    _conv_spec("conv_stride2_pad1_dil2",
               {"out_channels": 3, "kernel": 3, "stride": 2, "padding": 1, "dilation": 2},
               (2, 2, 8, 8)),
    _conv_spec("conv_pairs",
               {"out_channels": 2, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 0],
                "dilation": [1, 3]}, (2, 2, 7, 5)),
    _conv_spec("conv_odd_7x5", {"out_channels": 3, "kernel": 2}, (2, 2, 7, 5)),
    _conv_spec("conv_nobias", {"out_channels": 2, "kernel": 3, "bias": False}, (2, 2, 5, 5)),
    _conv_spec("conv_1x1", {"out_channels": 4, "kernel": 1}, (2, 3, 4, 4)),
    _conv_spec("conv_batch1", {"out_channels": 2, "kernel": 3, "padding": 1}, (1, 3, 4, 4)),
    _conv_spec("conv_big_padding", {"out_channels": 1, "kernel": 2, "padding": 3},
               (1, 1, 3, 3)),
    _conv_spec("conv_larger", {"out_channels": 8, "kernel": 3, "padding": 1},
               (4, 6, 12, 12), fd=False),
    _max_spec("maxpool_2", {"kernel": 2}, (2, 3, 6, 6)),
    _max_spec("maxpool_odd_floor", {"kernel": 2}, (2, 2, 7, 5)),
    _max_spec("maxpool_pad", {"kernel": 3, "stride": 2, "padding": 1}, (2, 2, 7, 7)),
    _max_spec("maxpool_overlap", {"kernel": 3, "stride": 1}, (2, 2, 6, 6)),
    _max_spec("maxpool_stride_gt_kernel", {"kernel": 2, "stride": 3}, (2, 2, 8, 8)),
    _max_spec("maxpool_pairs", {"kernel": [3, 2], "stride": [1, 2], "padding": [1, 0]},
              (2, 2, 5, 7)),
    _max_spec("maxpool_ties_integers_overlap", {"kernel": 3, "stride": 1, "padding": 1},
              (2, 3, 6, 6), make_inputs=_integers((2, 3, 6, 6), 3), fd=False),
    _max_spec("maxpool_ties_integers_pairs", {"kernel": [2, 3], "stride": [1, 2]},
              (2, 2, 5, 7), make_inputs=_integers((2, 2, 5, 7), 2), fd=False),
    _max_spec("maxpool_ties_constant_overlap", {"kernel": 2, "stride": 1},
              (1, 2, 4, 5), make_inputs=_constant((1, 2, 4, 5)), fd=False),
    _max_spec("maxpool_ties_constant_pad", {"kernel": 3, "stride": 2, "padding": 1},
              (2, 1, 5, 5), make_inputs=_constant((2, 1, 5, 5)), fd=False),
    _avg_spec("avgpool_2", {"kernel": 2}, (2, 3, 6, 6)),
    _avg_spec("avgpool_pad", {"kernel": 3, "stride": 2, "padding": 1}, (2, 2, 7, 7)),
    _avg_spec("avgpool_pairs_overlap", {"kernel": [2, 3], "stride": 1, "padding": [1, 1]},
              (2, 2, 5, 6)),
    OpSpec("global_avgpool", "global_avgpool", {}, [(2, 3, 4, 5)], _global_avgpool),
    OpSpec("global_avgpool_1x1", "global_avgpool", {}, [(3, 2, 1, 1)], _global_avgpool),
]
