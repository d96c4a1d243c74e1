"""An Explanation as text to read and as a LaTeX block to paste into a slide.

Both show the same four things: the formula at this index in the lecture's
notation, the same sum with the terms' labels, the same sum with their
numbers (the first `shown` terms and "… and 37 more terms"), and the sum.

    ∂L/∂b[2] = Σ_{i1,i2} ∂L/∂Z[i1,i2,2], summed over the batch (N = 4)
      = ∂L/∂Z[0,2,0,0] + ∂L/∂Z[0,2,0,1] + … and 254 more terms
      = 0.01234 + (−0.0005678) + … and 254 more terms
      = 0.04213

`latex_block` writes that as an align* block (amsmath), every character that
is not plain ASCII turned into a LaTeX command, prose in \\text{…}.
"""

from __future__ import annotations

import math
import re

from bpviz.engine.explain import Explanation, Term

SHOWN = 6  # terms written out before "… and N more terms"
LATEX_SHOWN = 3  # a slide's line holds fewer


# -- plain text -------------------------------------------------------------------
def number_text(value: float) -> str:
    """4 significant digits, a real minus sign: −0.003412, 1.5e-07, 0."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:.4g}" if value != 0 else "0"  # no "−0"
    return text.replace("-", "−", 1) if text.startswith("-") else text


def factor_number(value: float) -> str:
    text = number_text(value)
    return f"({text})" if text.startswith("−") else text


def term_labels(term: Term) -> str:
    factors = "·".join(factor.label for factor in term.factors)
    return factors if term.coefficient == 1 else f"{number_text(term.coefficient)}·{factors}"


def term_numbers(term: Term) -> str:
    factors = "·".join(factor_number(factor.value) for factor in term.factors)
    if term.coefficient == 1:
        return factors
    return f"{factor_number(term.coefficient)}·{factors}"


def joined(parts: list[str], total: int) -> str:
    text = " + ".join(parts)
    rest = total - len(parts)
    return f"{text} + … and {rest} more term{'s' * (rest != 1)}" if rest else text


def explanation_text(explanation: Explanation, shown: int = SHOWN) -> str:
    """The formula, the sum in labels, the sum in numbers, its value, and the note."""
    terms = explanation.terms[:shown]
    lines = [f"{explanation.key}{index_list(explanation.at)} = "
             f"{number_text(explanation.value)}", explanation.formula]
    if terms:
        lines.append("  = " + joined([term_labels(t) for t in terms], len(explanation.terms)))
        lines.append("  = " + joined([term_numbers(t) for t in terms], len(explanation.terms)))
    lines.append(f"  = {number_text(explanation.sum)}"
                 f"   ({len(explanation.terms)} term{'s' * (len(explanation.terms) != 1)})")
    if explanation.note:
        lines.append(f"note: {explanation.note}")
    return "\n".join(lines)


def index_list(at) -> str:
    return "[" + ",".join(str(int(i)) for i in at) + "]"


# -- LaTeX ------------------------------------------------------------------------
MATH = {
    "Σ": r"\sum", "∑": r"\sum", "Π": r"\prod", "∏": r"\prod", "·": r"\cdot ", "−": "-",
    "…": r"\dots ", "∂": r"\partial ", "×": r"\times ", "√": r"\sqrt", "²": "^{2}",
    "ŷ": r"\hat{y}", "ᵀ": r"^{\top}", "∞": r"\infty ", "≥": r"\geq ", "≤": r"\leq ",
    "≠": r"\neq ", "≈": r"\approx ", "→": r"\to ", "∈": r"\in ", "⊙": r"\odot ",
    "σ": r"\sigma ", "ε": r"\varepsilon ", "γ": r"\gamma ", "β": r"\beta ", "μ": r"\mu ",
    "η": r"\eta ", "λ": r"\lambda ", "α": r"\alpha ", "δ": r"\delta ", "θ": r"\theta ",
    "ρ": r"\rho ", "τ": r"\tau ", "ϕ": r"\phi ", "φ": r"\varphi ", "ω": r"\omega ",
    "Δ": r"\Delta ", "∇": r"\nabla ", "⟨": r"\langle ", "⟩": r"\rangle ", "′": "'",
    "’": "'", "ˆ": r"\hat{}", "₁": "_{1}", "₂": "_{2}", "ᵢ": "_{i}", "ᵗ": "^{t}",
    "‖": r"\| ", "←": r"\leftarrow ",
}
MATH_WORDS = {"max": r"\max", "min": r"\min", "exp": r"\exp", "log": r"\log", "ln": r"\ln",
              "tanh": r"\tanh", "argmax": r"\operatorname{argmax}"}
ESCAPES = {"\\": r"\backslash ", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$"}
NAME_ESCAPES = {**ESCAPES, "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\wedge ", "~": r"\sim "}
TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
                "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}", "’": "'", "…": r"\dots{}", "−": "-"}
WORD = r"[A-Za-z]{2,}(?:['’][a-z]+)?(?:_[A-Za-z]{2,})*"
# Prose: words (not max, exp …) with the spaces and punctuation between them.
NOT_MATH_WORD = rf"(?!(?:{'|'.join(MATH_WORDS)})(?![A-Za-z]))"
PROSE = re.compile(rf"\s*(?<![A-Za-z]){NOT_MATH_WORD}{WORD}"
                   rf"(?:[\s,.;:'’()0-9-]*{NOT_MATH_WORD}{WORD})*[\s,.;:]*")
PARTIAL = re.compile(r"∂(\w+)/∂([^\s\[\],:;()]+(?:\[[^\]]*\])?)")


def latex_math(text: str) -> str:
    """A formula line (math with prose in it) as LaTeX math-mode source.

    ∂L/∂X[…] becomes a fraction first, X taken as a name (a node id may hold any
    character); then words become \\text{…} and the rest math."""
    fractions: list[str] = []

    def hold(match: re.Match) -> str:
        fractions.append(rf"\frac{{\partial {_name(match[1])}}}{{\partial {_name(match[2])}}}")
        return f"\0{len(fractions) - 1}\0"

    text = PARTIAL.sub(hold, text)
    parts, position = [], 0
    for match in PROSE.finditer(text):
        parts.append(_math(text[position:match.start()]))
        parts.append(r"\text{" + _prose(match.group()) + "}")
        position = match.end()
    parts.append(_math(text[position:]))
    return re.sub("\0(\\d+)\0", lambda m: fractions[int(m[1])], "".join(parts)).strip()


def _math(text: str, escapes: dict[str, str] = ESCAPES) -> str:
    text = "".join(escapes.get(c, c) for c in text)
    text = re.sub("([A-Za-z])\u0302", r"\\hat{\1}", text)  # x̂: x and a combining hat
    text = re.sub(r"(?<![A-Za-z\\])([a-z])([0-9])(?![0-9])", r"\1_{\2}", text)
    text = re.sub(r"(?<![A-Za-z\\])(" + "|".join(MATH_WORDS) + r")(?![A-Za-z])",
                  lambda m: MATH_WORDS[m[1]], text)
    return "".join(MATH.get(c, c) if ord(c) < 128 or c in MATH else r"\text{?}"
                   for c in text)


def _name(text: str) -> str:
    """A symbol or node id with its index, as math: words upright, nothing unbalanced."""
    upright = re.sub(r"[A-Za-z]{2,}", lambda w: f"\1{w[0]}\2", text)
    return _math(upright, NAME_ESCAPES).replace("\1", r"\mathrm{").replace("\2", "}")


def _prose(text: str) -> str:
    out = []
    for c in text:
        if c in TEXT_ESCAPES:
            out.append(TEXT_ESCAPES[c])
        elif ord(c) < 128:
            out.append(c)
        else:
            out.append(f"${MATH[c].strip()}$" if c in MATH else "?")
    return "".join(out)


def latex_number(value: float, bracket: bool = True) -> str:
    """4 significant digits, ×10^k for small and large ones; a negative factor in ( )."""
    if math.isnan(value):
        return r"\mathrm{NaN}"
    if math.isinf(value):
        text = r"\infty" if value > 0 else r"-\infty"
    else:
        mantissa, _, exponent = (f"{value:.4g}" if value != 0 else "0").partition("e")
        text = mantissa if not exponent else rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return f"({text})" if bracket and text.startswith("-") else text


def latex_block(explanation: Explanation, shown: int = LATEX_SHOWN) -> str:
    """An align* block: the formula, the terms' labels, their numbers, the sum."""
    left, _, right = explanation.formula.partition(" = ")
    lines = [rf"{latex_math(left)} &= {latex_math(right)}" if right
             else rf"&{latex_math(left)}"]
    terms, total = explanation.terms[:shown], len(explanation.terms)
    more = (rf" + \dots \text{{ and {total - len(terms)} more term"
            rf"{'s' * (total - len(terms) != 1)}}}" if total > len(terms) else "")
    if terms:
        lines.append("&= " + " + ".join(latex_math(term_labels(t)) for t in terms) + more)
        lines.append("&= " + " + ".join(
            r" \cdot ".join(latex_number(v) for v in _numbers(t)) for t in terms) + more)
    lines.append(f"&= {latex_number(explanation.sum, bracket=False)}")
    header = [f"% bpviz explain: {explanation.key}{index_list(explanation.at)}"]
    if explanation.note:
        header.append(f"% {explanation.note}")
    return "\n".join([*header, r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"])


def _numbers(term: Term) -> list[float]:
    values = [factor.value for factor in term.factors]
    return values if term.coefficient == 1 else [term.coefficient, *values]
