"""A trainer that pauses for a NaN or infinity: rollback, retry, new settings.

The oracle is torch.optim on the same batches: a run paused at iteration k
and resumed with a lower learning rate must follow the torch run that
switched to that rate after the last finite step (float64, SGD with momentum
and Adam, a graph with batchnorm so its running statistics are rolled back
too). The state at a pause is compared bit for bit with the state after the
last iteration that went through.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bpviz.engine.optim import SGD, Adam, make_optimizer
from bpviz.engine.trainer import IterationEvent, PausedEvent, Trainer, TrainingError
from bpviz.graph import build_network, load_graph
from bpviz.graph.weights import network_tensors
from tests.engine.test_trainer import (
    BATCH,
    DATA,
    collect,
    mlp,
    one_torch_thread,  # noqa: F401 - a fixture
    regression,
    torch_trajectory,
    toy_data,
    trajectory_data,
)

SWITCH = 7  # steps with the first learning rate before it turns huge
HUGE_UPDATE = float(np.finfo(np.float64).max)  # θ − η g overflows in the update itself
HUGE_FORWARD = 1e300  # the update stays finite, the next forward pass overflows


def state(trainer: Trainer) -> dict:
    """Copies of what an iteration changes: parameters and buffers, the optimizer's
    state, the random generators."""
    return {"tensors": {k: v.copy() for k, v in network_tensors(trainer.network).items()},
            "optimizer": trainer.optimizer.snapshot(),
            "generators": {n.id: n.op.rng.bit_generator.state for n in trainer.network.order
                           if hasattr(n.op, "rng")}}


def assert_same_state(got: dict, expected: dict) -> None:
    """Equal bit for bit (tobytes tells 0.0 from −0.0 and compares NaNs)."""
    assert got["tensors"].keys() == expected["tensors"].keys()
    for key, value in expected["tensors"].items():
        assert got["tensors"][key].tobytes() == value.tobytes(), key
    assert got["optimizer"].keys() == expected["optimizer"].keys()
    for key, slot in expected["optimizer"].items():
        assert got["optimizer"][key].keys() == slot.keys(), key
        for name, value in slot.items():
            if isinstance(value, np.ndarray):
                assert got["optimizer"][key][name].tobytes() == value.tobytes(), (key, name)
            else:
                assert got["optimizer"][key][name] == value, (key, name)
    assert got["generators"] == expected["generators"]


def iteration_losses(events) -> list[float]:
    return [e.loss for e in events if isinstance(e, IterationEvent)]


@pytest.mark.usefixtures("one_torch_thread")
@pytest.mark.parametrize(("name", "kwargs", "lower"), [
    ("sgd", {"lr": 0.05, "momentum": 0.9}, 0.02),
    ("adam", {"lr": 0.01}, 0.003),
], ids=["sgd-momentum", "adam"])
@pytest.mark.parametrize(("huge", "failed_at", "where"), [
    (HUGE_UPDATE, SWITCH + 1, "after the update"),
    (HUGE_FORWARD, SWITCH + 2, "the output of node"),
], ids=["in-the-update", "in-the-next-forward-pass"])
def test_a_run_paused_for_a_nan_and_resumed_with_a_lower_lr_matches_torch(
        name, kwargs, lower, huge, failed_at, where):
    network = build_network(load_graph(DATA / "trajectory_net.json"), seed=3)
    trainer = Trainer(network, make_optimizer(name, network, **kwargs), trajectory_data(),
                      batch_size=BATCH, epochs=6, seed=5, on_non_finite="pause")
    events, states, pauses = collect(trainer), {}, []

    def listener(event):
        if event.kind == "iteration":
            states[event.iteration] = state(trainer)
            if event.iteration == SWITCH:
                trainer.set_lr(huge)
        elif event.kind == "paused":
            pauses.append((event, state(trainer)))
            trainer.set_lr(lower)
            trainer.cancel() if len(pauses) > 3 else trainer.resume()

    trainer.subscribe(listener)
    assert trainer.run().reason == "finished"
    (paused, at_pause), = pauses
    assert (paused.iteration, paused.reason) == (failed_at, "non-finite") and paused.lr_too_high
    assert paused.message.startswith(f"iteration {failed_at}: ") and where in paused.message
    assert f"(lr {huge:g} may be too high)" in paused.message
    # the last finite state, bit for bit: the weights the huge update made when it
    # stayed finite (the forward pass after it overflowed), those before it otherwise
    assert_same_state(at_pause, states[failed_at - 1])
    iterations = [e.iteration for e in events if isinstance(e, IterationEvent)]
    assert iterations == list(range(1, 31))  # the failed batch was retried, none skipped
    # either way the huge update is not kept: torch switches to `lower` after SWITCH steps
    theirs, tensors = torch_trajectory(trainer, name, kwargs, switch=(SWITCH, lower))
    np.testing.assert_allclose(iteration_losses(events), theirs, rtol=0, atol=1e-8)
    # NOTE: c1's bias feeds batchnorm, which removes it: its gradient is rounding noise
    # (~1e-17) and so are its values, which is why the tolerance is absolute.
    for key, value in network_tensors(network).items():
        np.testing.assert_allclose(value, tensors[key], rtol=1e-8, atol=1e-8, err_msg=key)


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_a_pause_put_right_with_the_old_lr_leaves_the_run_bit_for_bit_unchanged(name):
    """Dropout too: the retried batch draws the masks the failed attempt drew."""

    def run(interrupt: bool):
        network = mlp(dropout=True)
        options = {"lr": 0.1, "momentum": 0.9} if name == "sgd" else {"lr": 0.05}
        trainer = Trainer(network, make_optimizer(name, network, **options), toy_data(),
                          batch_size=8, epochs=3, on_non_finite="pause")
        events, states = collect(trainer), {}

        def listener(event):
            if event.kind == "iteration" and event.iteration == 5:
                states[5] = state(trainer)
                trainer.set_lr(HUGE_UPDATE)
            elif event.kind == "paused":
                assert_same_state(state(trainer), states[5])
                trainer.set_lr(options["lr"])
                trainer.resume()

        if interrupt:
            trainer.subscribe(listener)
        assert trainer.run().reason == "finished"
        return events, network_tensors(network)

    plain, plain_weights = run(False)
    events, weights = run(True)
    assert [e.iteration for e in events if isinstance(e, PausedEvent)] == [6]
    assert iteration_losses(events) == iteration_losses(plain)
    for key, value in plain_weights.items():
        assert weights[key].tobytes() == value.tobytes(), key


def test_resume_retries_and_a_replay_that_overflows_keeps_the_last_finite_state():
    network = regression()  # float32, lr 10: the forward pass overflows first
    trainer = Trainer(network, SGD(network, lr=10), toy_data(64), batch_size=8, epochs=50,
                      on_non_finite="pause")
    events, states, pauses = collect(trainer), {}, []
    actions = [lambda: None,  # resume as it is: the same failure again
               lambda: trainer.set_lr(1e38),  # the update redone overflows itself
               lambda: trainer.set_lr(0.1)]  # low enough: the run goes on

    def listener(event):
        if event.kind == "iteration":
            states[event.iteration] = state(trainer)
        elif event.kind == "paused":
            pauses.append(event)
            assert_same_state(state(trainer), states[max(states)])
            actions[len(pauses) - 1]() if len(pauses) <= len(actions) else trainer.cancel()
            trainer.resume()

    trainer.subscribe(listener)
    stopped = trainer.run()
    first, again, replay = pauses
    assert "after the update" not in first.message and first.node in ("fc", "loss")
    assert again == first
    assert replay.iteration == first.iteration - 1 and replay.node == "fc"
    assert replay.message == (f"iteration {replay.iteration}: the weight of node 'fc' after "
                              "the update is not finite (lr 1e+38 may be too high)")
    assert stopped.reason == "finished" and stopped.iteration == 400
    assert all(np.isfinite(iteration_losses(events)))


def test_cancel_while_paused_ends_with_the_last_finite_weights():
    network = regression()
    trainer = Trainer(network, SGD(network, lr=10), toy_data(64), batch_size=8, epochs=50,
                      on_non_finite="pause")
    weights, paused = {}, threading.Event()
    trainer.subscribe(lambda e: e.kind == "iteration" and weights.update(
        {e.iteration: {k: v.copy() for k, v in network.parameters().items()}}))
    trainer.subscribe(lambda e: e.kind == "paused" and paused.set())
    result = []
    thread = threading.Thread(target=lambda: result.append(trainer.run()))
    thread.start()
    assert paused.wait(10)
    thread.join(0.2)
    assert thread.is_alive() and trainer.paused
    event = trainer.non_finite
    assert event.node in ("fc", "loss") and event.message.endswith("(lr 10 may be too high)")
    trainer.cancel()
    thread.join(10)
    assert not thread.is_alive()
    stopped = result[0]
    assert stopped.reason == "cancelled" and stopped.iteration == event.iteration - 1
    for key, value in network.parameters().items():
        assert np.isfinite(value).all()
        assert value.tobytes() == weights[stopped.iteration][key].tobytes()


def test_a_nan_in_the_data_blames_the_data_and_a_resume_retries_the_same():
    network = mlp()
    x, y = toy_data(16)
    x[3, 1] = np.nan  # in the second batch of the first epoch
    trainer = Trainer(network, SGD(network, lr=0.1), (x, y), batch_size=8,
                      on_non_finite="pause")
    pauses = []
    trainer.subscribe(lambda e: e.kind == "paused" and (
        pauses.append(e), trainer.resume() if len(pauses) < 2 else trainer.cancel()))
    stopped = trainer.run()
    assert pauses[0] == pauses[1] and not pauses[0].lr_too_high
    assert pauses[0].message == ("iteration 2: the output of node 'x' is not finite "
                                 "(check the data)")
    assert (stopped.reason, stopped.iteration) == ("cancelled", 1)


def test_optimizer_settings_change_before_the_next_iteration():
    network = mlp()
    trainer = Trainer(network, SGD(network, lr=0.1, momentum=0.9), toy_data(), batch_size=10,
                      epochs=1)
    seen = []

    def listener(event):
        seen.append((trainer.optimizer.lr, trainer.optimizer.momentum))
        if event.kind == "iteration" and event.iteration == 2:
            trainer.set_optimizer_options(lr=0.5, momentum=0)
            assert trainer.optimizer.lr == 0.1  # not in the middle of an iteration

    trainer.subscribe(listener)
    trainer.run()
    assert seen[:4] == [(0.1, 0.9), (0.1, 0.9), (0.5, 0.0), (0.5, 0.0)]


@pytest.mark.parametrize(("options", "message"), [
    ({"lr": float("nan")}, "the learning rate must be a finite number of at least 0, got nan"),
    ({"lr": float("inf")}, "the learning rate must be a finite number of at least 0, got inf"),
    ({"lr": -1}, "the learning rate must be a finite number of at least 0, got -1"),
    ({"lr": "fast"}, "the learning rate must be a number, got 'fast'"),
    ({"momentum": 0.5}, "Adam has no setting 'momentum' to change (it has lr, weight_decay)"),
])
def test_bad_optimizer_settings_are_refused_with_the_reason(options, message):
    network = mlp()
    trainer = Trainer(network, Adam(network, lr=0.1), toy_data(), on_non_finite="pause")
    with pytest.raises(TrainingError) as error:
        trainer.set_optimizer_options(**options)
    assert str(error.value) == message
    assert trainer.optimizer.lr == 0.1


def test_nesterov_keeps_a_momentum_and_the_mode_is_checked():
    network = mlp()
    trainer = Trainer(network, SGD(network, lr=0.1, momentum=0.9, nesterov=True), toy_data())
    with pytest.raises(TrainingError, match="Nesterov momentum needs a momentum above 0"):
        trainer.set_optimizer_options(momentum=0)
    with pytest.raises(TrainingError, match="on_non_finite must be one of stop, pause"):
        Trainer(network, trainer.optimizer, toy_data(), on_non_finite="ignore")


def test_an_overflowing_adam_moment_is_caught_though_the_weights_stay_finite():
    network = regression()  # float32: g² overflows above 1.8e19
    x, y = toy_data(16)
    stopped = Trainer(network, Adam(network, lr=0.01), (x * 1e12, y), batch_size=16).run()
    assert stopped.message == ("iteration 1: the optimizer's exp_avg_sq for the weight of "
                               "node 'fc' after the update is not finite (lr 0.01 may be "
                               "too high)")
    assert all(np.isfinite(v).all() for v in network.parameters().values())
