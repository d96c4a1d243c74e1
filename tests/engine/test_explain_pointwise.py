"""The explanation of every entry of the activations, batchnorm, dropout and the
losses adds up to the entry, reads the pass's own entries and agrees with torch:
on the bundled examples and on generated graphs (shapes, batch, training and
eval, both reductions, frozen nodes); and a wrong local derivative, 1/N or
mask in an explanation is caught."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpviz.engine import OPS
from bpviz.engine.explain import ExplainError, Term, explain_entry
from bpviz.engine.stepping import StepSession
from bpviz.graph import build_network, load_graph
from bpviz.graph.batch import node_shapes, random_batch
from bpviz.graph.fileformat import document_from_json
from tests.engine.explain_checks import check_entry, pass_tensors, random_entries, torch_reference
from tests.engine.stepping_graphs import DATA, EXAMPLES, every_loss_session

pytest.importorskip("torch")

POINTWISE = {"relu", "leaky_relu", "sigmoid", "tanh", "softmax", "batchnorm", "dropout",
             "mse", "bce", "bce_with_logits", "softmax_cross_entropy"}
# vgg16 and resnet50 (224×224 inputs) are left out for their size;
# VGG16's dropout is covered by every_loss.
EXAMPLE_FILES = sorted(path for path in EXAMPLES.glob("*.json")
                       if path.stem not in ("vgg16", "resnet50"))


def check_random_entries(session: StepSession, seed: int, per_tensor: int = 2) -> set[str]:
    """check_entry on random entries of every tensor of the pointwise nodes; the
    (op, tensor) kinds checked."""
    tensors, reference = pass_tensors(session), torch_reference(session)
    kinds = set()
    for node, tensor, at in random_entries(session, np.random.default_rng(seed), per_tensor,
                                           POINTWISE):
        check_entry(session, tensors, reference, node, tensor, at)
        kinds.add(f"{session.network.nodes[node].op.op_name} {tensor}")
    return kinds


def session_on(path, training: bool, batch: int = 3, seed: int = 0) -> StepSession:
    network = build_network(load_graph(path), seed=seed)
    network.set_training(training)
    feeds, targets = random_batch(network, batch, seed, np.float64)
    return StepSession(network, feeds, targets)


# -- bundled examples ------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
@pytest.mark.parametrize("path", EXAMPLE_FILES + [DATA / "residual_concat_cnn.json",
                                                  DATA / "every_loss.json"],
                         ids=lambda path: path.stem)
def test_examples_explain_every_pointwise_entry(path, training):
    kinds = check_random_entries(session_on(path, training), seed=1)
    assert kinds  # every example has at least one pointwise node


def test_every_loss_with_soft_targets_explains_every_kind():
    """Soft targets in (0, 1), mean and sum reductions, dropout and batchnorm in training."""
    kinds = check_random_entries(every_loss_session(), seed=2, per_tensor=3)
    expected = {f"{op} {tensor}" for op in ("mse", "bce", "bce_with_logits",
                                            "softmax_cross_entropy", "sigmoid", "softmax",
                                            "dropout", "batchnorm")
                for tensor in ("out", "grad_in/0")}
    expected |= {"batchnorm grad/weight", "batchnorm grad/bias"}
    assert expected <= kinds


# -- generated graphs -------------------------------------------------------------------
MIDDLE = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "batchnorm", "dropout"]


@st.composite
def graphs(draw, featured: str, loss: str):
    """A chain: input, maybe a dense or conv layer, one to three pointwise ops (the
    featured one among them), then the loss."""
    image = draw(st.booleans())
    shape = ([draw(st.integers(2, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))]
             if image else [draw(st.integers(2, 6))])
    nodes = [{"id": "x", "op": "input", "params": {"shape": shape}}]

    def add(op, params=None, trainable=True):
        node = {"id": f"n{len(nodes)}", "op": op, "inputs": [nodes[-1]["id"]],
                "params": params or {}}
        if not trainable:
            node["trainable"] = False
        nodes.append(node)

    if draw(st.booleans()):
        if image:
            add("conv2d", {"out_channels": draw(st.integers(2, 3)), "kernel": 3, "padding": 1})
        else:
            add("dense", {"units": draw(st.integers(2, 5))})
    middle = draw(st.lists(st.sampled_from(MIDDLE), max_size=2))
    middle.insert(draw(st.integers(0, len(middle))), featured)
    for op in middle:
        params = {"leaky_relu": {"slope": draw(st.floats(0, 0.5))},
                  "dropout": {"p": draw(st.sampled_from([0.0, 0.25, 0.5, 0.9]))}}.get(op)
        add(op, params, trainable=op != "batchnorm" or draw(st.booleans()))
    if loss == "bce":
        add("sigmoid")
    if loss == "softmax_cross_entropy" and image:
        add("flatten")
    add(loss, {"reduction": draw(st.sampled_from(["mean", "sum"]))})
    graph = {"format": "bpviz-graph", "version": 1, "nodes": nodes}
    return graph, draw(st.integers(3, 4)), draw(st.booleans()), draw(st.integers(0, 2**16))


def targets_for(network, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Real targets for mse, soft and hard ones in [0, 1] for bce, labels for softmax_ce."""
    shapes, targets = node_shapes(network), {}
    for loss in network.losses:
        shape = (batch, *shapes[network.nodes[loss].inputs[0]])
        op = network.nodes[loss].op.op_name
        if op == "softmax_cross_entropy":
            targets[loss] = rng.integers(0, shape[1], batch)
        elif op == "mse":
            targets[loss] = rng.standard_normal(shape)
        else:
            soft = rng.random(shape)
            targets[loss] = np.where(rng.random(shape) < 0.5, np.round(soft), soft)
    return targets


@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"])
@pytest.mark.parametrize("featured", MIDDLE)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_generated_graphs_explain_every_pointwise_entry(featured, loss, data):
    case = data.draw(graphs(featured, loss))
    graph, batch, training, seed = case
    network = build_network(document_from_json(graph), seed=seed)
    network.set_training(training)
    rng = np.random.default_rng(seed)
    feeds = {"x": rng.standard_normal((batch, *graph["nodes"][0]["params"]["shape"]))}
    session = StepSession(network, feeds, targets_for(network, batch, rng))
    check_random_entries(session, seed)


# -- what the explanations say -------------------------------------------------------------
def factor(explanation, label_start: str):
    return next(f for term in explanation.terms for f in term.factors
                if f.label.startswith(label_start))


@pytest.mark.parametrize("training", [True, False], ids=["training", "eval"])
def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval(training):
    session = session_on(DATA / "residual_concat_cnn.json", training)
    x = session.executor.values[session.network.nodes["bn"].inputs[0]]
    n, c, h, w = x.shape
    out = explain_entry(session, "bn", "out", (1, 2, 0, 3))
    grad = explain_entry(session, "bn", "grad_in/0", (1, 2, 0, 3))
    if training:  # independent of the op: the mean and biased variance of channel 2
        mean, var = np.mean(x[:, 2]), np.var(x[:, 2])
        assert factor(out, "μ_B[2]").value == pytest.approx(mean, rel=1e-12)
        assert factor(out, "1/√(σ²_B[2] + ε)").value == pytest.approx(1 / np.sqrt(var + 1e-5),
                                                                     rel=1e-12)
        assert len(grad.terms) == n * h * w  # one term per value of the channel
        assert factor(grad, "1/m").value == 1 / (n * h * w)
    else:
        buffers = session.network.nodes["bn"].op.buffers
        assert factor(out, "μ_run[2]").value == buffers["running_mean"][2]
        assert len(grad.terms) == 1


def test_dropout_mask_is_zero_or_the_scale_and_eval_is_the_identity():
    session = every_loss_session()
    for at in np.ndindex(session.executor.values["drop"].shape):
        mask = factor(explain_entry(session, "drop", "grad_in/0", at), "mask").value
        assert mask in (0.0, 1 / (1 - 0.25))
    network = build_network(load_graph(DATA / "every_loss.json"), seed=2)
    network.set_training(False)
    feeds, targets = random_batch(network, 3, 0, np.float64)
    explanation = explain_entry(StepSession(network, feeds, targets), "drop", "out", (0, 1))
    assert [f.key for term in explanation.terms for f in term.factors] == ["s/out"]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_loss_terms_read_the_target_and_the_reduction(reduction):
    graph = {"format": "bpviz-graph", "version": 1, "nodes": [
        {"id": "x", "op": "input", "params": {"shape": [3]}},
        {"id": "mse", "op": "mse", "inputs": ["x"], "params": {"reduction": reduction}}]}
    network = build_network(document_from_json(graph))
    rng = np.random.default_rng(4)
    session = StepSession(network, {"x": rng.standard_normal((4, 3))},
                          {"mse": rng.standard_normal((4, 3))})
    out = explain_entry(session, "mse", "out", ())
    grad = explain_entry(session, "mse", "grad_in/0", (2, 1))
    assert {"x/out", "mse/target"} <= out.factor_keys()
    assert len(out.terms) == 2 * 12
    assert grad.factor_keys() == {"x/out", "mse/target", "mse/grad_out"}
    scales = [f.value for term in grad.terms for f in term.factors if f.label == "1/(N·F)"]
    assert scales == ([1 / 12] * 2 if reduction == "mean" else [])


def test_bce_at_probabilities_zero_and_one_says_the_clamp_is_active():
    graph = {"format": "bpviz-graph", "version": 1, "nodes": [
        {"id": "p", "op": "input", "params": {"shape": [4]}},
        {"id": "bce", "op": "bce", "inputs": ["p"]}]}
    network = build_network(document_from_json(graph))
    feeds = {"p": np.array([[0.0, 1.0, 1e-30, 0.3], [1 - 1e-7, 0.5, 1.0, 0.0]])}
    targets = {"bce": np.array([[1.0, 0.0, 0.3, 1.0], [0.0, 0.5, 1.0, 0.0]])}
    session = StepSession(network, feeds, targets)
    tensors, reference = pass_tensors(session), torch_reference(session)
    out = check_entry(session, tensors, reference, "bce", "out", ())
    assert "clamped at −100" in out.note
    for at in np.ndindex(2, 4):
        grad = check_entry(session, tensors, reference, "bce", "grad_in/0", at)
        p = feeds["p"][at]
        assert ("clamped" in grad.note) == (p * (1 - p) < 1e-12), at  # 0, 1 and 1e-30


def test_softmax_of_huge_scores_takes_the_largest_out_of_the_exponents():
    graph = {"format": "bpviz-graph", "version": 1, "nodes": [
        {"id": "z", "op": "input", "params": {"shape": [3]}},
        {"id": "sm", "op": "softmax", "inputs": ["z"]},
        {"id": "mse", "op": "mse", "inputs": ["sm"]}]}
    network = build_network(document_from_json(graph))
    session = StepSession(network, {"z": np.array([[1000.0, 999.0, 990.0]])},
                          {"mse": np.array([[1.0, 0.0, 0.0]])})
    tensors, reference = pass_tensors(session), torch_reference(session)
    for k in range(3):
        explanation = check_entry(session, tensors, reference, "sm", "out", (0, k))
        assert "subtracted" in explanation.note
        check_entry(session, tensors, reference, "sm", "grad_in/0", (0, k))


def test_a_frozen_batchnorm_explains_its_output_but_has_no_parameter_gradient():
    doc = load_graph(DATA / "every_loss.json")
    doc.nodes["bn"] = dataclasses.replace(doc.nodes["bn"], trainable=False)
    network = build_network(doc, seed=2)
    feeds, targets = random_batch(network, 3, 0, np.float64)
    session = StepSession(network, feeds, targets)
    tensors, reference = pass_tensors(session), torch_reference(session)
    check_entry(session, tensors, reference, "bn", "grad_in/0", (1, 4))
    with pytest.raises(ExplainError, match="frozen"):
        explain_entry(session, "bn", "grad/weight", (0,))


# -- the checks catch a wrong explanation ----------------------------------------------------
def wrong_factor(monkeypatch, op_name: str, label_start: str, wrong) -> list[bool]:
    """Make op_name's explanations use wrong(factor, ctx, at) for the constant whose label
    starts with label_start; the returned list records, per explanation, whether that
    changed its sum."""
    cls, changed = OPS[op_name], []
    original = cls.explain

    def explain(self, tensor, at, ctx):
        explained = original(self, tensor, at, ctx)
        terms = tuple(Term(term.coefficient, tuple(
            dataclasses.replace(f, value=float(wrong(f, ctx, at)))
            if f.key is None and f.label.startswith(label_start) else f
            for f in term.factors)) for term in explained.terms)
        right = sum(term.value for term in explained.terms)
        wrong_sum = sum(term.value for term in terms)
        changed.append(abs(wrong_sum - right) > 1e-6 * max(abs(right), 1e-12))
        return dataclasses.replace(explained, terms=terms)

    monkeypatch.setattr(cls, "explain", explain)
    return changed


MISTAKES = {  # op, tensor, label of the constant, the wrong value
    "σ' without (1 − σ)": ("sigmoid", "grad_in/0", "σ(z", lambda f, ctx, at: ctx.output[at]),
    "softmax without Σ": ("softmax", "out", "1/Σ", lambda f, ctx, at: 1.0),
    "mse's 1/N for 1/(N·F)": ("mse", "grad_in/0", "1/(N·F)",
                              lambda f, ctx, at: 1 / ctx.inputs[0].shape[0]),
    "mse's mean missing from L": ("mse", "out", "1/(N·F)", lambda f, ctx, at: 1.0),
    "cross-entropy's 1/(N·K) for 1/N": ("softmax_cross_entropy", "grad_in/0", "1/N",
                                        lambda f, ctx, at: 1 / ctx.inputs[0].size),
    "bce's ŷ(1 − ŷ) without the 1 −": ("bce", "grad_in/0", "1/(ŷ",
                                       lambda f, ctx, at: 1 / ctx.inputs[0][at]),
    "batchnorm's 1/(m − 1)": ("batchnorm", "grad_in/0", "1/m",
                              lambda f, ctx, at: 1 / (1 / f.value - 1)),
    "dropout's mask 1 − p": ("dropout", "out", "mask", lambda f, ctx, at: f.value and 0.75),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_wrong_constant_in_an_explanation_is_caught(monkeypatch, mistake):
    op_name, tensor, label, wrong = MISTAKES[mistake]
    changed = wrong_factor(monkeypatch, op_name, label, wrong)
    session = every_loss_session()
    tensors = pass_tensors(session)
    caught = []
    for node in [n.id for n in session.network.order if n.op.op_name == op_name]:
        for at in list(np.ndindex(np.shape(tensors[f"{node}/{tensor}"])))[:12]:
            try:
                check_entry(session, tensors, None, node, tensor, at)
                caught.append(False)
            except AssertionError:
                caught.append(True)
    assert any(changed), "the mistake changed no explanation: the test shows nothing"
    assert caught == changed


def test_a_softmax_jacobian_without_its_diagonal_is_caught(monkeypatch):
    # ∂ŷ_j/∂z_k = ŷ_j (δ_jk − ŷ_k): dropping δ leaves only −Σ_j ŷ_k ŷ_j ∂L/∂ŷ_j
    cls = OPS["softmax"]
    right = cls.explain

    def without_delta(self, tensor, at, ctx):
        explained = right(self, tensor, at, ctx)
        if tensor != "grad_in/0":
            return explained
        return dataclasses.replace(explained, terms=tuple(
            term for term in explained.terms if term.coefficient < 0))

    monkeypatch.setattr(cls, "explain", without_delta)
    session = every_loss_session()
    tensors = pass_tensors(session)
    nodes = [n.id for n in session.network.order if n.op.op_name == "softmax"]
    assert nodes
    for node in nodes:
        for at in list(np.ndindex(np.shape(tensors[f"{node}/grad_in/0"])))[:6]:
            with pytest.raises(AssertionError):
                check_entry(session, tensors, None, node, "grad_in/0", at)


@pytest.mark.parametrize("op_name", ["relu", "tanh", "leaky_relu"])
def test_a_wrong_local_derivative_of_relu_or_tanh_is_caught(monkeypatch, op_name):
    wrong = {"relu": lambda f, ctx, at: 1.0,  # the gate forgotten
             "tanh": lambda f, ctx, at: 1 - ctx.output[at],  # 1 − tanh for 1 − tanh²
             "leaky_relu": lambda f, ctx, at: 0.0}[op_name]  # as plain relu
    start = {"relu": "1[", "tanh": "(1 − tanh²", "leaky_relu": "a ("}[op_name]
    changed = wrong_factor(monkeypatch, op_name, start, wrong)
    session = session_on(DATA / "residual_concat_cnn.json", True)
    tensors = pass_tensors(session)
    caught = []
    node = next(n.id for n in session.network.order if n.op.op_name == op_name)
    for at in list(np.ndindex(tensors[f"{node}/grad_in/0"].shape))[:40]:
        try:
            check_entry(session, tensors, None, node, "grad_in/0", at)
            caught.append(False)
        except AssertionError:
            caught.append(True)
    assert any(changed)
    assert caught == changed
