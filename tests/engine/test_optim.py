"""The optimizers against torch.optim: same trajectory step by step in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.optim import SGD, Adam, make_optimizer

STEPS = 20

CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"lr": 0.01, "weight_decay": 0.05}),
    ("adam", {"lr": 0.02, "betas": (0.6, 0.9), "eps": 1e-6}),
]


def tiny_network(dtype=np.float64, seed: int = 0) -> Network:
    """x [3] → d (dense, 2 units) → e (dense, 4 units): weights and biases to update."""
    nodes = [NodeSpec("x", OPS["input"](shape=[3])),
             NodeSpec("d", OPS["dense"](units=2), ["x"]),
             NodeSpec("e", OPS["dense"](units=4), ["d"])]
    rng = np.random.default_rng(seed)
    nodes[1].op.init_params([(3,)], rng, dtype, "glorot")
    nodes[2].op.init_params([(2,)], rng, dtype, "glorot")
    for node in nodes[1:]:
        # Non-zero biases so weight decay acts on them too.
        node.op.params["bias"] = rng.standard_normal(node.op.params["bias"].shape).astype(dtype)
    return Network(nodes)


def random_grads(network: Network, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {key: rng.standard_normal(value.shape).astype(value.dtype)
            for key, value in network.parameters().items()}


def set_grads(network: Network, grads: dict[str, np.ndarray]) -> None:
    for key, grad in grads.items():
        node_id, name = key.split("/")
        network.nodes[node_id].op.grads[name] = grad.copy()


def torch_optimizer(name: str, params: list[torch.Tensor], kwargs: dict):
    if name == "sgd":
        return torch.optim.SGD(params, **kwargs)
    return torch.optim.Adam(params, **kwargs)


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_matches_torch_every_step(name, kwargs):
    network = tiny_network()
    mirror = {key: torch.tensor(value.copy(), requires_grad=True)
              for key, value in network.parameters().items()}
    ours = make_optimizer(name, network, **kwargs)
    theirs = torch_optimizer(name, list(mirror.values()), kwargs)
    rng = np.random.default_rng(1)
    for step in range(STEPS):
        grads = random_grads(network, rng)
        set_grads(network, grads)
        for key, tensor in mirror.items():
            tensor.grad = torch.tensor(grads[key])
        ours.step()
        theirs.step()
        for key, value in network.parameters().items():
            expected = mirror[key].detach().numpy()
            np.testing.assert_allclose(value, expected, rtol=0, atol=1e-12,
                                       err_msg=f"{name} {kwargs} step {step} {key}")


def test_updates_the_arrays_the_network_holds():
    network = tiny_network()
    weight = network.nodes["d"].op.params["weight"]
    before = weight.copy()
    set_grads(network, random_grads(network, np.random.default_rng(2)))
    SGD(network, lr=0.1).step()
    assert network.nodes["d"].op.params["weight"] is weight
    assert not np.array_equal(weight, before)


def test_frozen_node_stays_bit_identical():
    network = tiny_network()
    network.nodes["d"].op.trainable = False
    frozen = {k: v.copy() for k, v in network.nodes["d"].op.params.items()}
    live = {k: v.copy() for k, v in network.nodes["e"].op.params.items()}
    rng = np.random.default_rng(3)
    for optimizer in (SGD(network, lr=0.1, momentum=0.9, weight_decay=0.1),
                      Adam(network, lr=0.1, weight_decay=0.1)):
        for _ in range(5):
            # Even a stray gradient on a frozen node must not move it.
            set_grads(network, random_grads(network, rng))
            optimizer.step()
    for name, value in network.nodes["d"].op.params.items():
        assert value.tobytes() == frozen[name].tobytes()
    for name, value in network.nodes["e"].op.params.items():
        assert not np.array_equal(value, live[name])


def test_parameters_without_a_grad_are_left_alone():
    network = tiny_network()
    bias = network.nodes["e"].op.params["bias"].copy()
    grads = random_grads(network, np.random.default_rng(4))
    del grads["e/bias"]
    set_grads(network, grads)
    Adam(network, lr=0.1).step()
    assert network.nodes["e"].op.params["bias"].tobytes() == bias.tobytes()


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_float32_stays_float32(name, kwargs):
    network = tiny_network(np.float32)
    optimizer = make_optimizer(name, network, **kwargs)
    rng = np.random.default_rng(5)
    for _ in range(3):
        set_grads(network, random_grads(network, rng))
        optimizer.step()
    for value in network.parameters().values():
        assert value.dtype == np.float32
    for state in optimizer.state.values():
        for item in state.values():
            if isinstance(item, np.ndarray):
                assert item.dtype == np.float32


def test_zero_grad_clears_every_gradient():
    network = tiny_network()
    set_grads(network, random_grads(network, np.random.default_rng(6)))
    optimizer = SGD(network, lr=0.1)
    optimizer.zero_grad()
    assert all(not node.op.grads for node in network.order)
    before = {k: v.copy() for k, v in network.parameters().items()}
    optimizer.step()
    for key, value in network.parameters().items():
        assert np.array_equal(value, before[key])


def test_invalid_settings_are_refused():
    network = tiny_network()
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", network, lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD(network, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="learning rate"):
        SGD(network, lr=-1.0)
    with pytest.raises(ValueError, match="beta1"):
        Adam(network, betas=(1.0, 0.999))
