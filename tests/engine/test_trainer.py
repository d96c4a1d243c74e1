"""The trainer: torch's trajectory, events, frozen layers, non-finite stops, cancelling.

Pausing for a non-finite value: test_trainer_pause.py.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from bpviz.engine.finite import all_finite
from bpviz.engine.optim import SGD, Adam, make_optimizer
from bpviz.engine.trainer import (
    EpochEvent,
    IterationEvent,
    StoppedEvent,
    Trainer,
    TrainingError,
    predicted_labels,
)
from bpviz.graph import build_network, load_graph, loads_graph
from bpviz.oracle.torch_graph import run_graph, torch_tensors, total_loss

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
EXAMPLES = ROOT / "resources" / "examples"


def mlp(frozen: str | None = None, dropout: bool = False, units: int = 3):
    """x [2] → h (dense 8) → tanh [→ dropout] → out (dense `units`) → softmax CE."""
    nodes = [{"id": "x", "op": "input", "params": {"shape": [2]}},
             {"id": "h", "op": "dense", "inputs": ["x"], "params": {"units": 8}},
             {"id": "t", "op": "tanh", "inputs": ["h"]}]
    last = "t"
    if dropout:
        nodes.append({"id": "drop", "op": "dropout", "inputs": ["t"], "params": {"p": 0.5}})
        last = "drop"
    nodes += [{"id": "out", "op": "dense", "inputs": [last], "params": {"units": units}},
              {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["out"]}]
    for node in nodes:
        if node["id"] == frozen:
            node["trainable"] = False
    text = json.dumps({"format": "bpviz-graph", "version": 1, "nodes": nodes})
    return build_network(loads_graph(text), seed=1)


def toy_data(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    return x, (x[:, 0] + 2 * x[:, 1] > 0).astype(np.int64) + (x[:, 0] > 1)


def collect(trainer: Trainer) -> list:
    events: list = []
    trainer.subscribe(events.append)
    return events


# -- against torch ------------------------------------------------------------
STEPS_PER_EPOCH, EPOCHS, BATCH = 5, 20, 8  # 100 optimizer steps


def trajectory_data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((STEPS_PER_EPOCH * BATCH, 2, 6, 6))
    return x, rng.integers(0, 3, len(x))


def torch_trajectory(trainer: Trainer, name: str, kwargs: dict,
                     switch: tuple[int, float] | None = None) -> tuple[list[float], dict]:
    """The same steps in torch: same initial weights, same batches, torch.optim.

    switch: (steps, lr): the learning rate becomes lr after that many steps.
    Returns the losses and '<node>/<name>' → the final parameters and buffers.
    """
    network = build_network(load_graph(DATA / "trajectory_net.json"), seed=3)
    params, buffers = torch_tensors(network)
    leaves = [t for store in params.values() for t in store.values()]
    optim = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}[name](leaves, **kwargs)
    x, y = trajectory_data()
    losses = []
    for epoch in range(1, trainer.epochs + 1):
        order = trainer.epoch_order(epoch)
        for begin in range(0, len(order), BATCH):
            if switch is not None and len(losses) == switch[0]:
                optim.param_groups[0]["lr"] = switch[1]
            index = order[begin:begin + BATCH]
            outputs = run_graph(network, {"x": torch.tensor(x[index])}, params, buffers,
                                {"loss": torch.tensor(y[index])})
            loss = total_loss(network, outputs)
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
    tensors = {f"{node}/{key}": value.detach().numpy()
               for store in (params, buffers) for node, values in store.items()
               for key, value in values.items()}
    return losses, tensors


@pytest.fixture
def one_torch_thread():
    # NOTE: on tensors this small, torch's worker threads only wait for each other
    # (several times slower on a busy machine); one thread gives the same numbers.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("name", "kwargs"), [
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("adam", {"lr": 0.01}),
], ids=["sgd-momentum", "adam"])
def test_loss_trajectory_matches_torch_for_100_steps(name, kwargs):
    network = build_network(load_graph(DATA / "trajectory_net.json"), seed=3)
    trainer = Trainer(network, make_optimizer(name, network, **kwargs), trajectory_data(),
                      batch_size=BATCH, epochs=EPOCHS, seed=5)
    events = collect(trainer)
    assert trainer.run().reason == "finished"
    ours = [e.loss for e in events if isinstance(e, IterationEvent)]
    theirs, _ = torch_trajectory(trainer, name, kwargs)
    assert len(ours) == len(theirs) == STEPS_PER_EPOCH * EPOCHS
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-8)
    assert ours[-1] < 0.5 * ours[0]  # it learned something, so the steps mattered


# -- events and metrics -------------------------------------------------------
def test_events_come_per_iteration_and_epoch_and_once_at_the_end():
    network = mlp()
    x, y = toy_data(60)
    trainer = Trainer(network, Adam(network, lr=0.05), (x[:50], y[:50]), (x[50:], y[50:]),
                      batch_size=16, epochs=3)
    events = collect(trainer)
    stopped = trainer.run()
    kinds = [e.kind for e in events]
    assert kinds == (["iteration"] * 4 + ["epoch"]) * 3 + ["stopped"]
    assert events[-1] is stopped and stopped.reason == "finished"
    assert (stopped.iteration, stopped.epoch) == (12, 3)
    first = events[0]
    assert (first.iteration, first.epoch) == (1, 1)
    assert set(first.nodes) == {"h", "out"}
    stats = first.nodes["h"]
    assert stats.grad_norm > 0 and stats.weight_norm > 0 and 0 < stats.update_ratio < 1
    epoch = next(e for e in events if isinstance(e, EpochEvent))
    assert 0 <= epoch.train_acc <= 1 and 0 <= epoch.val_acc <= 1 and epoch.val_loss > 0
    assert [row["epoch"] for row in trainer.metrics] == [1, 2, 3]
    assert trainer.metrics[-1]["iteration"] == 12
    assert first.as_dict()["kind"] == "iteration"


def test_update_ratio_is_the_step_over_the_weights():
    network = mlp()
    x, y = toy_data(8)
    before = {k: v.copy() for k, v in network.parameters().items()}
    trainer = Trainer(network, SGD(network, lr=0.1), (x, y), batch_size=8, epochs=1)
    events = collect(trainer)
    trainer.run()
    after = network.parameters()
    old = np.sqrt(sum(np.sum(before[k] ** 2) for k in ("out/weight", "out/bias")))
    step = np.sqrt(sum(np.sum((after[k] - before[k]) ** 2) for k in ("out/weight", "out/bias")))
    stats = events[0].nodes["out"]
    assert stats.update_ratio == pytest.approx(step / old, rel=1e-12)
    assert stats.grad_norm == pytest.approx(step / 0.1, rel=1e-12)  # plain SGD: Δθ = −η g


def test_validation_runs_in_eval_mode_and_training_resumes():
    network = mlp(dropout=True)
    x, y = toy_data(40)
    trainer = Trainer(network, SGD(network, lr=0.1), (x, y), (x, y), batch_size=10, epochs=1)
    first = trainer.evaluate(x, y)
    assert trainer.evaluate(x, y) == first  # no dropout masks drawn: the same numbers
    assert network.nodes["drop"].op.training
    modes = []
    trainer.subscribe(lambda e: modes.append(network.nodes["drop"].op.training))
    trainer.run()
    assert all(modes)


def test_frozen_node_keeps_bit_identical_weights_while_gradients_flow_through():
    network = mlp(frozen="out")
    frozen = {k: v.copy() for k, v in network.nodes["out"].op.params.items()}
    first = network.nodes["h"].op.params["weight"].copy()
    trainer = Trainer(network, Adam(network, lr=0.05), toy_data(), batch_size=10, epochs=3)
    events = collect(trainer)
    trainer.run()
    for name, value in network.nodes["out"].op.params.items():
        assert np.array_equal(value, frozen[name])
    assert not np.array_equal(network.nodes["h"].op.params["weight"], first)
    assert set(events[0].nodes) == {"h"}


@pytest.mark.parametrize(("loss", "pred", "labels"), [
    ("softmax_cross_entropy", [[0.1, 2.0], [3.0, -1.0]], [1, 0]),
    ("mse", [[0.1, 0.2, 0.05]], [1]),
    ("bce", [[0.49], [0.5], [0.9]], [0, 1, 1]),
    ("bce_with_logits", [[-0.1], [0.0], [2.0]], [0, 1, 1]),
])
def test_accuracy_takes_the_arg_max_or_the_threshold(loss, pred, labels):
    assert predicted_labels(np.array(pred), loss).tolist() == labels


def test_all_finite_sees_every_kind_of_non_finite_value():
    for size in (5, 1 << 17):  # small arrays, and large ones summed first
        assert all_finite(np.ones(size, dtype=np.float32))
        assert all_finite(np.full(size, 1e308))  # the sum overflows, the values do not
        for bad in (np.nan, np.inf, -np.inf):
            a = np.zeros(size)
            a[3] = bad
            assert not all_finite(a)


def test_bad_settings_are_refused():
    network = mlp()
    x, y = toy_data(10)
    optimizer = SGD(network, lr=0.1)
    with pytest.raises(TrainingError, match="batch size"):
        Trainer(network, optimizer, (x, y), batch_size=0)
    with pytest.raises(TrainingError, match="10 samples but 9 labels"):
        Trainer(network, optimizer, (x, y[:9]))
    with pytest.raises(TrainingError, match="no training samples"):
        Trainer(network, optimizer, (x[:0], y[:0]))


# -- stopping -----------------------------------------------------------------
def regression(dtype=np.float32):
    """x [2] → fc (dense 1) → mse: a learning rate above 1/λ_max makes it diverge."""
    text = json.dumps({"format": "bpviz-graph", "version": 1, "nodes": [
        {"id": "x", "op": "input", "params": {"shape": [2]}},
        {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 1}},
        {"id": "loss", "op": "mse", "inputs": ["fc"]}]})
    return build_network(loads_graph(text), seed=0, dtype=dtype)


def test_a_huge_learning_rate_stops_naming_the_node_and_the_iteration():
    network = regression()
    trainer = Trainer(network, SGD(network, lr=10), toy_data(64), batch_size=8, epochs=50)
    events = collect(trainer)
    stopped = trainer.run()  # on_non_finite="stop", the default (`bpviz train`)
    assert stopped.reason == "non-finite" and events[-1] is stopped
    assert not trainer.paused and trainer.non_finite is None
    assert all(e.kind != "paused" for e in events)
    assert 1 < stopped.iteration < 100 and stopped.node in ("fc", "loss")
    assert stopped.message.startswith(f"iteration {stopped.iteration}: the ")
    assert f"of node '{stopped.node}'" in stopped.message
    assert stopped.message.endswith("is not finite (lr 10 may be too high)")
    iterations = [e for e in events if isinstance(e, IterationEvent)]
    assert len(iterations) == stopped.iteration - 1  # the bad step reports no iteration
    assert all(np.isfinite(e.loss) for e in iterations)


def test_the_first_non_finite_node_in_topological_order_is_named():
    network = mlp()
    network.nodes["out"].op.params["weight"][0, 0] = np.inf  # out, then loss, go non-finite
    trainer = Trainer(network, SGD(network, lr=0.1), toy_data(), batch_size=8)
    stopped = trainer.run()
    assert stopped.message == ("iteration 1: the output of node 'out' is not finite "
                               "(check the data and the initial weights)")
    assert (stopped.node, stopped.iteration, stopped.epoch) == ("out", 1, 1)


def test_nan_in_the_data_is_caught_at_the_input():
    network = mlp()
    x, y = toy_data(8)
    x[3, 1] = np.nan
    stopped = Trainer(network, SGD(network, lr=0.1), (x, y), batch_size=8).run()
    assert stopped.node == "x" and "the output of node 'x'" in stopped.message


def test_cancel_stops_before_the_next_iteration():
    network = mlp()
    trainer = Trainer(network, SGD(network, lr=0.1), toy_data(), batch_size=4, epochs=50)

    def listener(event):
        if isinstance(event, IterationEvent) and event.iteration == 7:
            trainer.cancel()

    events = collect(trainer)
    trainer.subscribe(listener)
    stopped = trainer.run()
    assert stopped.reason == "cancelled" and stopped.iteration == 7
    assert [e.iteration for e in events if isinstance(e, IterationEvent)][-1] == 7
    assert isinstance(events[-1], StoppedEvent)


def test_pause_holds_the_loop_and_cancel_ends_it_from_another_thread():
    network = mlp()
    trainer = Trainer(network, SGD(network, lr=0.1), toy_data(), batch_size=4, epochs=10**6)
    reached = threading.Event()
    trainer.subscribe(lambda e: e.kind == "iteration" and e.iteration == 3 and
                      (trainer.pause(), reached.set()))
    result = []
    thread = threading.Thread(target=lambda: result.append(trainer.run()))
    thread.start()
    assert reached.wait(10)
    thread.join(0.2)
    assert thread.is_alive() and trainer.paused and trainer.iteration == 3
    trainer.cancel()
    thread.join(10)
    assert not thread.is_alive()
    assert result[0].reason == "cancelled" and result[0].iteration == 3


# -- vanishing gradients --------------------------------------------------------
def first_step_grad_norms(example: str) -> dict[str, float]:
    network = build_network(load_graph(EXAMPLES / example), seed=0)
    x, y = toy_data(64)
    trainer = Trainer(network, SGD(network, lr=0.0), (x, y % 2), batch_size=64, epochs=1)
    events = collect(trainer)
    trainer.run()
    return {node: stats.grad_norm for node, stats in events[0].nodes.items()}


def test_twenty_sigmoid_layers_without_shortcuts_lose_the_gradient():
    norms = first_step_grad_norms("deep_plain_20.json")
    assert norms["d20"] > 1e-3
    assert norms["d01"] / norms["d20"] < 1e-6  # each layer multiplies by σ′ ≤ 1/4
    assert norms["d01"] < norms["d10"] < norms["d20"]


def test_residual_shortcuts_carry_the_gradient_to_the_first_layer():
    norms = first_step_grad_norms("deep_residual_20.json")
    assert norms["d01"] / norms["d20"] > 0.1
