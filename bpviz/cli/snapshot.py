"""`bpviz snapshot`: a PNG of the app's window showing a graph, made without a screen.

Renders offscreen when there is no display (QT_QPA_PLATFORM=offscreen); the
window is never shown on a screen. Useful for documentation and bug reports.
The picture itself comes from the window's side (bpviz.ui.snapshot), which
bpviz.main hands to `add_parser` as `render_window`.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from typing import Any

from bpviz.cli.common import CliError, add_graph_argument, add_memory_option, positive_int
from bpviz.cli.train import number
from bpviz.display import use_offscreen_without_display

MIN_SIDE, MAX_SIDE = 320, 8000

RenderWindow = Callable[..., Any]
"""(document, path, size, theme, select, step, update, batch, explain, tensor) → the
window's QImage; a ValueError says why the step or entry cannot be shown, an
ImportError that Qt cannot load."""


def window_size(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*[x×X]\s*(\d+)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT like 1600x1000, got {text!r}")
    width, height = int(match[1]), int(match[2])
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise argparse.ArgumentTypeError(
            f"each side must be between {MIN_SIDE} and {MAX_SIDE} pixels, got {width}×{height}")
    return width, height


def add_parser(commands, render_window: RenderWindow) -> None:
    parser = commands.add_parser("snapshot", help="a PNG of the window showing a graph",
                                 description=__doc__.splitlines()[0])
    add_graph_argument(parser)
    parser.add_argument("--out", required=True, metavar="window.png", help="the PNG to write")
    parser.add_argument("--size", type=window_size, default=(1600, 1000), metavar="WxH",
                        help="window size in pixels (default: 1600x1000)")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--select", metavar="NODE",
                        help="select this node, so the inspector shows it")
    parser.add_argument("--step", type=int, metavar="K",
                        help="step through a pass of a random batch and show its K-th step "
                             "(from 1) of --phase")
    parser.add_argument("--phase", choices=("forward", "backward", "update"),
                        default="forward",
                        help="the pass --step counts in (default: forward); update: the "
                             "optimizer steps after the backward pass, one per trainable node")
    parser.add_argument("--update", choices=("sgd", "adam"),
                        help="the optimizer of the update steps, as chosen in the Training "
                             "panel (default: the panel's, Adam lr 0.01)")
    parser.add_argument("--lr", type=number(0.0, True),
                        help="its learning rate (default: 0.05 for sgd, 0.01 for adam)")
    parser.add_argument("--momentum", type=number(0.0, False),
                        help="SGD's momentum (default 0.9)")
    parser.add_argument("--batch", type=positive_int, default=4,
                        help="the batch size of --step's pass (default: 4)")
    add_memory_option(parser)
    parser.add_argument("--explain", type=entry_spec, metavar="NODE:KEY:I,J,…",
                        help="click this entry (KEY as in `bpviz explain`, e.g. "
                             "conv1:grad/weight:2,0,1,1): the Formula panel explains it; "
                             "without --step, at the node's step that shows it")
    parser.add_argument("--tensor", metavar="NODE/KEY",
                        help="the tensor the Tensors panel shows, as an npz key (x/out, "
                             "conv1/grad_out): the cells the explained entry reads are marked")
    parser.set_defaults(run=partial(run, render_window=render_window))


def entry_spec(text: str) -> tuple[str, str, tuple[int, ...]]:
    """'conv1:grad/weight:2,0,1,1' → ('conv1', 'grad/weight', (2, 0, 1, 1))."""
    parts = text.rsplit(":", 2)
    try:
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError
        index = tuple(int(i) for i in parts[2].split(",")) if parts[2].strip() else ()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NODE:KEY:I,J,… like conv1:grad/weight:2,0,1,1, got {text!r}") from None
    return parts[0], parts[1], index


def check_out(text: str) -> Path:
    out = Path(text)
    if out.suffix.lower() != ".png":
        raise CliError(f"--out must name a .png file, got {text}")
    if not out.parent.is_dir():
        raise CliError(f"the folder {out.parent} does not exist")
    return out


def update_choice(args: argparse.Namespace) -> dict | None:
    """What --update, --lr and --momentum choose in the Training panel (None: nothing)."""
    if args.update is None:
        for name in ("lr", "momentum"):
            if getattr(args, name) is not None:
                raise CliError(f"--{name} is for --update sgd|adam")
        return None
    if args.update == "adam" and args.momentum is not None:
        raise CliError("--momentum is for --update sgd (Adam keeps its own moments)")
    chosen = {"optimizer": args.update, "lr": args.lr}
    if args.update == "sgd":
        chosen["momentum"] = args.momentum
    return {name: value for name, value in chosen.items() if value is not None}


def run(args: argparse.Namespace, render_window: RenderWindow) -> int:
    from bpviz.graph import load_graph

    out = check_out(args.out)
    if not Path(args.graph).is_file():
        raise CliError(f"graph file {args.graph} does not exist")
    document = load_graph(args.graph, strict=False)  # a half-edited graph shows its errors
    if args.select is not None and args.select not in document.nodes:
        raise CliError(f"--select: there is no node '{args.select}' in {args.graph}")
    update = update_choice(args)
    from bpviz.cli.common import limit_of
    from bpviz.graph.memory import limit_chosen

    # the window's pass, its torch check and training fit in --max-memory when given,
    # else (as in the window) in BPVIZ_MAX_MEMORY or the memory available then
    chosen = limit_chosen(limit_of(args)) if args.max_memory else nullcontext()
    if args.explain is not None and args.explain[0] not in document.nodes:
        raise CliError(f"--explain: there is no node '{args.explain[0]}' in {args.graph}")
    if args.tensor is not None and args.explain is None:
        raise CliError("--tensor marks what an explained entry reads: give --explain too")
    use_offscreen_without_display()
    try:
        with chosen:
            image = render_window(document, args.graph, args.size, args.theme, args.select,
                                  step=(args.phase, args.step) if args.step is not None
                                  else None, update=update, batch=args.batch,
                                  explain=args.explain, tensor=args.tensor)
    except ImportError as error:
        raise CliError(f"the snapshot needs Qt (PySide6), which failed to load: {error}") from None
    except ValueError as error:  # the step or the entry cannot be shown
        raise CliError(f"{'--explain' if args.explain else '--step'}: {error}") from None
    if not image.save(str(out), "PNG"):
        raise CliError(f"cannot write {out}")
    print(f"wrote {out} ({image.width()}×{image.height()})")
    return 0
