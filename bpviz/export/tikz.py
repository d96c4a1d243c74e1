"""The graph as TikZ: a `.tex` file that pdflatex compiles on its own, for slides.

The picture draws what the canvas draws. One TikZ node per graph node,
filled with a tint of its op family's hue and labelled with the op and its
key parameters, the node id, the output shape (with \\times) and the
parameter count; a folded group is one box instead of its nodes, with its
name, input and output shapes, parameter count and receptive field (at a
step inside it, the node the pass is at). Wires are arrows labelled with the
shape they carry; a group reading one tensor twice gets one wire. A wire
that skips columns (a residual or any skip connection) leaves its node's top
(or bottom) and runs on a lane above (or below) the nodes it skips, dashed;
every wire into a concat is dotted. In a long graph that the layout wraps
into bands, the wire from the end of one band to the start of the next runs
back through the gap between them.

Positions are the document's (`pos`, in canvas pixels), or for nodes
without one the layered layout's, wrapped into bands as the canvas does;
with `layout="slide"` (or "auto" and a picture over 3:1 wide) the layered
layout's columns cut into the rows whose boxes come nearest the aspect ratio
(bpviz.export.slide; the boxes are estimated, TikZ sizes them itself); the
picture's `x=0.02cm, y=-0.02cm` turns pixels into centimetres (change them
to scale the figure). Everything the
picture needs except the arrows.meta and fit libraries is inside the tikzpicture, so
it can be copied as it stands into a Beamer frame. The page around it is
cut to the picture's size (plain LaTeX: no package beyond TikZ).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from bpviz.export.base import Exporter, Progress
from bpviz.export.slide import (
    SLIDE_ASPECT,
    box_size,
    check_layout,
    closest_to,
    slide_arrangements,
    wants_slide,
)
from bpviz.export.tikz_items import GROUP_HUE, drawn_items
from bpviz.graph import GraphDocument, GraphError, infer_shapes
from bpviz.graph.layout import WRAP_AFTER, columns_by_depth, layered_positions
from bpviz.scene.labels import family_colour, format_count, group_lines, node_title

LINE_BREAK = r" \\ "
BOX_CHAR = 7.5  # canvas pixels per character of a box's \footnotesize line
LANE_GAP, LANE_SPACING = 75.0, 22.0  # pixels between the nodes and their lanes
BAND_SPLIT = 200.0  # rows further apart than this are in different bands
TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "$": r"\$", "%": r"\%",
    "&": r"\&", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "×": r"$\times$",
    "·": r"$\cdot$", "…": r"\dots{}", "—": "---", "‖": r"$\|$", "∂": r"$\partial$",
    "ŷ": r"$\hat y$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$",
    "ε": r"$\varepsilon$", "λ": r"$\lambda$", "μ": r"$\mu$", "σ": r"$\sigma$", "θ": r"$\theta$",
}

PREAMBLE = r"""%% {name}: made by bpviz (`bpviz export GRAPH.json --to FIGURE.tex`).
%% Compile with pdflatex. To put the figure on a slide, copy the tikzpicture
%% (it carries its own colours and styles) and load \usetikzlibrary{{arrows.meta, fit}}.
\documentclass{{article}}
\usepackage{{tikz}}
\usetikzlibrary{{arrows.meta, fit}}
\newsavebox\bpvizfigure
\begin{{document}}
\sbox\bpvizfigure{{%
"""

PICTURE_OPTIONS = r"""\begin{tikzpicture}[x=0.02cm, y=-0.02cm,
  layer/.style={draw=black!75, rounded corners=3pt, align=center, inner sep=4pt,
    font=\footnotesize, minimum width=2.4cm, minimum height=1.2cm},
  wire/.style={-{Stealth[length=2.2mm]}, semithick, black!75},
  skip/.style={wire, dashed, rounded corners=6pt},
  concat/.style={densely dotted},
  group/.style={layer, fill=bpvizgroup!14, draw=bpvizgroup!70!black, line width=1pt,
    double=white, double distance=1pt},
  frame/.style={draw=bpvizgroup!60, dashed, rounded corners=6pt, inner sep=9pt,
    fill=bpvizgroup, fill opacity=0.06},
  framename/.style={font=\footnotesize\bfseries, text=bpvizgroup!70!black, anchor=south west,
    inner sep=2pt},
  tensor/.style={font=\scriptsize, fill=white, inner sep=1.5pt},
  active/.style={draw=red!75!black, line width=2.5pt}]
"""

CLOSING = r"""}
% The page: exactly the picture, with a 6pt border.
\pdfpagewidth=\dimexpr\wd\bpvizfigure+12pt\relax
\pdfpageheight=\dimexpr\ht\bpvizfigure+\dp\bpvizfigure+12pt\relax
\pdfhorigin=6pt \pdfvorigin=6pt \hoffset=0pt \voffset=0pt
\shipout\hbox{\usebox\bpvizfigure}
\end{document}
"""


def tex_text(text: str) -> str:
    """`text` for LaTeX's text mode (pdflatex, no extra package): special characters
    escaped, × and a few Greek letters in math, other non-ASCII spelt in ASCII or '?'."""
    out = []
    for char in str(text):
        if char in TEX_SPECIAL:
            out.append(TEX_SPECIAL[char])
        elif char.isascii():
            out.append(char if char.isprintable() else " ")
        else:
            plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(tex_text(plain) if plain else "?")
    return "".join(out)


def tex_shape(shape) -> str:
    if shape is None:
        return "?"
    if not shape:
        return "scalar"
    return "$" + r"\times".join(str(d) for d in shape) + "$"


class TikzExporter(Exporter):
    extensions = (".tex",)

    def __init__(self, document: GraphDocument, layout: str = "canvas",
                 aspect: float = SLIDE_ASPECT, progress: Progress | None = None) -> None:
        super().__init__(progress)
        self.document = document
        self.layout, self.aspect = check_layout(layout), aspect
        self.report = infer_shapes(document)
        try:
            self.drawn = drawn_items(document, self.report)
        except GraphError:  # a cycle through a folded group: draw the nodes themselves
            self.drawn = drawn_items(document, self.report, fold=False)

    def data(self) -> str:
        return (PREAMBLE.format(name=self.document.name or "graph") + self.picture() + "%\n"
                + CLOSING)

    def picture(self, state=None) -> str:
        """The tikzpicture alone; at a step (a bpviz.export.figure.StepState) the
        active node (or the folded group it is in) is outlined and the wires carry
        their gradient's colour and width."""
        doc, drawn = self.document, self.drawn
        names = {item: f"n{index}" for index, item in enumerate(drawn.view.nodes)}
        positions = self.positions()
        self._state = state
        active = drawn.item_of.get(state.active) if state is not None else None
        lines = [PICTURE_OPTIONS]
        colours = {GROUP_HUE: "bpvizgroup"} if doc.groups else {}
        for node_id in drawn.view.nodes:
            if node_id not in drawn.boxes:
                colours.setdefault(family_colour(doc.nodes[node_id].op),
                                   f"bpvizfamily{len(colours)}")
        lines += [f"  \\definecolor{{{name}}}{{HTML}}{{{hue.lstrip('#').upper()}}}\n"
                  for hue, name in colours.items()]
        for item in drawn.view.nodes:
            x, y = positions[item]
            if item in drawn.boxes:
                summary = drawn.boxes[item]
                inside = state.active if item == active and state.active != item else None
                title = summary.name + (f" · {inside}" if inside else "")
                parts = [r"\textbf{" + tex_text(title) + "}"]
                parts += [tex_text(line) for line in group_lines(summary)]
                style = "group"
            else:
                node = doc.nodes[item]
                parts = [r"\textbf{" + tex_text(node_title(node)) + "}",
                         r"\texttt{" + tex_text(item) + "}",
                         tex_shape(self.report.shapes.get(item))]
                count = self.report.param_counts.get(item, 0)
                if count:
                    parts.append(tex_text(format_count(count)))
                style = f"layer, fill={colours[family_colour(node.op)]}!30"
            text = LINE_BREAK.join(parts)
            outline = ", active" if item == active else ""
            lines.append(f"  \\node[{style}{outline}] ({names[item]}) at "
                         f"({x:.1f}, {y:.1f}) {{{text}}};\n")
        lines += self._frames(names, positions)
        lines += self._wires(names, positions)
        lines.append("\\end{tikzpicture}")
        return "".join(lines)

    def _frames(self, names, positions) -> list[str]:
        """An unfolded group's nodes framed, its name on top: one frame per band it
        lies in (a long graph wraps), the name on the first."""
        band = bands_of(positions)
        lines = []
        for name in self.document.groups:
            members = [m for m in self.document.group_members(name)
                       if m in names and m not in self.drawn.boxes]
            for index, part in enumerate(sorted({band[m] for m in members})):
                fitted = " ".join(f"({names[m]})" for m in members if band[m] == part)
                frame = f"{names[members[0]]}frame{index}"
                lines.append(f"  \\node[frame, fit={fitted}] ({frame}) {{}};\n")
                if index == 0:
                    lines.append(f"  \\node[framename] at ({frame}.north west) "
                                 f"{{{tex_text(name)}}};\n")
        return lines

    def encode(self, data: str) -> bytes:
        return data.encode("utf-8")

    def positions(self) -> dict[str, tuple[float, float]]:
        """Drawn item (node id, or BOX_KEY + group name) → (x, y) in canvas pixels, as
        the canvas places it: the node's pos (a box: its first placed node's), else
        the layered layout's; wrapped to fit a slide when the layout asks for it."""
        doc, drawn = self.document, self.drawn
        layout = layered_positions(drawn.view, self._box_sizes(), wrap_after=WRAP_AFTER)
        canvas = {}
        for item in drawn.view.nodes:
            members = drawn.boxes[item].members if item in drawn.boxes else [item]
            placed = [doc.nodes[m].pos for m in members if doc.nodes[m].pos is not None]
            canvas[item] = tuple(placed[0]) if placed else layout[item]
        if not wants_slide(self.layout, *_picture_size(canvas)):
            return canvas
        arrangements = [{drawn.item_of[node_id]: pos for node_id, pos in positions.items()}
                        for positions in slide_arrangements(doc, self._box_sizes(),
                                                            fold=bool(drawn.boxes))]
        return closest_to(arrangements, self.aspect, _picture_size)

    def _box_sizes(self) -> dict[str, tuple[float, float]]:
        """About how large TikZ draws each folded group's box (its lines are longer
        than a node's), in canvas pixels."""
        return {item: (max(len(line) for line in group_lines(summary)) * BOX_CHAR + 24,
                       100.0) for item, summary in self.drawn.boxes.items()}

    # -- wires --------------------------------------------------------------
    def _wires(self, names, positions) -> list[str]:
        column = {item: index for index, ids in enumerate(columns_by_depth(self.drawn.view))
                  for item in ids}
        band = bands_of(positions)
        skips, lines, gaps = [], [], {}
        for wire in self.drawn.wires:
            source, consumer, port, count = wire.source, wire.consumer, wire.port, wire.ports
            label = tex_shape(self.report.shapes.get(wire.key[0]))
            style = "wire, concat" if wire.concat else "wire"
            if column[consumer] - column[source] > 1:
                style = style.replace("wire", "skip")
            style += self._gradient_style(wire.key)
            if band[consumer] != band[source]:
                lines.append(self._band_wire(source, consumer, style, label, names,
                                             positions, band, gaps))
            elif column[consumer] - column[source] > 1:
                skipped = [i for i, c in column.items() if band[i] == band[source]
                           and column[source] <= c <= column[consumer]]
                skips.append((source, consumer, port, count, label, style, skipped))
            else:
                shift = ((count - 1) / 2 - port) * 7 if count > 1 else 0
                end = f"([yshift={shift:g}pt]{names[consumer]}.west)" if shift else \
                    f"({names[consumer]}.west)"
                lines.append(f"  \\draw[{style}] ({names[source]}.east) to[out=0, in=180] "
                             f"node[tensor, midway] {{{label}}} {end};\n")
        return lines + self._skip_wires(skips, names, positions, band)

    def _gradient_style(self, wire) -> str:
        """A wire's colour and width by the norm of the gradient it carried (at a step)."""
        state = getattr(self, "_state", None)
        norm = state.norms.get(wire) if state is not None else None
        if not norm or not state.has_norms:
            return ""
        from bpviz.scene.colours import norm_colour  # Qt: only for a step's picture

        level = state.level(norm)
        colour = norm_colour(level)
        return (f", draw={{rgb,255:red,{colour.red()};green,{colour.green()};"
                f"blue,{colour.blue()}}}, line width={0.6 + 2.4 * level:.2f}pt")

    def _band_wire(self, source, consumer, style, label, names, positions, band, gaps) -> str:
        """A wire into another band (a long graph wraps): down into the gap under the
        source's band, along it, and into the consumer from the left."""
        ys = [y for node_id, (_, y) in positions.items() if band[node_id] == band[source]]
        below = [y for node_id, (_, y) in positions.items() if band[node_id] == band[source] + 1]
        lane = (max(ys) + min(below)) / 2 if below else max(ys) + LANE_GAP
        used = gaps.setdefault(band[source], [])
        lane += LANE_SPACING * ((len(used) + 1) // 2) * (-1 if len(used) % 2 else 1)
        used.append(lane)
        x = positions[consumer][0] - 150 - 12 * (len(used) - 1)
        return (f"  \\draw[{style}, rounded corners=6pt] ({names[source]}.east) -- ++(30, 0) |- "
                f"node[tensor, pos=0.75] {{{label}}} ({x:.1f}, {lane:.1f}) |- "
                f"({names[consumer]}.west);\n")

    def _skip_wires(self, skips, names, positions, band) -> list[str]:
        """Skip wires on lanes: above for a node's upper ports, below for the others;
        wires whose spans overlap get different lanes, shorter ones nearer the nodes."""
        lanes: dict[tuple[int, str], list[list[tuple[float, float]]]] = {}
        lines = []
        order = sorted(skips, key=lambda s: positions[s[1]][0] - positions[s[0]][0])
        for source, consumer, port, count, label, style, skipped in order:
            side = "north" if port < count / 2 else "south"
            x0, x1 = positions[source][0], positions[consumer][0]
            level = _free_lane(lanes.setdefault((band[source], side), []), (x0, x1))
            ys = [positions[node_id][1] for node_id in skipped]
            if side == "north":
                lane = min(ys) - LANE_GAP - LANE_SPACING * level
            else:
                lane = max(ys) + LANE_GAP + LANE_SPACING * level
            lines.append(f"  \\draw[{style}] ({names[source]}.{side}) |- "
                         f"node[tensor, pos=0.75] {{{label}}} ({x1:.1f}, {lane:.1f}) -- "
                         f"({names[consumer]}.{side});\n")
        return lines


def _picture_size(positions: dict[str, tuple[float, float]]) -> tuple[float, float]:
    """About how large the picture is: the nodes' boxes and a skip lane above and below."""
    return box_size(positions, margin=(0.0, 2 * LANE_GAP))


def bands_of(positions: dict[str, tuple[float, float]]) -> dict[str, int]:
    """id → band: nodes whose rows lie less than BAND_SPLIT apart share a band."""
    rows = sorted({y for _, y in positions.values()})
    index, band_of_row = 0, {}
    for previous, row in zip([None, *rows], rows):
        if previous is not None and row - previous > BAND_SPLIT:
            index += 1
        band_of_row[row] = index
    return {node_id: band_of_row[y] for node_id, (_, y) in positions.items()}


def _free_lane(lanes: list[list[tuple[float, float]]], span: tuple[float, float]) -> int:
    """The first lane where `span` overlaps nothing (a new one when none), taken."""
    for index, taken in enumerate(lanes):
        if not any(_overlap(span, other) for other in taken):
            taken.append(span)
            return index
    lanes.append([span])
    return len(lanes) - 1


def _overlap(a: Iterable[float], b: Iterable[float]) -> bool:
    (a0, a1), (b0, b1) = a, b
    return a0 < b1 + 30 and b0 < a1 + 30
