"""`bpviz train`: train a graph on a dataset with the engine, and save what it learned.

The dataset is shaped to the graph's input where that is unambiguous (digits
and shapes as images or flat vectors, shapes at the input's size, any images
flattened for a flat input of the same size) and split into training and
validation sets (stratified, from the seed). Features are standardised with
the training set's statistics: per feature for flat data, per channel for
images (for digits, whose pixels are in [0, 1], that is one shift and scale).
Writes DIR/metrics.csv, one row per epoch with the columns epoch, iteration,
train_loss, train_acc, val_loss, val_acc and seconds (accuracies as fractions;
the training figures are averaged over the epoch's batches as they were
trained), and DIR/weights.npz. A NaN or infinity stops training with exit
code 1; metrics.csv is written then, the weights are not. Ctrl+C stops after
the iteration that is running and writes both (the weights as that iteration
left them), exiting with 130; a second Ctrl+C quits at once without writing.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np

from bpviz.cli.common import (
    CliError,
    add_graph_argument,
    add_memory_option,
    check_memory,
    limit_of,
    load_document,
    positive_int,
)
from bpviz.data.fit import MIN_EPOCHS, MIN_ITERATIONS, default_epochs

DATASET_HELP = ("xor, circles, moons, spiral, blobs, digits, shapes, "
                "or a PATH.csv / PATH.npz file")
DEFAULT_LR = {"adam": 0.01, "sgd": 0.05}
DEFAULT_MOMENTUM = 0.9


def number(minimum: float, strict: bool):
    """An argparse type: a finite number ≥ minimum (> minimum when strict)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            relation = "above" if strict else "at least"
            raise argparse.ArgumentTypeError(f"must be a finite number {relation} {minimum:g}, "
                                             f"got {text}")
        return value

    return parse


def fraction(text: str) -> float:
    value = number(0.0, False)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def add_parser(commands) -> None:
    parser = commands.add_parser("train", help="train a graph on a dataset",
                                 description=__doc__)
    add_graph_argument(parser)
    parser.add_argument("--dataset", required=True, metavar="NAME|PATH", help=DATASET_HELP)
    parser.add_argument("--epochs", type=positive_int,
                        help=f"default {MIN_EPOCHS}, or enough for {MIN_ITERATIONS} iterations "
                             f"on small datasets")
    parser.add_argument("--batch", type=positive_int, default=32, help="batch size, default 32")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--lr", type=number(0.0, True),
                        help="learning rate (default: 0.01 for adam, 0.05 for sgd)")
    parser.add_argument("--momentum", type=number(0.0, False),
                        help=f"sgd momentum (default {DEFAULT_MOMENTUM})")
    parser.add_argument("--weight-decay", type=number(0.0, False), default=0.0,
                        help="L2 weight decay, default 0")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for weights, dataset, split and batch order")
    parser.add_argument("--out", metavar="DIR",
                        help="where metrics.csv and weights.npz go (default: runs/<graph name>)")
    parser.add_argument("--weights", metavar="W.npz", help="start from these weights")
    parser.add_argument("--val-fraction", type=fraction, default=0.2,
                        help="share of the data held out for validation, default 0.2")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    add_memory_option(parser)
    parser.set_defaults(run=run)


# -- data ---------------------------------------------------------------------
def prepare_data(args, network):
    """(train, val) Datasets: loaded, checked against the graph, split, standardised
    (bpviz.data.fit.prepare, shared with the app's training panel)."""
    from bpviz.data import DataError
    from bpviz.data.fit import prepare

    try:
        prepared = prepare(args.dataset, network, seed=args.seed,
                           val_fraction=args.val_fraction, who="bpviz train")
    except DataError as error:
        raise CliError(str(error)) from None
    return prepared.train, prepared.val


# -- output ---------------------------------------------------------------------
class Progress:
    """Progress on a stream: a bar redrawn with \\r on a terminal, a line per epoch."""

    def __init__(self, stream, epochs: int, per_epoch: int) -> None:
        self.stream, self.epochs, self.per_epoch = stream, epochs, per_epoch
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.epoch_start = self.last_draw = time.perf_counter()
        self.width = 0

    def __call__(self, event) -> None:
        if event.kind == "iteration" and self.tty:
            self._bar(event)
        elif event.kind == "epoch":
            self._line(epoch_line(event, self.epochs))
            self.epoch_start = time.perf_counter()
        elif event.kind == "stopped" and self.width:
            self._line("")

    def _bar(self, event) -> None:
        now = time.perf_counter()
        done = (event.iteration - 1) % self.per_epoch + 1
        if now - self.last_draw < 0.1 and done < self.per_epoch:
            return
        self.last_draw = now
        rate = done / max(now - self.epoch_start, 1e-9)
        filled = 20 * done // self.per_epoch
        text = (f"epoch {event.epoch}/{self.epochs} [{'#' * filled}{'.' * (20 - filled)}] "
                f"{done}/{self.per_epoch}  {rate:.0f} it/s  loss {event.loss:.4g}")
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def _line(self, text: str) -> None:
        if self.width:
            text = "\r" + text.ljust(self.width)
            self.width = 0
        if text:
            self.stream.write(text + "\n")
            self.stream.flush()


def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def epoch_line(event, epochs: int) -> str:
    text = (f"epoch {event.epoch}/{epochs}: train loss {event.train_loss:.4f} "
            f"acc {percent(event.train_acc)}")
    if event.val_loss is not None:
        text += f", val loss {event.val_loss:.4f} acc {percent(event.val_acc)}"
    return text + f" ({event.seconds:.1f} s)"


def write_metrics(path: Path, rows: list[dict], fields: tuple[str, ...]) -> None:
    """rows as CSV (empty cells for missing values), written atomically."""
    from bpviz.atomic import atomic_write

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in fields})
    atomic_write(path, lambda handle: handle.write(text.getvalue().encode()))


def summary(trainer, stopped, out: Path) -> str:
    last = trainer.metrics[-1] if trainer.metrics else {}
    if last.get("val_acc") is not None:
        result = (f"final validation accuracy {percent(last['val_acc'])} "
                  f"(loss {last['val_loss']:.4f})")
    elif last.get("train_loss") is not None:
        result = (f"no validation set; final training accuracy {percent(last.get('train_acc'))}"
                  f" (loss {last['train_loss']:.4f})")
    else:
        result = "no epoch completed"
    seconds = last.get("seconds", 0.0)
    return (f"{stopped.message} in {seconds:.1f} s: {result}; "
            f"wrote {out / 'metrics.csv'} and {out / 'weights.npz'}")


# -- the command ----------------------------------------------------------------
def make_optimizer(args, network):
    from bpviz.engine.optim import make_optimizer as make

    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    if args.optimizer == "adam":
        if args.momentum is not None:
            raise CliError("--momentum is for --optimizer sgd (Adam keeps its own moments)")
        return make("adam", network, lr=lr, weight_decay=args.weight_decay)
    momentum = DEFAULT_MOMENTUM if args.momentum is None else args.momentum
    return make("sgd", network, lr=lr, momentum=momentum, weight_decay=args.weight_decay)


def build(args):
    """(network, train, val, optimizer) from the command's arguments."""
    from bpviz.graph import build_network
    from bpviz.graph.memory import Footprint, evaluation_batch, network_bytes
    from bpviz.graph.weights import load_weights

    document = load_document(args.graph)
    state = "sgd" if args.optimizer == "sgd" else "adam"
    check_memory(args, document, args.batch, path="train", optimizer=state)
    network = build_network(document, seed=args.seed, dtype=np.dtype(args.dtype))
    if args.weights:
        load_weights(network, args.weights)
    train, val = prepare_data(args, network)
    # The data are loaded now (the runtime part counts them): evaluation batches too,
    # as many samples at once as fit beside training (at most EVAL_BATCH).
    most = min(EVAL_BATCH, len(val) if val is not None else 0)
    built = network_bytes(network)
    evaluation = evaluation_batch(Footprint(document), args.batch, args.dtype, limit_of(args),
                                  optimizer=state, most=most, built=built) if most else 0
    check_memory(args, document, args.batch, path="train", optimizer=state,
                 evaluation=evaluation, built=built)
    return network, train, val, make_optimizer(args, network), max(1, evaluation)


def run(args: argparse.Namespace) -> int:
    from bpviz.cli import fail
    from bpviz.engine.trainer import METRIC_FIELDS, Trainer
    from bpviz.graph.weights import save_weights

    network, train, val, optimizer, evaluation = build(args)
    out = Path(args.out) if args.out else Path("runs") / Path(args.graph).stem
    out.mkdir(parents=True, exist_ok=True)
    per_epoch = -(-len(train) // args.batch)
    epochs = args.epochs or default_epochs(len(train), args.batch)
    trainer = Trainer(network, optimizer, (train.x, train.y), (val.x, val.y),
                      batch_size=args.batch, epochs=epochs, seed=args.seed,
                      eval_batch_size=evaluation)
    trainer.subscribe(Progress(sys.stderr, epochs, per_epoch))
    with stop_on_interrupt(trainer):
        stopped = trainer.run()
    write_metrics(out / "metrics.csv", trainer.metrics, METRIC_FIELDS)
    if stopped.reason == "non-finite":
        return fail(f"{stopped.message}; wrote {out / 'metrics.csv'}, no weights", code=1)
    save_weights(network, out / "weights.npz")
    print(summary(trainer, stopped, out))
    return 0 if stopped.reason == "finished" else INTERRUPTED


EVAL_BATCH = 256  # samples evaluated at once (forward only)
INTERRUPTED = 128 + signal.SIGINT  # the shell's code for a run ended by Ctrl+C


class stop_on_interrupt:
    """While active, the first Ctrl+C asks `trainer` to stop after its current
    iteration (so the weights are never half-updated); a second one quits now."""

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.previous = None
        self.asked = False

    def __enter__(self) -> stop_on_interrupt:
        try:
            self.previous = signal.signal(signal.SIGINT, self._interrupted)
        except ValueError:  # not the main thread: Ctrl+C is not ours to take
            self.previous = None
        return self

    def __exit__(self, *_exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _interrupted(self, _signum, _frame) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nstopping after this iteration; Ctrl+C again quits without saving",
              file=sys.stderr, flush=True)
        self.trainer.cancel()
