"""Help › Lecture Notation: the lecture's symbols, and each op's chain rule in them.

The symbols are the lecture's ("Convolutional Networks for Image Processing",
part II); the op rows come from the ops themselves (their `formula`, and
their `symbols` where an op declares them), so a new op appears here too.
Symbols and formulas are set in the Formula panel's monospace fonts (`math_html`),
which put a combining hat on its letter (x̂).
"""

from __future__ import annotations

import html

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from bpviz.engine import OPS
from bpviz.ui.stepping.formula_panel import FONT_FAMILIES

SYMBOLS = (
    ("x", "the input of a sample (a vector, or an image U[i1, i2, n])"),
    ("z_H = W_H x + b_H", "the hidden layer's pre-activation: weights W_H, bias b_H"),
    ("u_H = g_act(z_H)", "the hidden layer's activation (sigmoid σ, tanh, ReLU)"),
    ("z_O = W_O u_H + b_O", "the output layer's scores (logits)"),
    ("ŷ = g_out(z_O)", "the prediction: σ for two classes, softmax for K classes"),
    ("L, J", "the loss (L2, binary or categorical cross-entropy), summed over samples"),
    ("∂L/∂z", "the gradient of the loss with respect to z, shaped like z"),
    ("⟨∂L/∂u, ∂u/∂z⟩", "the tensor chain rule: summed over the indices of u"),
    ("⊙", "element by element (an activation's ∂u/∂z is diagonal)"),
    ("U[i1, i2, n]", "a conv layer's input: row i1, column i2, channel n"),
    ("Z[i1, i2, m]", "a conv layer's output: Σ_{k1,k2,n} W[k1,k2,n,m] U[i1+k1, i2+k2, n] + b[m]"),
    ("W[k1, k2, n, m]", "a conv filter: tap (k1, k2), input channel n, output channel m"),
    ("∂J/∂W[k1,k2,n,m]", "Σ_{i1,i2} U[i1+k1, i2+k2, n] ∂J/∂Z[i1,i2,m]: the filter is shared, "
                         "so its gradient sums over every output pixel"),
    ("N, M", "the batch size (samples); bpviz stores maps as [N, C, H, W]"),
)


def math_html(text: str) -> str:
    """`text` in the Formula panel's monospace fonts, which set a combining hat on its
    letter (x̂); the dialog's default sans font drops it or draws it elsewhere."""
    return (f"<span style='font-family:{', '.join(FONT_FAMILIES)}'>{html.escape(text)}"
            f"</span>")


def formula_html(text: str) -> str:
    """`text` as `math_html` sets it, with room between its wrapped lines: a hat on
    one line would otherwise touch a subscript's underscore on the line above."""
    return f"<p style='line-height:130%; margin:0'>{math_html(text)}</p>"


def notation_html() -> str:
    rows = "".join(f"<tr><td style='padding:2px 12px 2px 0'><b>{math_html(symbol)}</b></td>"
                   f"<td>{html.escape(meaning)}</td></tr>" for symbol, meaning in SYMBOLS)
    ops = []
    for name in sorted(OPS):
        cls = OPS[name]
        declared = getattr(cls, "symbols", None)
        extra = ""
        if isinstance(declared, dict) and declared:
            extra = "<br><small>" + math_html(", ".join(
                f"{key}: {value}" for key, value in declared.items())) + "</small>"
        if cls.formula:
            ops.append(f"<tr><td style='padding:2px 12px 2px 0'><tt>{html.escape(name)}</tt>"
                       f"</td><td>{formula_html(cls.formula)}{extra}</td></tr>")
    return ("<h3>The lecture's symbols</h3><table>" + rows + "</table>"
            "<h3>Each op's step, in these symbols</h3><table>" + "".join(ops) + "</table>")


class NotationDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Lecture Notation")
        self.text = QTextBrowser()
        self.text.setObjectName("notation_text")
        self.text.setHtml(notation_html())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
        self.resize(720, 620)
