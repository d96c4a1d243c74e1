"""`bpviz export`: each kind of output, checked with independent readers; clean errors."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from bpviz.cli import main
from bpviz.engine.executor import Executor
from bpviz.graph import build_network, load_graph
from bpviz.graph.batch import random_batch
from tests.export.helpers import RESIDUAL, TINY, non_blank, pdf_page_pixels


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_svg_pdf_and_png(qapp, capsys, tmp_path):
    code, out, _ = run(capsys, "export", RESIDUAL, "--to", tmp_path / "g.svg")
    assert code == 0 and "wrote" in out
    groups = [g for g in ET.parse(tmp_path / "g.svg").iter("{http://www.w3.org/2000/svg}g")
              if g.get("class") == "node"]
    assert len(groups) == len(load_graph(RESIDUAL).nodes)
    assert run(capsys, "export", TINY, "--to", tmp_path / "g.pdf", "--step", "9",
               "--theme", "dark")[0] == 0
    assert non_blank(pdf_page_pixels(tmp_path / "g.pdf"))
    assert run(capsys, "export", TINY, "--to", tmp_path / "g.png", "--dpi", "144",
               "--transparent")[0] == 0
    svg_tiny = tmp_path / "t.svg"
    run(capsys, "export", TINY, "--to", svg_tiny)
    width = int(ET.parse(svg_tiny).getroot().get("width"))
    with Image.open(tmp_path / "g.png") as image:
        assert image.size[0] == math.ceil(width * 144 / 96)
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0


def test_npz_equals_an_independent_run(capsys, tmp_path):
    code, *_ = run(capsys, "export", RESIDUAL, "--to", tmp_path / "t.npz", "--seed", "3",
                   "--batch", "2")
    assert code == 0
    document = load_graph(RESIDUAL)
    network = build_network(document, seed=3, dtype=np.float64)
    network.set_training(True)
    feeds, targets = random_batch(network, 2, 3, np.float64)
    executor = Executor(network)
    executor.run(feeds, targets)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as data:
        for node_id in document.nodes:
            assert data[f"{node_id}/out"].dtype == np.float64
            assert np.allclose(data[f"{node_id}/out"], executor.values[node_id],
                               rtol=1e-12, atol=1e-12)
            assert np.allclose(data[f"{node_id}/grad_out"], executor.grads[node_id],
                               rtol=1e-12, atol=1e-12)


def test_gif_frames_heatmaps_tikz_bmatrix_and_curves(qapp, capsys, tmp_path):
    assert run(capsys, "export", TINY, "--to", tmp_path / "p.gif", "--dpi", "40")[0] == 0
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 14  # 7 nodes forward and backward
    assert run(capsys, "export", TINY, "--to", tmp_path / "frames", "--frames",
               "--dpi", "30")[0] == 0
    assert len(list((tmp_path / "frames").glob("frame_*.png"))) == 14
    assert run(capsys, "export", TINY, "--to", tmp_path / "maps", "--heatmaps")[0] == 0
    assert (tmp_path / "maps" / "c1__grad__weight.png").is_file()
    assert run(capsys, "export", TINY, "--to", tmp_path / "g.tex")[0] == 0
    assert "\\begin{tikzpicture}" in (tmp_path / "g.tex").read_text()
    assert run(capsys, "export", TINY, "--to", tmp_path / "k.tex", "--tensor",
               "c1/param/weight[2, 0]")[0] == 0
    assert (tmp_path / "k.tex").read_text().startswith("\\begin{bmatrix}")
    (tmp_path / "metrics.csv").write_text("epoch,iteration,train_loss,train_acc,val_loss,"
                                          "val_acc,seconds\n1,5,0.7,0.6,0.6,0.7,0.1\n"
                                          "2,10,0.5,0.8,0.5,0.8,0.2\n")
    assert run(capsys, "export", "--curves", "--metrics", tmp_path / "metrics.csv",
               "--to", tmp_path / "c.png")[0] == 0
    with Image.open(tmp_path / "c.png") as image:
        assert non_blank(np.asarray(image.convert("RGB")))


@pytest.mark.parametrize("argv, message", [
    (["--to", "{tmp}/x.doc"], "--to must end in"),
    (["--to", "{tmp}/missing/x.svg"], "does not exist"),
    (["--to", "{tmp}/x.svg", "--step", "99"], "--step must lie between 0 and 14"),
    (["--to", "{tmp}/x.npz", "--theme", "dark"], "--theme does not apply"),
    (["--to", "{tmp}/x.gif", "--frames"], "names a folder"),
    (["--to", "{tmp}/x.tex", "--tensor", "c1/out"], "at most 2 axes"),
    (["--to", "{tmp}/x.tex", "--tensor", "nope/out"], "no tensor 'nope/out'"),
    (["--to", "{tmp}/c.png", "--curves"], "--curves needs --metrics"),
    (["--to", "{tmp}"], "or name a folder with --frames"),
])
def test_bad_arguments_exit_2_with_a_message(qapp, capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, "export", TINY, *argv)
    assert code == 2 and message in err, err
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_bad_option_values_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(TINY), "--to", str(tmp_path / "x.png"), "--dpi", "0"])
    assert exit_info.value.code == 2
    assert "--dpi" in capsys.readouterr().err
