"""A slide deck as Beamer source (.tex), for pdflatex.

`talk.tex` holds a 16:9 Beamer document: a title frame with the whole graph,
then one frame per step (or, with `overlays=True`, one frame whose
`\\only<n>` overlays show the steps in turn: the same pages, one frame to
edit). Each step shows the graph in TikZ (bpviz.export.tikz, the active node
outlined and the wires coloured by their gradient's norm), the formula lines
as LaTeX math (bpviz.engine.explain_text.latex_math), where the upstream
gradient comes from, any explanation as an aligned block, and the key
tensors as heatmaps, PNG files in the folder `talk_figures/` beside the .tex
(`\\graphicspath`). Speaker notes go into `\\note{…}` (shown with
`\\setbeameroption{show notes}`). Pictures and text are scaled down, never
up, to fit their room (`\\bpvizfit`).

Nothing beyond Beamer, TikZ and graphicx is needed (texlive-latex-recommended
and texlive-pictures on Debian).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from bpviz.engine.explain_text import MATH, latex_block, latex_math
from bpviz.export.base import (
    ExportCancelled,
    Exporter,
    ExportError,
    Progress,
    ensure_app,
    png_bytes,
    write_file,
    write_folder,
)
from bpviz.export.deck import Deck, DeckSlide
from bpviz.export.deck_layout import RIGHT_W, DeckPictures, tensor_label
from bpviz.export.tikz import TEX_SPECIAL, TikzExporter, tex_text

LONG_TEXT = 320  # characters of formula that take the room of a smaller graph

PREAMBLE = r"""%% {name}: a slide deck made by bpviz (`bpviz export GRAPH.json --deck --to {file}`).
%% Compile with pdflatex; the heatmaps are in {folder}/.
\documentclass[aspectratio=169]{{beamer}}
\usepackage{{tikz}}
\usetikzlibrary{{arrows.meta, fit}}
\usepackage{{amsmath}}
\setbeamertemplate{{navigation symbols}}{{}}
\graphicspath{{{{{folder}/}}}}
% \bpvizfit{{width}}{{height}}{{content}}: the content, scaled down (never up) to fit.
\newsavebox\bpvizbox
\newlength\bpvizwidth
\newlength\bpvizheight
\newcommand\bpvizfit[3]{{%
  \setlength\bpvizwidth{{#1}}\setlength\bpvizheight{{#2}}%
  \sbox\bpvizbox{{#3}}%
  \ifdim\wd\bpvizbox>\bpvizwidth
    \sbox\bpvizbox{{\resizebox{{\bpvizwidth}}{{!}}{{\usebox\bpvizbox}}}}\fi
  \ifdim\dimexpr\ht\bpvizbox+\dp\bpvizbox\relax>\bpvizheight
    \sbox\bpvizbox{{\resizebox*{{!}}{{\bpvizheight}}{{\usebox\bpvizbox}}}}\fi
  \usebox\bpvizbox}}
\title{{{title}}}
\begin{{document}}
"""


def deck_text(text: str) -> str:
    """Prose for LaTeX's text mode: specials escaped, math symbols in $…$."""
    out = []
    for char in str(text).replace("–", "--"):
        if char in TEX_SPECIAL or char.isascii():
            out.append(tex_text(char))
        elif char in MATH:
            out.append(f"${MATH[char].strip()}$")
        else:
            out.append(tex_text(char))
    return "".join(out)


def formula_tex(line: str) -> str:
    r"""A formula line as inline math, so TeX may break it after = and + signs."""
    return "$" + latex_math(line) + "$"


def aligned(explanation) -> str:
    """An explanation's align* block as an aligned block inside $…$ (to scale it)."""
    block = latex_block(explanation)
    body = block[block.index(r"\begin{align*}") + len(r"\begin{align*}"):
                 block.index(r"\end{align*}")]
    return r"$\begin{aligned}" + body.strip() + r"\end{aligned}$"


class DeckBeamerExporter(Exporter):
    """talk.tex and talk_figures/ (heatmaps), for pdflatex."""

    extensions = (".tex",)

    def __init__(self, deck: Deck, theme: str = "light", layout: str = "auto",
                 overlays: bool = False, folder: str = "figures",
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        ensure_app()
        self.deck, self.theme, self.layout, self.overlays = deck, theme, layout, overlays
        self.folder, self.file_name = folder, "talk.tex"
        self.tikz = TikzExporter(deck.document, layout=layout)

    # -- the document -------------------------------------------------------
    def data(self) -> tuple[str, dict[str, bytes]]:
        """(the .tex, {file name in the figures folder: PNG})."""
        pictures = DeckPictures(self.deck, self.theme, self.layout)
        figures: dict[str, bytes] = {}
        slides = self.deck.slides
        try:
            bodies = []
            for index, slide in enumerate(slides):
                self.report(index, len(slides) + 1)
                bodies.append((slide, self._body(slide, pictures, figures)))
        finally:
            pictures.close()
        deck = self.deck
        parts = [PREAMBLE.format(name=deck.name.replace("\n", " "), file=self.file_name,
                                 folder=self.folder, title=deck_text(deck.name)),
                 self._title_frame()]
        if self.overlays and bodies:
            parts.append("\\begin{frame}[t]\n")
            for n, (slide, body) in enumerate(bodies, start=1):
                parts.append(f"\\frametitle<{n}>{{{deck_text(slide.title)}}}\n")
                parts.append(f"\\only<{n}>{{%\n{body}}}\n")
            parts.append("".join(f"\\note<{n}>{{{_notes(slide.notes)}}}\n"
                                 for n, (slide, _) in enumerate(bodies, start=1)))
            parts.append("\\end{frame}\n")
        else:
            for slide, body in bodies:
                parts.append(f"\\begin{{frame}}[t]{{{deck_text(slide.title)}}}\n{body}"
                             f"\\note{{{_notes(slide.notes)}}}\n\\end{{frame}}\n")
        parts.append("\\end{document}\n")
        self.report(len(slides) + 1, len(slides) + 1)
        return "".join(parts), figures

    def _title_frame(self) -> str:
        title = self.deck.title_slide
        lines = "".join(f"{deck_text(line)}\\par\n" for line in title.lines)
        return ("\\begin{frame}[t]{" + deck_text(title.title) + "}\n\\centering\n"
                "\\bpvizfit{\\linewidth}{0.66\\textheight}{" + self.tikz.picture() + "}\\par\n"
                "\\vfill\\raggedright\\small\n" + lines
                + "\\note{" + _notes(title.notes) + "}\n\\end{frame}\n")

    def _body(self, slide: DeckSlide, pictures: DeckPictures,
              figures: dict[str, bytes]) -> str:
        state = pictures.states[slide.position]
        long = sum(len(line) for line in slide.lines) > LONG_TEXT  # e.g. an Adam update
        text_room = "0.20" if slide.explanations else "0.40" if long else "0.26"
        graph_room = "0.34" if slide.explanations else "0.36" if long else "0.50"
        left = [f"{{\\footnotesize\\color{{gray}}{deck_text(slide.heading)}}}\\par\n",
                f"\\centering\\bpvizfit{{\\linewidth}}{{{graph_room}\\textheight}}{{"
                f"{self.tikz.picture(state)}}}\\par\n\\raggedright\\vspace{{4pt}}\n",
                f"\\bpvizfit{{\\linewidth}}{{{text_room}\\textheight}}{{"
                "\\parbox{\\linewidth}{\\small\\raggedright "
                + "".join(f"{formula_tex(line)}\\par " for line in slide.lines)
                + (f"{{\\footnotesize\\color{{gray}}{deck_text(slide.aside)}}}"
                   if slide.aside else "") + "}}\\par\n"]
        room = f"{0.22 / max(len(slide.explanations), 1):.2f}\\textheight"
        for explanation in slide.explanations:
            left.append(f"\\vspace{{2pt}}{{\\footnotesize\\textbf{{"
                        f"{deck_text(explanation.key)}}}}}\\par\n"
                        f"\\bpvizfit{{\\linewidth}}{{{room}}}{{{aligned(explanation)}}}\\par\n")
        right = []
        height = f"{0.72 / max(len(slide.tensors), 1) - 0.07:.2f}"
        for k, tensor in enumerate(slide.tensors):
            name = (f"step_{slide.position + 1:03d}_{k}_"
                    f"{re.sub(r'[^A-Za-z0-9]+', '_', tensor.key).strip('_')}.png")
            figures[name] = png_bytes(pictures.heatmap(tensor, RIGHT_W))
            right.append(f"{{\\scriptsize\\color{{gray}}{deck_text(tensor_label(tensor))}}}"
                         f"\\par\n\\includegraphics[width=\\linewidth,height={height}"
                         f"\\textheight,keepaspectratio]{{{name}}}\\par\\smallskip\n")
        return ("\\begin{columns}[T]\n\\begin{column}{0.63\\textwidth}\n" + "".join(left)
                + "\\end{column}\n\\begin{column}{0.35\\textwidth}\n" + "".join(right)
                + "\\end{column}\n\\end{columns}\n")

    # -- writing ------------------------------------------------------------
    def encode(self, data):
        raise NotImplementedError("a Beamer deck is a .tex and a folder: use export(path)")

    def export(self, path: str | os.PathLike | None = None):
        """Without a path: (the .tex, its figures). With one: the figures into
        `<stem>_figures/` beside it (other characters than letters, digits, '.', '-'
        and '_' as '_'), then the .tex; the Path of the .tex."""
        self._cancel.clear()
        if path is not None:
            path = Path(path)
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", path.stem)  # TeX reads it as a path
            self.folder, self.file_name = f"{stem}_figures", path.name
        tex, figures = self.data()
        if path is None:
            return tex, figures
        if self.cancelled:
            raise ExportCancelled("export cancelled")
        if not path.parent.is_dir():
            raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
        write_folder(path.parent / self.folder, figures, "step_*.png")
        write_file(path, tex.encode("utf-8"))
        return path


def _notes(text: str) -> str:
    return "\\par ".join(deck_text(line) for line in text.splitlines() if line.strip())
