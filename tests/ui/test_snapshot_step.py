"""`bpviz snapshot --step K [--phase backward]`: the window at one step of a pass."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor, QImage  # noqa: E402

from bpviz.main import main  # noqa: E402
from bpviz.scene.colours import NORM_STOPS  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN  # noqa: E402


def reddish(image: QImage) -> int:
    """Pixels near the gradient ramp's deep end (only backward wires and glows are)."""
    deep = QColor(NORM_STOPS[-2])
    count = 0
    for x in range(0, image.width(), 3):
        for y in range(0, image.height(), 3):
            colour = image.pixelColor(x, y)
            if (abs(colour.red() - deep.red()) < 40 and abs(colour.green() - deep.green()) < 40
                    and abs(colour.blue() - deep.blue()) < 40):
                count += 1
    return count


def test_snapshot_at_a_backward_step(tmp_path, capsys):
    plain, step = tmp_path / "plain.png", tmp_path / "step.png"
    assert main(["snapshot", str(TINY_CNN), "--out", str(plain), "--size", "1400x900"]) == 0
    assert main(["snapshot", str(TINY_CNN), "--out", str(step), "--size", "1400x900",
                 "--step", "3", "--phase", "backward"]) == 0
    assert "1400×900" in capsys.readouterr().out
    plain_image, step_image = QImage(str(plain)), QImage(str(step))
    assert (step_image.width(), step_image.height()) == (1400, 900)
    assert reddish(step_image) > reddish(plain_image) + 15


@pytest.mark.parametrize("argv, message", [
    (["--step", "9", "--phase", "backward"], "the backward pass has steps 1 to 7, not 9"),
    (["--step", "0"], "the forward pass has steps 1 to 7, not 0"),
])
def test_snapshot_step_out_of_range(tmp_path, capsys, argv, message):
    assert main(["snapshot", str(TINY_CNN), "--out", str(tmp_path / "w.png"), *argv]) != 0
    assert message in capsys.readouterr().err


def test_snapshot_step_over_the_memory_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "3G")  # --max-memory comes first
    out = tmp_path / "w.png"
    assert main(["snapshot", str(EXAMPLES / "vgg16.json"), "--out", str(out),
                 "--step", "1", "--batch", "2", "--max-memory", "1G"]) == 2
    error = capsys.readouterr().err
    assert "not enough memory: a batch of 2 (float64) needs about" in error
    assert "the limit is 1.00 GiB (--max-memory)" in error and "not even a batch of 1 fits" in error
    assert not out.exists()
