"""`bpviz export --update`: the pass's pictures end with one update step per trainable node."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bpviz.cli import main
from bpviz.engine.optim import make_optimizer
from bpviz.engine.stepping import StepSession
from bpviz.export.figure import step_state
from tests.export.helpers import TINY, non_blank, session_for

# tiny_cnn: 7 nodes forward and backward, and two with weights (c1 and fc).
PASS_STEPS, TRAINABLE = 14, 2


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_gif_and_frames_end_with_the_update_steps(qapp, capsys, tmp_path):
    assert run(capsys, "export", TINY, "--to", tmp_path / "p.gif", "--dpi", "30",
               "--update", "sgd")[0] == 0
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == PASS_STEPS + TRAINABLE
    assert run(capsys, "export", TINY, "--to", tmp_path / "frames", "--frames", "--dpi", "30",
               "--update", "adam", "--lr", "0.001")[0] == 0
    frames = sorted((tmp_path / "frames").glob("frame_*.png"))
    assert len(frames) == PASS_STEPS + TRAINABLE
    with Image.open(frames[-1]) as last, Image.open(frames[-3]) as backward:
        last_pixels = np.asarray(last.convert("RGB"))
        assert non_blank(last_pixels)
        assert not np.array_equal(last_pixels, np.asarray(backward.convert("RGB")))


def test_a_picture_at_an_update_step(qapp, capsys, tmp_path):
    out = tmp_path / "u.png"
    code, _, _ = run(capsys, "export", TINY, "--to", out, "--step", PASS_STEPS + 1,
                     "--update", "sgd", "--momentum", "0.5", "--weight-decay", "0.01")
    assert code == 0
    with Image.open(out) as image:
        assert non_blank(np.asarray(image.convert("RGB")))


def test_the_caption_of_an_update_frame_is_its_rule():
    document, network, feeds, targets, _ = session_for(TINY)
    session = StepSession(network, feeds, targets,
                          update=make_optimizer("sgd", network, lr=0.05, momentum=0.9))
    state = step_state(session, len(session.steps) - 1)
    assert state.phase == "update" and state.active == "fc"
    assert state.title == f"step {PASS_STEPS + TRAINABLE}/{PASS_STEPS + TRAINABLE} · " \
                          "dense 'fc' · update · SGD"
    assert "θ ← θ − α v;  α = 0.05, μ = 0.9" in state.lines
    assert state.lines[-1].startswith("L on this batch")
    assert state.done == {"c1", "fc"}


@pytest.mark.parametrize("argv, message", [
    (["--to", "{tmp}/x.gif", "--lr", "0.1"], "--lr is for --update sgd|adam"),
    (["--to", "{tmp}/x.gif", "--update", "adam", "--momentum", "0.9"],
     "--momentum is for --update sgd"),
    (["--to", "{tmp}/x.png", "--update", "sgd"], "give --step K"),
    (["--to", "{tmp}/x.npz", "--update", "sgd"], "--update does not apply"),
    (["--to", "{tmp}/x.png", "--update", "sgd", "--step", "17"],
     "1–7 forward, 8–14 backward, 15–16 update"),
])
def test_bad_update_arguments_exit_2(qapp, capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, "export", TINY, *argv)
    assert code == 2 and message in err, err
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_a_negative_learning_rate_is_refused_by_argparse(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(TINY), "--to", str(tmp_path / "x.gif"), "--update", "sgd",
              "--lr", "-1"])
    assert exit_info.value.code == 2
    assert "--lr" in capsys.readouterr().err
