"""`bpviz` with no command opens the window; `bpviz snapshot` writes a PNG of it."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QImage  # noqa: E402

import bpviz.ui.launch as launch  # noqa: E402
from bpviz.graph.examples import default_example  # noqa: E402
from bpviz.main import main  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN  # noqa: E402


@pytest.fixture
def opened(monkeypatch):
    calls = []
    monkeypatch.setattr(launch, "run_app", lambda path=None: calls.append(path) or 0)
    return calls


def test_no_arguments_open_the_window_on_the_bundled_example(opened):
    assert main([]) == 0
    assert opened == [None]
    assert default_example() == EXAMPLES / "two_layer_classifier.json"


def test_a_json_file_opens_the_window_on_it(opened):
    assert main([str(TINY_CNN)]) == 0
    assert opened == [str(TINY_CNN)]


def test_a_missing_json_file_exits_2(opened, capsys, tmp_path):
    assert main([str(tmp_path / "nope.json")]) == 2
    assert opened == [] and "does not exist" in capsys.readouterr().err


def test_without_a_display_the_window_says_so(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(launch.sys, "platform", "linux")
    assert launch.run_app(None) == 2
    assert "no display" in capsys.readouterr().err


def test_snapshot_writes_a_png_of_the_requested_size(tmp_path, capsys):
    out = tmp_path / "window.png"
    assert main(["snapshot", str(TINY_CNN), "--out", str(out), "--size", "900x640",
                 "--select", "c1"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (900, 640)
    assert "900×640" in capsys.readouterr().out
    colours = {image.pixelColor(x, y).name() for x in range(0, 900, 15) for y in range(0, 640, 15)}
    assert len(colours) > 10  # a drawn window, not a blank picture


@pytest.mark.parametrize("argv, message", [
    (["--size", "10x10"], "between 320 and 8000"),
    (["--size", "wide"], "WIDTHxHEIGHT"),
])
def test_snapshot_bad_sizes_exit_2(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["snapshot", str(TINY_CNN), "--out", str(tmp_path / "w.png"), *argv])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("make_args, message", [
    (lambda tmp: [str(TINY_CNN), "--out", str(tmp / "w.txt")], "must name a .png"),
    (lambda tmp: [str(TINY_CNN), "--out", str(tmp / "no" / "w.png")], "does not exist"),
    (lambda tmp: [str(tmp / "none.json"), "--out", str(tmp / "w.png")], "does not exist"),
    (lambda tmp: [str(TINY_CNN), "--out", str(tmp / "w.png"), "--select", "zz"], "no node"),
])
def test_snapshot_bad_arguments_exit_2(tmp_path, capsys, make_args, message):
    assert main(["snapshot", *make_args(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "w.png").exists()


def test_snapshot_of_a_broken_file_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["snapshot", str(bad), "--out", str(tmp_path / "w.png")]) == 2
    assert "not valid JSON" in capsys.readouterr().err
