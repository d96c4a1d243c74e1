"""The text of the training script that `bpviz export-torch --train-script` writes.

A string.Template: bpviz.oracle.train_script fills in the graph's facts ($intro,
$cls, …). The script imports only torch, numpy, the standard library and the
generated model file, and does what `bpviz train` does (bpviz.cli.train,
bpviz.data.user, bpviz.data.prep, bpviz.engine.trainer) with the same
defaults, data rules, split, standardisation, batch order and metrics.
"""

TEMPLATE = r'''r"""$intro

    python $script --dataset data.npz                         # one process (a GPU if any)
    torchrun --standalone --nproc_per_node=4 $script --dataset data.npz   # 4 GPUs here
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv_backend=c10d \
        --rdzv_endpoint=HOST:29500 $script --dataset data.npz              # 2 machines

Data: a .csv table (numeric feature columns, the integer class label last; an
optional header row) or an .npz archive with x [N, ...] and y [N]. Images are
flattened for a flat input of the same size. A stratified split holds out
--val-fraction for validation (from --seed, as bpviz train draws it); features
are standardised with the training set's mean and standard deviation (per
feature for flat data, per channel for images; a std below 1e-6 counts as 1).

Every epoch visits the training samples in bpviz train's order. --batch is the
number of samples per optimizer step in all: with torchrun each of the W
processes takes batch / W of them (DistributedSampler, DistributedDataParallel
averaging the gradients; NCCL on GPUs, gloo on CPUs), so one process and many
take the same steps. Batch normalisation uses each process's share of the
batch, except on several GPUs, where SyncBatchNorm uses the whole batch as
bpviz does. Training starts from torch's initialisation (seeded by --seed), or
from --weights (a bpviz weights file: `bpviz train`'s output, import-torch's, …).

Process 0 prints one line per epoch and writes DIR/metrics.csv (epoch,
iteration, train_loss, train_acc, val_loss, val_acc, seconds; accuracies as
fractions, training figures averaged over the epoch's batches) and
DIR/weights.npz (float64, keys '<node id>/<param>', batchnorm statistics
included) after every epoch. A NaN or infinity in an epoch's training loss
stops with exit code 1 (weights.npz keeps the last finite epoch); Ctrl+C exits
with 130, weights.npz holding the last finished epoch.
"""

import argparse
import csv
import io
import math
import os
import sys
import time
import zipfile

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), $model_dir))
from $model_module import $cls, load_bpviz_weights, save_bpviz_weights  # noqa: E402

GRAPH = $graph_stem
INPUT_ID, INPUT_SHAPE = $input_id, $input_shape  # one sample
LOSS_ID, LOSS_OP = $loss_id, $loss_op
OUTPUTS = $outputs  # units of the layer the loss reads: one score per class
TUPLE_OUTPUT = $tuple_output  # forward returns a tuple; the loss reads its first item
METRIC_FIELDS = ("epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc",
                 "seconds")
DEFAULT_LR = {"adam": 0.01, "sgd": 0.05}
DEFAULT_MOMENTUM = 0.9
MIN_EPOCHS, MIN_ITERATIONS = 10, 1000
EVAL_BATCH = 256
INTERRUPTED = 130


class DataError(ValueError):
    """The data file cannot be read or does not fit the network."""


# -- the command line -------------------------------------------------------------
def number(minimum, strict):
    def parse(text):
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


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def fraction(text):
    value = number(0.0, False)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1), got {text}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", required=True, metavar="PATH",
                        help="a .csv table or an .npz archive with arrays x and y")
    parser.add_argument("--epochs", type=positive_int,
                        help=f"default {MIN_EPOCHS}, or enough for {MIN_ITERATIONS} iterations "
                             "on small datasets")
    parser.add_argument("--batch", type=positive_int, default=32,
                        help="samples per optimizer step over all processes, default 32")
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--lr", type=number(0.0, True),
                        help="learning rate (default: 0.01 for adam, 0.05 for sgd)")
    parser.add_argument("--momentum", type=number(0.0, False),
                        help=f"sgd momentum (default {DEFAULT_MOMENTUM})")
    parser.add_argument("--weight-decay", type=number(0.0, False), default=0.0,
                        help="L2 weight decay, default 0")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for weights, split and batch order")
    parser.add_argument("--out", metavar="DIR", default=os.path.join("runs", GRAPH),
                        help=f"where metrics.csv and weights.npz go (default: runs/{GRAPH})")
    parser.add_argument("--weights", metavar="W.npz", help="start from these bpviz weights")
    parser.add_argument("--val-fraction", type=fraction, default=0.2,
                        help="share of the data held out for validation, default 0.2")
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU")
    args = parser.parse_args(argv)
    if args.optimizer == "adam" and args.momentum is not None:
        parser.error("--momentum is for --optimizer sgd (Adam keeps its own moments)")
    return args


# -- the data, as bpviz reads it ----------------------------------------------------
def labels(values, where, file):
    """Float or integer labels [N] -> int64, or a DataError naming the first bad one."""
    if not (np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_):
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if bad.size:
            raise DataError(f"{file}: {where(int(bad[0]))}: label {float(values[bad[0]])!r} "
                            "is not an integer (labels are class numbers 0, 1, 2, ...)")
    y = values.astype(np.int64)
    negative = np.flatnonzero(y < 0)
    if negative.size:
        raise DataError(f"{file}: {where(int(negative[0]))}: label {y[negative[0]]} is "
                        "negative (labels are class numbers 0, 1, 2, ...)")
    return y


def as_number(cell):
    try:
        return float(cell)
    except ValueError:
        return None


def read_csv(path):
    file = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [(line, [cell.strip() for cell in row])
                    for line, row in enumerate(csv.reader(handle), start=1)]
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{file}: not a readable UTF-8 CSV file ({error})") from None
    rows = [(line, row) for line, row in rows if any(row)]
    if not rows:
        raise DataError(f"{file}: the file is empty")
    header = []
    if any(as_number(cell) is None for cell in rows[0][1]):
        header, rows = rows[0][1], rows[1:]
        if not rows:
            raise DataError(f"{file}: there is a header row but no data")
    width = len(header) if header else len(rows[0][1])
    if width < 2:
        raise DataError(f"{file}: needs at least 2 columns (features, then the label), "
                        f"found {width}")
    table = np.empty((len(rows), width))
    for i, (line, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{file}: row {line} has {len(row)} columns, expected {width}")
        for c, cell in enumerate(row):
            value = as_number(cell)
            if value is None or not math.isfinite(value):
                what = "is empty" if not cell else f"'{cell}' is not a finite number"
                raise DataError(f"{file}: row {line}, column {c + 1}: {what}")
            table[i, c] = value
    y = labels(table[:, -1], lambda i: f"row {rows[i][0]}, column {width}", file)
    return table[:, :-1], y


def read_npz(path):
    file = os.path.basename(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ("x", "y") if key not in archive.files]
            if missing:
                raise DataError(f"{file}: missing array '{missing[0]}' (found: "
                                f"{', '.join(archive.files) or 'no arrays'}); an .npz needs "
                                "x [N, ...] and y [N]")
            x, y = archive["x"], archive["y"]
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{file}: not a readable .npz archive of numeric arrays ({error})") \
            from None
    for key, array in (("x", x), ("y", y)):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"{file}: array '{key}' must be numeric, got dtype {array.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{file}: array 'x' holds no samples (shape {list(x.shape)})")
    x = x.astype(np.float64).reshape(len(x), -1) if x.ndim == 1 else x.astype(np.float64)
    if y.shape != (len(x),):
        raise DataError(f"{file}: array 'y' must hold one label per sample, shape [{len(x)}], "
                        f"got {list(y.shape)}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        raise DataError(f"{file}: array 'x' has a NaN or infinite value at "
                        f"x[{', '.join(map(str, bad[0]))}]")
    return x, labels(y, lambda i: f"y[{i}]", file)


def load_data(path):
    """x [N, *INPUT_SHAPE] float64 and y [N] int64, checked against the network."""
    if not os.path.isfile(path):
        raise DataError(f"{path}: file not found")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".csv", ".npz"):
        raise DataError(f"{os.path.basename(path)}: use a .csv table or an .npz archive "
                        "with arrays x and y")
    x, y = read_csv(path) if suffix == ".csv" else read_npz(path)
    file = os.path.basename(path)
    if x.ndim >= 3 and len(INPUT_SHAPE) == 1 and math.prod(x.shape[1:]) == INPUT_SHAPE[0]:
        x = x.reshape(len(x), -1)
    if x.shape[1:] != INPUT_SHAPE:
        raise DataError(f"{file}: the samples are shaped {list(x.shape[1:])} but the "
                        f"input '{INPUT_ID}' expects {list(INPUT_SHAPE)}")
    classes = int(y.max()) + 1
    if LOSS_OP != "softmax_cross_entropy" and OUTPUTS == 1:
        if classes > 2:
            raise DataError(f"{file}: {LOSS_OP} with 1 output can only tell 2 classes "
                            f"apart, but the data have {classes}")
    elif classes > OUTPUTS:
        raise DataError(f"{file}: the data have {classes} classes but the layer before "
                        f"{LOSS_OP} has {OUTPUTS} units: it needs one per class")
    return x, y


def split(y, val_fraction, seed):
    """(train, val) indices: bpviz's stratified split (val_fraction of each class,
    largest remainders first, at least 1 of each class with 2 or more samples left)."""
    counts = np.bincount(y)
    quota = counts * val_fraction
    take = np.floor(quota).astype(np.int64)
    room = np.where(counts >= 2, counts - 1, 0) - take
    missing = int(round(val_fraction * counts.sum())) - int(take.sum())
    for k in np.argsort(-(quota - take), kind="stable"):
        if missing <= 0:
            break
        if room[k] > 0:
            take[k] += 1
            missing -= 1
    rng = np.random.default_rng(seed)
    train_parts, val_parts = [], []
    for k in range(len(counts)):
        members = rng.permutation(np.flatnonzero(y == k))
        val_parts.append(members[:take[k]])
        train_parts.append(members[take[k]:])
    return rng.permutation(np.concatenate(train_parts)), rng.permutation(np.concatenate(val_parts))


def standardise(train, others):
    """(x - mean) / std with the training set's statistics (per feature, or per channel)."""
    axes = (0,) if train.ndim == 2 else (0, *range(2, train.ndim))
    mean = train.mean(axis=axes, keepdims=True)[0]
    std = train.std(axis=axes, keepdims=True)[0]
    std = np.where(std < 1e-6, 1.0, std)
    return [(x - mean) / std for x in (train, *others)]


def targets(y, dtype):
    """What the loss node compares with: labels, labels as numbers [N, 1] or one-hot rows."""
    if LOSS_OP == "softmax_cross_entropy":
        return y
    if OUTPUTS == 1:
        return y.to(dtype)[:, None]
    return torch.nn.functional.one_hot(y, OUTPUTS).to(dtype)


def predicted(prediction):
    """Class predictions [N] from the scores [N, K]."""
    if prediction.shape[1] > 1:
        return prediction.argmax(dim=1)
    threshold = 0.0 if LOSS_OP == "bce_with_logits" else 0.5
    return (prediction[:, 0] >= threshold).long()


class EpochOrder(DistributedSampler):
    """bpviz train's batch order, shared out: epoch e visits the training samples in
    the permutation numpy.random.default_rng([seed, e]) draws (padded by repeating its
    start to a multiple of the processes); process r takes every W-th from the r-th, so
    its k-th batch of batch / W samples is its share of the k-th batch of the whole."""

    def __iter__(self):
        order = np.random.default_rng([self.seed & 0xFFFFFFFF, self.epoch])
        order = order.permutation(len(self.dataset)).tolist()
        order = (order * -(-self.total_size // len(order)))[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas])


# -- training -------------------------------------------------------------------------
def make_optimizer(args, model):
    """bpviz train's optimizers and defaults: Adam lr 0.01, SGD lr 0.05 momentum 0.9."""
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    params = [p for p in model.parameters() if p.requires_grad]
    if args.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
    momentum = DEFAULT_MOMENTUM if args.momentum is None else args.momentum
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=args.weight_decay)


def first(output):
    return output[0] if TUPLE_OUTPUT else output


def tally(loss, output, y, sums):
    """Add the batch's loss * n, n and correct predictions to sums [loss, n, correct]."""
    sums[0] += loss.detach().double() * len(y)
    sums[1] += len(y)
    sums[2] += (predicted(first(output).detach()) == y).sum()


def totals(sums, world):
    """(mean loss, accuracy) over all processes' batches; (None, None) with no samples."""
    if world > 1:
        dist.all_reduce(sums)
    loss, count, correct = sums.tolist()
    return (loss / count, correct / count) if count else (None, None)


def evaluate(model, x, y, dtype, device, world):
    """(mean loss, accuracy) in evaluation mode; each process takes every W-th sample."""
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    rank = dist.get_rank() if world > 1 else 0
    x, y = x[rank::world], y[rank::world]
    model.eval()
    with torch.no_grad():
        for begin in range(0, len(x), EVAL_BATCH):
            xb = x[begin:begin + EVAL_BATCH].to(device)
            yb = y[begin:begin + EVAL_BATCH].to(device)
            output = model(xb)
            tally(model.loss(output, targets(yb, dtype)), output, yb, sums)
    model.train()
    return totals(sums, world)


def percent(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def epoch_line(row, epochs):
    text = (f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.4f} "
            f"acc {percent(row['train_acc'])}")
    if row["val_loss"] is not None:
        text += f", val loss {row['val_loss']:.4f} acc {percent(row['val_acc'])}"
    return text + f" ({row['seconds']:.1f} s)"


def replace_file(path, write):
    """Write through a temporary file, then rename: a reader never sees half a file."""
    partial = f"{path}.partial"
    with open(partial, "wb") as handle:
        write(handle)
    os.replace(partial, path)


def write_metrics(path, rows):
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in METRIC_FIELDS})
    replace_file(path, lambda handle: handle.write(text.getvalue().encode()))


def main(argv=None):
    args = parse_args(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    say = print if rank == 0 else (lambda *a, **k: None)
    dtype = getattr(torch, args.dtype)
    try:
        if args.batch % world:
            raise DataError(f"--batch {args.batch} does not share out evenly over {world} "
                            f"processes: use a multiple of {world}")
        x, y = load_data(args.dataset)
        train, val = split(y, args.val_fraction, args.seed)
        if len(train) == 0:
            raise DataError(f"{os.path.basename(args.dataset)} leaves no training samples")
        x_train, x_val = standardise(x[train], [x[val]])
        torch.manual_seed(args.seed)
        model = $cls().to(dtype)
        if args.weights:
            load_bpviz_weights(model, args.weights)
    except (DataError, ValueError, OSError) as error:
        say(f"{sys.argv[0]}: error: {error}", file=sys.stderr)
        return 2
    x_train, x_val = (torch.from_numpy(a).to(dtype) for a in (x_train, x_val))
    y_train, y_val = torch.from_numpy(y[train]), torch.from_numpy(y[val])

    cuda = torch.cuda.is_available() and not args.cpu
    local = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world > 1:
        dist.init_process_group("nccl" if cuda else "gloo")
    if cuda and world > 1:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device).train()
    stepper = DistributedDataParallel(model, device_ids=[local] if cuda else None) \
        if world > 1 else model
    optimizer = make_optimizer(args, model)
    order = EpochOrder(range(len(x_train)), num_replicas=world, rank=rank, seed=args.seed)
    share = args.batch // world
    per_epoch = -(-len(order) // share)
    epochs = args.epochs or max(MIN_EPOCHS, -(-MIN_ITERATIONS // per_epoch))
    out = args.out
    if rank == 0:
        os.makedirs(out, exist_ok=True)
    say(f"training {GRAPH} on {len(x_train)} samples ({len(x_val)} for validation), "
        f"{world} process{'es' if world > 1 else ''} on {device.type}, batch {args.batch}, "
        f"{epochs} epochs", flush=True)

    rows, iteration, start, code = [], 0, time.perf_counter(), 0
    try:
        for epoch in range(1, epochs + 1):
            order.set_epoch(epoch)
            mine = torch.tensor(list(order))
            sums = torch.zeros(3, dtype=torch.float64, device=device)
            for begin in range(0, len(mine), share):
                index = mine[begin:begin + share]
                xb, yb = x_train[index].to(device), y_train[index].to(device)
                output = stepper(xb)
                loss = model.loss(output, targets(yb, dtype))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                iteration += 1
                tally(loss, output, yb, sums)
            train_loss, train_acc = totals(sums, world)
            val_loss, val_acc = evaluate(model, x_val, y_val, dtype, device, world) \
                if len(x_val) else (None, None)
            if not math.isfinite(train_loss):
                say(f"epoch {epoch}: the training loss is not finite (lr may be too high); "
                    f"{os.path.join(out, 'weights.npz')} holds the last finite epoch",
                    file=sys.stderr)
                if rank == 0:
                    write_metrics(os.path.join(out, "metrics.csv"), rows)
                code = 1
                break
            rows.append({"epoch": epoch, "iteration": iteration, "train_loss": train_loss,
                         "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
                         "seconds": time.perf_counter() - start})
            if rank == 0:
                write_metrics(os.path.join(out, "metrics.csv"), rows)
                replace_file(os.path.join(out, "weights.npz"),
                             lambda handle: save_bpviz_weights(model, handle))
            say(epoch_line(rows[-1], epochs), flush=True)
    except KeyboardInterrupt:
        say(f"\nstopped: {os.path.join(out, 'weights.npz')} holds epoch {len(rows)}",
            file=sys.stderr)
        return INTERRUPTED
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()
    if code == 0:
        last = rows[-1] if rows else {}
        result = (f"final validation accuracy {percent(last['val_acc'])} "
                  f"(loss {last['val_loss']:.4f})" if last.get("val_loss") is not None else
                  f"final training accuracy {percent(last.get('train_acc'))}")
        say(f"trained {len(rows)} epochs ({iteration} iterations) in "
            f"{time.perf_counter() - start:.1f} s: {result}; wrote "
            f"{os.path.join(out, 'metrics.csv')} and {os.path.join(out, 'weights.npz')}")
    return code


if __name__ == "__main__":
    sys.exit(main())
'''
