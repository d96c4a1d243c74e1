"""An explanation as text and as LaTeX: the sum shown is torch's number, the term counts
add up, and the LaTeX is plain ASCII that pdflatex compiles (when it is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

from bpviz.engine import OPS
from bpviz.engine.explain import explain_entry
from bpviz.engine.explain_text import (
    LATEX_SHOWN,
    SHOWN,
    explanation_text,
    latex_block,
    latex_math,
)
from tests.engine.explain_checks import torch_reference
from tests.engine.test_explain_layers import example_session

ENTRIES = [("c1", "grad/weight", (2, 0, 1, 1)), ("c1", "out", (0, 1, 0, 3)),
           ("c1", "grad_in/0", (1, 0, 7, 7)), ("p1", "out", (1, 2, 1, 1)),
           ("f", "out", (0, 17)), ("fc", "grad/bias", (3,)), ("fc", "grad_in/0", (0, 5))]


@pytest.fixture(scope="module")
def tiny():
    session = example_session("tiny_cnn", batch=2, seed=0)
    return session, torch_reference(session)


def shown_number(text: str) -> float:
    return float(text.replace("−", "-"))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e[0]}/{e[1]}")
def test_text_sums_to_torchs_value_and_counts_its_terms(tiny, entry):
    session, theirs = tiny
    node, tensor, at = entry
    explanation = explain_entry(session, node, tensor, at)
    lines = explanation_text(explanation).splitlines()
    assert lines[0].startswith(f"{node}/{tensor}[{','.join(map(str, at))}] = ")
    assert lines[1] == explanation.formula
    total, sum_line = len(explanation.terms), lines[-2 if explanation.note else -1]
    match = re.fullmatch(r"  = (\S+)   \((\d+) terms?\)", sum_line)
    assert match and int(match[2]) == total
    # torch's entry (what a grad_in sends back is its source's ∂L/∂out here: no forks)
    reference = (theirs[f"{node}/{tensor}"] if not tensor.startswith("grad_in")
                 else theirs[f"{session.network.nodes[node].inputs[0]}/grad_out"])
    assert shown_number(match[1]) == pytest.approx(float(reference[at]), rel=1e-3, abs=1e-12)
    if total > SHOWN:
        rest = total - SHOWN
        assert lines[2].endswith(f"… and {rest} more term{'s' if rest > 1 else ''}")
        assert lines[2].count(" + ") == SHOWN  # SHOWN terms, then the "+ …"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: f"{e[0]}/{e[1]}")
def test_latex_is_ascii_with_balanced_braces(tiny, entry):
    explanation = explain_entry(tiny[0], *entry)
    block = latex_block(explanation)
    body = [line for line in block.splitlines() if not line.startswith("%")]
    assert body[0] == r"\begin{align*}" and body[-1] == r"\end{align*}"
    text = "\n".join(body)
    assert text.isascii(), [c for c in text if not c.isascii()]
    assert balanced(text)
    if len(explanation.terms) > LATEX_SHOWN:
        assert f"and {len(explanation.terms) - LATEX_SHOWN} more term" in text


def balanced(text: str) -> bool:
    depth = 0
    for position, char in enumerate(text):
        if char in "{}" and position and text[position - 1] == "\\":
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_ops_formula_becomes_ascii_latex(name):
    converted = latex_math(OPS[name].formula)
    assert converted.isascii() and balanced(converted)


def test_prose_and_math_words():
    assert latex_math("z = max_{k1,k2} U[k1, k2]") == r"z = \max_{k_{1},k_{2}} U[k_{1}, k_{2}]"
    assert latex_math("∂L/∂W[0,1] over the batch") == (
        r"\frac{\partial L}{\partial W[0,1]}\text{ over the batch}")
    assert latex_math("as torch's count_include_pad") == r"\text{as torch's count\_include\_pad}"
    assert latex_math("5 % & #") == r"5 \% \& \#"


@pytest.mark.skipif(shutil.which("pdflatex") is None,
                    reason="pdflatex is not on the PATH: the LaTeX is only checked as text")
def test_latex_compiles_with_pdflatex(tiny, tmp_path):
    blocks = [latex_block(explain_entry(tiny[0], *entry)) for entry in ENTRIES]
    source = "\n".join([r"\documentclass{article}", r"\usepackage{amsmath}",
                        r"\begin{document}", *blocks, r"\end{document}"])
    (tmp_path / "explain.tex").write_text(source, encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "explain.tex"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "explain.pdf").stat().st_size > 0


def test_no_minus_zero_in_numbers():
    from bpviz.engine.explain_text import latex_number, number_text

    assert number_text(-0.0) == "0" and latex_number(-0.0) == "0"
    assert number_text(-1.5e-7) == "−1.5e-07" and latex_number(-1.5e-7) == (
        r"(-1.5 \times 10^{-7})")
    assert np.isnan(float("nan")) and number_text(float("nan")) == "NaN"


@pytest.mark.parametrize("node", ["c1", "relu_1", "we{ird^ id~ñ", "back\\slash_", "50%&#$"])
def test_any_node_id_in_a_label_stays_ascii_and_balanced(node):
    converted = latex_math(f"∂L/∂L = ∂L/∂{node}.in0[0,2] + ∂L/∂{node}.in1[0,2]")
    assert converted.isascii() and balanced(converted)
    assert converted.count(r"\frac{\partial L}") == 3


def test_a_fork_s_gradient_in_latex():
    session = example_session("resnet_blocks", batch=2, seed=0)
    fork = next(node for node, consumers in session.network.consumers.items()
                if len(consumers) > 1)
    explanation = explain_entry(session, fork, "grad_out", (0, 0, 0, 0))
    assert len(explanation.terms) == len(session.network.consumers[fork])
    block = latex_block(explanation, shown=8)
    body = "\n".join(line for line in block.splitlines() if not line.startswith("%"))
    assert body.isascii() and balanced(body)
    assert body.count(r"\frac{\partial L}") >= len(explanation.terms)
