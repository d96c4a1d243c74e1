"""Training curves from a trainer's events and from a metrics.csv, read back independently."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from bpviz.data import toy
from bpviz.engine.optim import make_optimizer
from bpviz.engine.trainer import Trainer
from bpviz.export.base import ExportError
from bpviz.export.curves import CurveRecorder, CurvesExporter, nice_ticks, read_metrics
from bpviz.graph import build_network, load_graph
from tests.export.helpers import EXAMPLES, non_blank, pdf_page_pixels


@pytest.fixture(scope="module")
def recorded():
    network = build_network(load_graph(EXAMPLES / "moons_mlp.json"), seed=0)
    data = toy.moons(120, seed=0)
    trainer = Trainer(network, make_optimizer("sgd", network, lr=0.1), (data.x[:96], data.y[:96]),
                      (data.x[96:], data.y[96:]), batch_size=32, epochs=4)
    recorder = CurveRecorder()
    trainer.subscribe(recorder)
    trainer.run()
    return recorder.rows, trainer


def write_metrics_csv(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)


def test_recorder_rows_hold_loss_and_per_layer_gradient_norms(recorded):
    rows, trainer = recorded
    iterations = [row for row in rows if "loss" in row]
    assert len(iterations) == trainer.iteration
    trainable = {key for key in iterations[0] if key.startswith("grad_norm/")}
    assert trainable == {f"grad_norm/{node}" for node in ("hidden", "out")}


def test_png_svg_pdf_and_csv(qapp, tmp_path, recorded):
    rows, _ = recorded
    png = CurvesExporter(rows, "png", dpi=192).export(tmp_path / "c.png")
    with Image.open(png) as image:
        assert image.size == (2 * 3 * 520, 2 * 360)  # three panels at twice 96 dpi
        assert non_blank(np.asarray(image.convert("RGB")))
    svg = ET.parse(CurvesExporter(rows, "svg", theme="dark").export(tmp_path / "c.svg"))
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "validation loss" in texts and "hidden" in texts
    pdf = CurvesExporter(rows, "pdf").export(tmp_path / "c.pdf")
    assert non_blank(pdf_page_pixels(pdf))
    out = CurvesExporter(rows, "csv").export(tmp_path / "c.csv")
    with open(out, newline="") as handle:
        back = list(csv.DictReader(handle))
    assert len(back) == len(rows)
    assert float(back[0]["loss"]) == rows[0]["loss"]


def test_from_a_train_metrics_csv(qapp, tmp_path, recorded):
    _, trainer = recorded
    write_metrics_csv(tmp_path / "metrics.csv", trainer.metrics)
    rows = read_metrics(tmp_path / "metrics.csv")
    assert len(rows) == len(trainer.metrics)
    image = CurvesExporter(rows, "png").export()
    assert image.width() == 2 * 520  # loss and accuracy, no gradient norms in that file


def test_bad_metrics_are_clear_errors(qapp, tmp_path):
    (tmp_path / "bad.csv").write_text("epoch,train_loss\n1,abc\n")
    with pytest.raises(ExportError, match="not a number"):
        read_metrics(tmp_path / "bad.csv")
    (tmp_path / "other.csv").write_text("epoch,seconds\n1,0.5\n")
    with pytest.raises(ExportError, match="no loss"):
        CurvesExporter(read_metrics(tmp_path / "other.csv"), "png")
    with pytest.raises(ExportError, match="cannot read"):
        read_metrics(tmp_path / "missing.csv")


def test_nice_ticks_cover_the_range():
    ticks = nice_ticks(0.137, 1.018)
    assert ticks[0] <= 0.137 and ticks[-1] >= 1.018
    assert ticks == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
