"""Op specs for activations, merges, normalisation, dropout and losses."""

from __future__ import annotations

import numpy as np

from tests.engine.op_specs import OpSpec

# -- inputs and targets ---------------------------------------------------


def away_from_zero(*shapes, margin: float = 0.05):
    """Standard-normal inputs pushed at least `margin` away from 0 (a kink for
    relu and leaky_relu, where central differences straddle two slopes)."""

    def make(rng):
        xs = []
        for shape in shapes:
            x = rng.standard_normal(shape)
            xs.append(x + np.where(x >= 0, margin, -margin))
        return xs

    return make


def with_zeros(shape):
    """Inputs with exact zeros (every third element): the gradient rule at the kink."""

    def make(rng):
        x = rng.standard_normal(shape)
        x.reshape(-1)[::3] = 0.0
        return [x]

    return make


def scaled(shape, scale: float):
    """Large inputs: saturation and overflow territory."""
    return lambda rng: [scale * rng.standard_normal(shape)]


def probabilities(shape, low: float = 0.05, high: float = 0.95):
    return lambda rng: [rng.uniform(low, high, shape)]


def extreme_probabilities(shape):
    """Probabilities at and next to 0 and 1, where torch clamps log and the gradient
    (the pattern repeats every 12 elements, matching extreme_target)."""
    values = np.array([0.0, 1.0, 1e-7, 1 - 1e-7, 1e-4, 1 - 1e-4, 0.5, 1e-30, 0.0, 1.0, 0.3, 0.999])

    def make(rng):
        return [np.resize(values, shape)]

    return make


def normal_target(rng, shape):
    return rng.standard_normal(shape)


def soft_target(rng, shape):
    return rng.uniform(0.0, 1.0, shape)


def binary_target(rng, shape):
    return rng.integers(0, 2, shape).astype(np.float64)


def extreme_target(rng, shape):
    """0/1 targets paired with extreme_probabilities: ŷ = 0 and ŷ = 1 each meet
    both y = 0 and y = 1, so both clamps of the log and of the gradient are hit."""
    pattern = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 1, 1], dtype=np.float64)
    return np.resize(pattern, shape)


def class_labels(rng, shape):
    return rng.integers(0, shape[1], size=shape[0]).astype(np.int64)


# -- torch references (torch.nn.functional, independent of our code) -------


def _relu(xs, params, hp):
    import torch.nn.functional as F
    return F.relu(xs[0])


def _leaky_relu(xs, params, hp):
    import torch.nn.functional as F
    return F.leaky_relu(xs[0], negative_slope=hp.get("slope", 0.01))


def _sigmoid(xs, params, hp):
    import torch
    return torch.sigmoid(xs[0])


def _tanh(xs, params, hp):
    import torch
    return torch.tanh(xs[0])


def _gelu(xs, params, hp):
    import torch.nn.functional as F
    return F.gelu(xs[0], approximate="tanh")


def _softmax(xs, params, hp):
    import torch
    return torch.softmax(xs[0], dim=1)


def _add(xs, params, hp):
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def _concat(xs, params, hp):
    import torch
    return torch.cat(xs, dim=1)


def _batchnorm(xs, params, hp):
    import torch.nn.functional as F
    return F.batch_norm(xs[0], params["running_mean"], params["running_var"],
                        params["weight"], params["bias"], training=hp["training"],
                        momentum=hp.get("momentum", 0.1), eps=hp.get("eps", 1e-5))


def _dropout(xs, params, hp):
    import torch
    import torch.nn.functional as F
    if not hp["training"]:
        return F.dropout(xs[0], p=hp.get("p", 0.5), training=False)
    return xs[0] * torch.from_numpy(hp["op"].mask)


def _mse(xs, params, hp):
    import torch.nn.functional as F
    return F.mse_loss(xs[0], hp["target"], reduction=hp.get("reduction", "mean"))


def _bce(xs, params, hp):
    import torch.nn.functional as F
    return F.binary_cross_entropy(xs[0], hp["target"], reduction=hp.get("reduction", "mean"))


def _bce_with_logits(xs, params, hp):
    import torch.nn.functional as F
    return F.binary_cross_entropy_with_logits(xs[0], hp["target"],
                                              reduction=hp.get("reduction", "mean"))


def _cross_entropy(xs, params, hp):
    import torch.nn.functional as F
    return F.cross_entropy(xs[0], hp["target"], reduction=hp.get("reduction", "mean"))


ACTIVATION_SPECS: list[OpSpec] = [
    OpSpec("relu_2d", "relu", {}, [(4, 7)], _relu, make_inputs=away_from_zero((4, 7))),
    OpSpec("relu_4d", "relu", {}, [(2, 3, 4, 5)], _relu,
           make_inputs=away_from_zero((2, 3, 4, 5))),
    OpSpec("relu_odd", "relu", {}, [(3, 1, 5, 7)], _relu,
           make_inputs=away_from_zero((3, 1, 5, 7))),
    OpSpec("relu_exact_zeros", "relu", {}, [(3, 10)], _relu, make_inputs=with_zeros((3, 10)),
           fd=False),
    OpSpec("leaky_relu_default", "leaky_relu", {}, [(2, 3, 5, 5)], _leaky_relu,
           make_inputs=away_from_zero((2, 3, 5, 5))),
    OpSpec("leaky_relu_slope", "leaky_relu", {"slope": 0.2}, [(5, 9)], _leaky_relu,
           make_inputs=away_from_zero((5, 9))),
    OpSpec("leaky_relu_slope_0", "leaky_relu", {"slope": 0.0}, [(3, 2, 3, 3)], _leaky_relu,
           make_inputs=away_from_zero((3, 2, 3, 3))),
    OpSpec("leaky_relu_exact_zeros", "leaky_relu", {"slope": 0.3}, [(2, 9)], _leaky_relu,
           make_inputs=with_zeros((2, 9)), fd=False),
    OpSpec("sigmoid_2d", "sigmoid", {}, [(4, 7)], _sigmoid),
    OpSpec("sigmoid_4d", "sigmoid", {}, [(2, 3, 4, 4)], _sigmoid),
    OpSpec("sigmoid_large", "sigmoid", {}, [(3, 11)], _sigmoid,
           make_inputs=scaled((3, 11), 40.0)),
    OpSpec("tanh_2d", "tanh", {}, [(3, 11)], _tanh),
    OpSpec("tanh_4d", "tanh", {}, [(2, 2, 3, 5)], _tanh),
    OpSpec("tanh_large", "tanh", {}, [(2, 13)], _tanh, make_inputs=scaled((2, 13), 10.0)),
    OpSpec("gelu_2d", "gelu", {}, [(4, 7)], _gelu),
    OpSpec("gelu_4d", "gelu", {}, [(2, 3, 4, 4)], _gelu),
    OpSpec("gelu_large", "gelu", {}, [(3, 11)], _gelu, make_inputs=scaled((3, 11), 10.0)),
    OpSpec("gelu_with_zeros", "gelu", {}, [(3, 10)], _gelu, make_inputs=with_zeros((3, 10))),
    OpSpec("softmax_2d", "softmax", {}, [(4, 6)], _softmax),
    OpSpec("softmax_4d", "softmax", {}, [(2, 5, 3, 3)], _softmax),
    OpSpec("softmax_large", "softmax", {}, [(3, 7)], _softmax, make_inputs=scaled((3, 7), 30.0)),
    OpSpec("softmax_batch1", "softmax", {}, [(1, 3)], _softmax),
]

MERGE_SPECS: list[OpSpec] = [
    OpSpec("add_2_4d", "add", {}, [(2, 3, 4, 4), (2, 3, 4, 4)], _add),
    OpSpec("add_3_2d", "add", {}, [(3, 7), (3, 7), (3, 7)], _add),
    OpSpec("add_4_odd", "add", {}, [(1, 1, 3, 5)] * 4, _add),
    OpSpec("concat_3_4d", "concat", {}, [(2, 1, 3, 3), (2, 4, 3, 3), (2, 2, 3, 3)], _concat),
    OpSpec("concat_2_2d", "concat", {}, [(3, 2), (3, 5)], _concat),
    OpSpec("concat_3_2d", "concat", {}, [(2, 1), (2, 6), (2, 3)], _concat),
    OpSpec("concat_odd", "concat", {}, [(3, 2, 1, 5), (3, 3, 1, 5)], _concat),
]

NORM_SPECS: list[OpSpec] = [
    OpSpec("batchnorm_train_4d", "batchnorm", {}, [(4, 3, 3, 5)], _batchnorm),
    OpSpec("batchnorm_eval_4d", "batchnorm", {}, [(4, 3, 3, 5)], _batchnorm, training=False),
    OpSpec("batchnorm_train_2d", "batchnorm", {}, [(6, 4)], _batchnorm),
    OpSpec("batchnorm_eval_2d", "batchnorm", {}, [(6, 4)], _batchnorm, training=False),
    OpSpec("batchnorm_train_2d_batch2", "batchnorm", {}, [(2, 5)], _batchnorm),
    OpSpec("batchnorm_train_4d_batch1", "batchnorm", {"eps": 1e-3, "momentum": 0.3},
           [(1, 2, 3, 3)], _batchnorm),
    OpSpec("batchnorm_eval_hypers", "batchnorm", {"eps": 0.01, "momentum": 0.5},
           [(3, 2, 2, 3)], _batchnorm, training=False),
    # Dropout draws a fresh mask per forward call, so the finite-difference
    # check (which calls forward again) runs in test_dropout with reuse_mask.
    OpSpec("dropout_train_4d", "dropout", {}, [(4, 5, 3, 3)], _dropout, fd=False),
    OpSpec("dropout_train_p02", "dropout", {"p": 0.2}, [(3, 17)], _dropout, fd=False),
    OpSpec("dropout_eval", "dropout", {}, [(3, 8)], _dropout, training=False),
    OpSpec("dropout_eval_4d", "dropout", {"p": 0.9}, [(2, 2, 3, 3)], _dropout, training=False),
]

LOSS_SPECS: list[OpSpec] = [
    OpSpec("mse_mean", "mse", {}, [(4, 3)], _mse, make_target=normal_target),
    OpSpec("mse_sum", "mse", {"reduction": "sum"}, [(4, 3)], _mse, make_target=normal_target),
    OpSpec("mse_4d_mean", "mse", {}, [(2, 3, 2, 3)], _mse, make_target=normal_target),
    OpSpec("mse_4d_sum", "mse", {"reduction": "sum"}, [(2, 3, 2, 3)], _mse,
           make_target=normal_target),
    OpSpec("bce_mean", "bce", {}, [(4, 5)], _bce, make_inputs=probabilities((4, 5)),
           make_target=binary_target),
    OpSpec("bce_sum", "bce", {"reduction": "sum"}, [(4, 5)], _bce,
           make_inputs=probabilities((4, 5)), make_target=binary_target),
    OpSpec("bce_soft_target", "bce", {}, [(3, 2, 2, 2)], _bce,
           make_inputs=probabilities((3, 2, 2, 2)), make_target=soft_target),
    # At and next to 0 and 1 central differences are meaningless (or step
    # outside [0, 1]); torch is the reference there.
    OpSpec("bce_extreme_mean", "bce", {}, [(2, 12)], _bce,
           make_inputs=extreme_probabilities((2, 12)), make_target=extreme_target, fd=False),
    OpSpec("bce_extreme_sum", "bce", {"reduction": "sum"}, [(3, 8)], _bce,
           make_inputs=extreme_probabilities((3, 8)), make_target=extreme_target, fd=False),
    OpSpec("bce_extreme_soft", "bce", {"reduction": "sum"}, [(2, 12)], _bce,
           make_inputs=extreme_probabilities((2, 12)), make_target=soft_target, fd=False),
    OpSpec("bce_with_logits_mean", "bce_with_logits", {}, [(4, 5)], _bce_with_logits,
           make_target=binary_target),
    OpSpec("bce_with_logits_sum", "bce_with_logits", {"reduction": "sum"}, [(4, 5)],
           _bce_with_logits, make_target=soft_target),
    OpSpec("bce_with_logits_large", "bce_with_logits", {}, [(3, 6)], _bce_with_logits,
           make_inputs=scaled((3, 6), 50.0), make_target=binary_target),
    OpSpec("bce_with_logits_4d_sum", "bce_with_logits", {"reduction": "sum"}, [(2, 2, 2, 3)],
           _bce_with_logits, make_target=binary_target),
    OpSpec("softmax_cross_entropy_mean", "softmax_cross_entropy", {}, [(5, 4)],
           _cross_entropy, make_target=class_labels),
    OpSpec("softmax_cross_entropy_sum", "softmax_cross_entropy", {"reduction": "sum"},
           [(5, 4)], _cross_entropy, make_target=class_labels),
    OpSpec("softmax_cross_entropy_large", "softmax_cross_entropy", {}, [(6, 10)],
           _cross_entropy, make_inputs=scaled((6, 10), 30.0), make_target=class_labels),
    OpSpec("softmax_cross_entropy_batch1", "softmax_cross_entropy", {"reduction": "sum"},
           [(1, 3)], _cross_entropy, make_target=class_labels),
]

POINTWISE_SPECS: list[OpSpec] = ACTIVATION_SPECS + MERGE_SPECS + NORM_SPECS + LOSS_SPECS
