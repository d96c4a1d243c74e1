r"""`bpviz export`: figures for lecture slides, and the tensors of a pass, without the window.

What is written follows --to's ending:
  .svg .pdf .png   the graph as the canvas draws it (at a backprop step with --step K)
  .tex             the graph as a TikZ picture (with --tensor KEY: that tensor as a bmatrix)
  .npz .csv        every tensor of one forward and backward pass (.csv: key,index,value)
  .gif             the whole pass, one frame per step
  a folder         with --frames: the pass as frame_0001.png …; with --heatmaps: a PNG per tensor
With --deck, --to talk.{pptx,tex,pdf} writes a slide deck of the pass (see below).
With --curves, --to curves.{png,svg,pdf,csv} draws --metrics (a metrics.csv of bpviz train).
With --receptive-field NODE, --to rf.{png,svg,pdf} draws one unit's receptive field: on
the input picture (sample --sample of the pass, 0 by default) the theoretical box of
every conv and pool layer up to NODE, nested and labelled with its size, and beside it
the effective field |∂unit/∂input|. --unit I,J (or C,I,J) picks the unit; by default
the one nearest the centre whose effective field is not zero.

--layout places the nodes of a graph picture (.svg .pdf .png .tex .gif, --frames):
  auto (default)  as on the canvas, unless that picture is more than 3:1 wide
  canvas          as on the canvas
  slide           wrapped into rows, as many columns a row as bring the picture
                  nearest --aspect (default 16:9; e.g. 4:3 or 1.6)
The graph file itself is not changed.

Steps are counted over the whole pass: 1 … F are the forward steps, F+1 … B the
backward ones, and with --update B+1 … N one update step per trainable node (the
phase follows from K); 0 is before the first step.

--update sgd|adam (with --step, .gif or --frames) ends the pass with one step of
that optimizer, as `bpviz train` makes it: --lr (default 0.05 for sgd, 0.01 for
adam), --momentum (sgd, default 0.9), --weight-decay (default 0). Each update step
shows a node's weights before and after, with the rule as its caption, and the
last one the loss on the same batch before and after. The graph file and any
--weights are not changed.

--deck: a title slide with the whole graph, then one 16:9 slide per step: the
graph at that step, the step's formula, its key tensors as heatmaps (forward:
the output; backward: ∂L/∂out and the parameter gradients; update: the weights
before and after) and speaker notes with the numbers. .pptx (PowerPoint,
Google Slides: pictures and editable text), .tex (Beamer, for pdflatex: the
graph in TikZ, the heatmaps in talk_figures/ beside it; --overlays for one
frame with \only<n> instead of a frame per step) or .pdf (drawn by Qt, no
LaTeX). --steps 5-12 and --phase forward|backward|update choose the steps;
--explain NODE:KEY:I,J,… (KEY as in `bpviz explain`, repeatable) puts that
entry's explanation on the slide of its step (the backward step of NODE for
a gradient, the forward step otherwise).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bpviz.cli.common import CliError, add_run_options, prepare_run
from bpviz.cli.export_deck import add_deck_options, check_deck, deck_exporter
from bpviz.cli.train import DEFAULT_LR, DEFAULT_MOMENTUM, number

GRAPH_PICTURES = (".svg", ".pdf", ".png")
DECKS = (".pptx", ".tex", ".pdf")
ENDINGS = GRAPH_PICTURES + (".tex", ".npz", ".csv", ".gif")
# Which options each kind of export reads: anything else given is a mistake.
UPDATE = {"update", "lr", "momentum", "weight_decay"}
USES = {
    "graph": {"dpi", "step", "theme", "transparent", "layout", "aspect"} | UPDATE,
    "tikz": {"layout", "aspect"},
    "bmatrix": {"tensor", "sample"},
    "tensors": set(),
    "heatmaps": {"dpi", "theme", "sample"},
    "gif": {"dpi", "theme", "layout", "aspect"} | UPDATE,
    "frames": {"dpi", "theme", "transparent", "layout", "aspect"} | UPDATE,
    "curves": {"dpi", "theme", "transparent", "metrics"},
    "receptive": {"dpi", "theme", "transparent", "sample", "receptive_field", "unit"},
    "deck": {"theme", "layout", "steps", "phase", "explain", "overlays"} | UPDATE,
}
CHOSEN = ("dpi", "step", "theme", "transparent", "tensor", "sample", "metrics", "layout",
          "aspect", "update", "lr", "momentum", "weight_decay", "receptive_field", "unit",
          "steps", "phase", "explain", "overlays")


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "export", help="figures, tensors and animations for slides",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", nargs="?", metavar="GRAPH.json",
                        help="a bpviz graph file (not needed with --curves)")
    parser.add_argument("--to", required=True, metavar="OUT",
                        help=f"what to write: {' '.join(ENDINGS)} or a folder")
    parser.add_argument("--dpi", type=dots_per_inch, help="resolution of PNG and GIF output "
                        "(default: 96, one pixel per canvas pixel)")
    parser.add_argument("--step", type=int, metavar="K", help="draw the graph at step K")
    parser.add_argument("--theme", choices=("light", "dark"), help="default: light (for print)")
    parser.add_argument("--transparent", action="store_true", help="no background")
    parser.add_argument("--layout", type=layout_name, metavar="{auto,canvas,slide}",
                        help="where the nodes go (default: auto, see above)")
    parser.add_argument("--aspect", type=aspect_ratio, metavar="W:H",
                        help="the picture's width:height for --layout slide (default 16:9)")
    parser.add_argument("--frames", action="store_true", help="--to a folder of PNG frames")
    parser.add_argument("--heatmaps", action="store_true", help="--to a folder of heatmaps")
    parser.add_argument("--tensor", metavar="KEY[i,…]",
                        help="with --to X.tex: one tensor (≤ 8×8), e.g. 'c1/grad/weight[0,0]'")
    parser.add_argument("--sample", type=int, help="the batch sample heatmaps and --tensor show")
    parser.add_argument("--update", choices=("sgd", "adam"),
                        help="end the pass with one step of this optimizer (see above)")
    parser.add_argument("--lr", type=number(0.0, True),
                        help="--update's learning rate (default: 0.05 for sgd, 0.01 for adam)")
    parser.add_argument("--momentum", type=number(0.0, False),
                        help=f"--update sgd's momentum (default {DEFAULT_MOMENTUM})")
    parser.add_argument("--weight-decay", type=number(0.0, False),
                        help="--update's L2 weight decay (default 0)")
    parser.add_argument("--receptive-field", metavar="NODE",
                        help="--to rf.png|svg|pdf: NODE's nested and effective fields")
    parser.add_argument("--unit", type=unit_index, metavar="I,J",
                        help="the unit of --receptive-field (I,J or C,I,J; default: one "
                             "near the centre whose field is alive)")
    add_deck_options(parser)
    parser.add_argument("--curves", action="store_true", help="training curves of --metrics")
    parser.add_argument("--metrics", metavar="metrics.csv", help="bpviz train's metrics file")
    add_run_options(parser)
    parser.set_defaults(run=run)


def dots_per_inch(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 10 <= value <= 2400:
        raise argparse.ArgumentTypeError(f"must lie between 10 and 2400, got {text}")
    return value


def unit_index(text: str) -> tuple[int, ...]:
    try:
        index = tuple(int(part) for part in text.replace(" ", "").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I,J or C,I,J, got {text!r}") from None
    if len(index) not in (2, 3) or min(index) < 0:
        raise argparse.ArgumentTypeError(f"expected I,J or C,I,J of whole numbers ≥ 0, "
                                         f"got {text!r}")
    return index


def layout_name(text: str) -> str:
    from bpviz.export.slide import LAYOUTS

    if text not in LAYOUTS:
        raise argparse.ArgumentTypeError(f"choose {', '.join(LAYOUTS)}; got {text!r}")
    return text


def aspect_ratio(text: str) -> float:
    from bpviz.export.slide import LayoutError, parse_aspect

    try:
        return parse_aspect(text)
    except LayoutError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def layout_options(args: argparse.Namespace) -> dict:
    """The exporters' layout and aspect (--aspect alone means --layout slide)."""
    from bpviz.export.slide import SLIDE_ASPECT

    layout = args.layout or ("slide" if args.aspect is not None else "auto")
    if args.aspect is not None and layout == "canvas":
        raise CliError("--aspect is for --layout slide (or auto), not --layout canvas")
    return dict(layout=layout, aspect=args.aspect or SLIDE_ASPECT)


def kind_of(args: argparse.Namespace) -> str:
    """Which export the arguments ask for (CliError when they contradict each other)."""
    flags = [name for name in ("frames", "heatmaps", "curves", "receptive_field", "deck")
             if getattr(args, name, None)]
    if len(flags) > 1:
        raise CliError(f"choose one of --{' or --'.join(flags)}".replace("_", "-"))
    ending = Path(args.to).suffix.lower()
    if flags == ["deck"]:
        if ending not in DECKS:
            raise CliError(f"--deck writes .pptx, .tex or .pdf, not {ending or 'a folder'}")
        return "deck"
    if flags == ["receptive_field"]:
        if ending not in GRAPH_PICTURES:
            raise CliError("--receptive-field writes .png, .svg or .pdf, not "
                           f"{ending or 'a folder'}")
        return "receptive"
    if flags and flags[0] in ("frames", "heatmaps"):
        if ending:
            raise CliError(f"--{flags[0]} writes a folder of PNGs: --to names a folder, "
                           f"not a {ending} file")
        return flags[0]
    if flags:
        if ending not in (".png", ".svg", ".pdf", ".csv"):
            raise CliError("--curves writes .png, .svg, .pdf or .csv, not "
                           f"{ending or 'a folder'}")
        return "curves"
    if ending not in ENDINGS:
        raise CliError(f"--to must end in {', '.join(ENDINGS)} (or name a folder with "
                       f"--frames or --heatmaps), got {args.to}")
    if ending == ".tex":
        return "bmatrix" if args.tensor else "tikz"
    return {".npz": "tensors", ".csv": "tensors", ".gif": "gif"}.get(ending, "graph")


def check_arguments(args: argparse.Namespace, kind: str) -> None:
    given = {name for name in CHOSEN if getattr(args, name) not in (None, False)}
    stray = sorted(given - USES[kind])
    if stray:
        raise CliError(f"--{stray[0]} does not apply to this export ({describe(kind)})")
    if kind == "curves" and not args.metrics:
        raise CliError("--curves needs --metrics metrics.csv (bpviz train writes one)")
    if kind != "curves" and not args.graph:
        raise CliError("name the graph file to export (GRAPH.json)")
    if args.sample is not None and args.sample < 0:
        raise CliError(f"--sample must be 0 or more, got {args.sample}")
    if "layout" in USES[kind]:
        layout_options(args)
    check_update(args, kind)
    check_deck(args, kind)
    check_writable(Path(args.to), folder=kind in ("frames", "heatmaps"))


def check_update(args: argparse.Namespace, kind: str) -> None:
    """--lr, --momentum and --weight-decay need --update; a picture needs --step for it."""
    settings = [name for name in ("lr", "momentum", "weight_decay") if getattr(args, name)
                is not None]
    if settings and args.update is None:
        raise CliError(f"--{settings[0].replace('_', '-')} is for --update sgd|adam")
    if args.update == "adam" and args.momentum is not None:
        raise CliError("--momentum is for --update sgd (Adam keeps its own moments)")
    if args.update is not None and kind == "graph" and args.step is None:
        raise CliError("--update shows the update steps of a pass: give --step K "
                       "(or export a .gif or --frames)")


def make_update(args: argparse.Namespace, network):
    """The optimizer --update asks for, with `bpviz train`'s defaults; None without."""
    from bpviz.engine.optim import make_optimizer

    if getattr(args, "update", None) is None:  # commands without --update run no update
        return None
    lr = DEFAULT_LR[args.update] if args.lr is None else args.lr
    decay = args.weight_decay or 0.0
    if args.update == "adam":
        return make_optimizer("adam", network, lr=lr, weight_decay=decay)
    momentum = DEFAULT_MOMENTUM if args.momentum is None else args.momentum
    return make_optimizer("sgd", network, lr=lr, momentum=momentum, weight_decay=decay)


def describe(kind: str) -> str:
    return {"graph": "a picture of the graph", "tikz": "a TikZ picture",
            "bmatrix": "a bmatrix", "tensors": "the tensors of a pass",
            "heatmaps": "heatmaps", "gif": "an animation", "frames": "animation frames",
            "curves": "training curves", "receptive": "a receptive field",
            "deck": "a slide deck"}[kind]


def check_writable(out: Path, folder: bool) -> None:
    """Refuse early (before a long run) what cannot be written."""
    parent = out.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {out}: the folder {parent} does not exist")
    if folder and out.exists() and not out.is_dir():
        raise CliError(f"{out} is a file; this export writes a folder of PNGs")
    if not folder and out.is_dir():
        raise CliError(f"{out} is a folder; name a file to write")
    target = out if folder and out.is_dir() else parent
    if not os.access(target, os.W_OK | os.X_OK):
        raise CliError(f"cannot write {out}: {target} is not writable")


def run(args: argparse.Namespace) -> int:
    from bpviz.export.base import ExportError, ensure_app

    kind = kind_of(args)
    check_arguments(args, kind)
    if kind not in ("tensors", "bmatrix"):
        from bpviz.display import use_offscreen_without_display

        use_offscreen_without_display()
        ensure_app()
    try:
        exporter = make_exporter(args, kind)
        out = exporter.export(args.to)
    except ExportError as error:
        raise CliError(str(error)) from None
    print(f"wrote {out} ({describe(kind)})")
    return 0


def make_exporter(args: argparse.Namespace, kind: str):
    if kind == "curves":
        from bpviz.export.curves import CurvesExporter, read_metrics

        return CurvesExporter(read_metrics(args.metrics), Path(args.to).suffix.lower()[1:],
                              theme=args.theme or "light", dpi=args.dpi,
                              transparent=args.transparent)
    if kind == "tikz":
        from bpviz.cli.common import load_document
        from bpviz.export.tikz import TikzExporter

        return TikzExporter(load_document(args.graph), **layout_options(args))
    if kind == "receptive":
        return receptive_exporter(args)
    if kind == "deck":
        document, session = start_session(args)
        return deck_exporter(args, document, session, layout_options(args)["layout"])
    if kind == "graph" and args.step is None:
        from bpviz.cli.common import load_document

        return graph_exporter(args, load_document(args.graph), None, None)
    document, session = start_session(args)
    if kind == "graph":
        return graph_exporter(args, document, session, step_position(args.step, session))
    return pass_exporter(args, kind, document, session)


def start_session(args: argparse.Namespace):
    from bpviz.engine.stepping import StepSession

    document, network, feeds, targets = prepare_run(args)
    return document, StepSession(network, feeds, targets, update=make_update(args, network))


def step_position(step: int, session) -> int:
    total, forward, start = len(session.steps), session.forward_count, session.update_start
    if not 0 <= step <= total:
        updates = f", {start + 1}–{total} update" if session.update_count else ""
        raise CliError(f"--step must lie between 0 and {total}: this pass has {total} steps "
                       f"(1–{forward} forward, {forward + 1}–{start} backward{updates})")
    return step - 1


def receptive_exporter(args: argparse.Namespace):
    from bpviz.export.receptive import ReceptiveFieldExporter

    document, session = start_session(args)
    return ReceptiveFieldExporter(session, args.receptive_field, Path(args.to).suffix[1:].lower(),
                                  unit=args.unit, sample=args.sample or 0,
                                  theme=args.theme or "light", dpi=args.dpi,
                                  transparent=args.transparent, name=document.name)


def graph_exporter(args, document, session, position):
    from bpviz.export.graph import PdfExporter, PngExporter, SvgExporter

    options = dict(theme=args.theme or "light", transparent=args.transparent,
                   session=session, position=position, **layout_options(args))
    ending = Path(args.to).suffix.lower()
    if ending == ".png":
        return PngExporter(document, dpi=args.dpi, **options)
    return {".svg": SvgExporter, ".pdf": PdfExporter}[ending](document, **options)


def pass_exporter(args, kind: str, document, session):
    theme = args.theme or "light"
    if kind == "tensors":
        from bpviz.export.tensors import CsvExporter, NpzExporter

        ending = Path(args.to).suffix.lower()
        return (NpzExporter if ending == ".npz" else CsvExporter)(session)
    if kind == "bmatrix":
        from bpviz.export.tensors import BmatrixExporter, parse_selection

        key, index = parse_selection(args.tensor)
        if args.sample is not None:
            index = (args.sample, *index)
        return BmatrixExporter(session, key + (f"[{', '.join(map(str, index))}]" if index
                                               else ""))
    if kind == "heatmaps":
        from bpviz.export.devices import base_dpi
        from bpviz.export.heatmaps import HeatmapExporter

        scale = (args.dpi or base_dpi()) / base_dpi()
        return HeatmapExporter(session, sample=args.sample or 0, theme=theme, scale=scale)
    from bpviz.export.animation import FramesExporter, GifExporter

    layout = layout_options(args)
    if kind == "gif":
        return GifExporter(document, session, theme=theme, dpi=args.dpi, **layout)
    return FramesExporter(document, session, theme=theme, dpi=args.dpi,
                          transparent=args.transparent, **layout)
