"""`bpviz snapshot --explain NODE:KEY:I,J,… [--tensor KEY]`: the window with an entry explained."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor, QImage  # noqa: E402

from bpviz.main import main  # noqa: E402
from bpviz.ui.stepping.entry_marks import CHOSEN_COLOUR, READ_COLOUR  # noqa: E402
from tests.ui.windowkit import TINY_CNN  # noqa: E402


def pixels_of(image: QImage, colour: str) -> int:
    wanted = QColor(colour)
    return sum(1 for x in range(image.width()) for y in range(0, image.height(), 2)
               if _near(image.pixelColor(x, y), wanted))


def _near(a: QColor, b: QColor) -> bool:
    return (abs(a.red() - b.red()) < 30 and abs(a.green() - b.green()) < 30
            and abs(a.blue() - b.blue()) < 30)


def test_snapshot_marks_the_window_an_explained_weight_gradient_reads(tmp_path, capsys):
    plain, explained = tmp_path / "plain.png", tmp_path / "explained.png"
    common = ["--size", "1200x800", "--step", "6", "--phase", "backward"]  # c1's backward
    assert main(["snapshot", str(TINY_CNN), "--out", str(plain), *common]) == 0
    assert main(["snapshot", str(TINY_CNN), "--out", str(explained), "--size", "1200x800",
                 "--explain", "c1:grad/weight:2,0,0,1", "--tensor", "x/out"]) == 0
    capsys.readouterr()
    plain_image, image = QImage(str(plain)), QImage(str(explained))
    assert pixels_of(image, READ_COLOUR) > pixels_of(plain_image, READ_COLOUR) + 100
    assert pixels_of(image, CHOSEN_COLOUR) > pixels_of(plain_image, CHOSEN_COLOUR)  # c1's ring


@pytest.mark.parametrize("argv, message", [
    (["--explain", "c1:grad/weight:9,0,0,0"], "index 9 is outside axis 0"),
    (["--explain", "c1:grad/weight"], "expected NODE:KEY:I,J"),
    (["--explain", "nowhere:out:0"], "no node 'nowhere'"),
    (["--explain", "c1:out:0,0,0,0", "--tensor", "fc/out"], "does not show fc/out"),
    (["--tensor", "x/out"], "give --explain too"),
])
def test_snapshot_explain_refuses_what_is_not_there(tmp_path, capsys, argv, message):
    out = tmp_path / "w.png"
    try:
        code = main(["snapshot", str(TINY_CNN), "--out", str(out), *argv])
    except SystemExit as stop:  # argparse's own refusal
        code = stop.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
