"""Autosave and crash recovery: a crashed window's work comes back unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import dumps_graph  # noqa: E402
from bpviz.ui.autosave import INTERVAL_MS, orphaned_recoveries  # noqa: E402
from tests.ui.windowkit import ROOT, TWO_LAYER, make_window  # noqa: E402

CRASHING_SESSION = textwrap.dedent("""
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from bpviz.ui.app import application
    app = application()
    from bpviz.ui.main_window import MainWindow
    window = MainWindow()
    window.open_path(sys.argv[1])
    window.editor.set_params("hidden", {"units": 9})
    window.editor.add_node("relu", (300.0, 120.0))
    assert window.autosaver.save_now()
    sys.stdout.write(window.editor.text())
    sys.stdout.flush()
    os._exit(1)  # a crash: no close, no clean-up
""")



def recovery_files(data_dir):
    return sorted(p.name for p in (data_dir / "recovery").glob("recovery-*.json")
                  if not p.name.endswith(".meta.json"))


def test_autosave_runs_every_30_seconds_only_when_modified(qtbot, data_dir):
    win, _ = make_window(qtbot)
    assert win.autosaver.timer.interval() == INTERVAL_MS == 30_000
    assert win.autosaver.timer.isActive()
    assert not win.autosaver.save_now() and recovery_files(data_dir) == []
    win.editor.set_params("hidden", {"units": 7})
    assert win.autosaver.save_now()
    assert win.autosaver.graph_file.read_text("utf-8") == dumps_graph(win.editor.doc)
    win.editor.undo()  # back to the saved state: nothing to recover
    assert not win.autosaver.save_now() and recovery_files(data_dir) == []


def test_a_clean_exit_removes_the_recovery_file(qtbot, data_dir):
    win, answers = make_window(qtbot)
    win.editor.set_params("hidden", {"units": 7})
    win.autosaver.save_now()
    assert len(recovery_files(data_dir)) == 1
    answers.save_changes = "discard"
    assert win.close()
    assert recovery_files(data_dir) == []
    assert list((data_dir / "recovery").iterdir()) == []


def test_another_open_windows_file_is_not_offered(qtbot, data_dir):
    first, _ = make_window(qtbot)
    first.editor.set_params("hidden", {"units": 7})
    first.autosaver.save_now()
    second, answers = make_window(qtbot, None)
    assert not second.offer_recovery()
    assert answers.questions == [] and len(recovery_files(data_dir)) == 1


def test_after_a_crash_the_next_window_restores_the_identical_document(qtbot, data_dir):
    crashed = subprocess.run([sys.executable, "-c", CRASHING_SESSION, str(TWO_LAYER)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert crashed.returncode == 1, crashed.stderr
    assert len(recovery_files(data_dir)) == 1
    win, answers = make_window(qtbot, None)
    assert win.offer_recovery()
    assert answers.questions == ["restore"]
    assert dumps_graph(win.editor.doc) == crashed.stdout
    assert win.editor.path == str(TWO_LAYER)
    assert win.isWindowModified()
    # The crashed session's file is gone; this window now keeps its own copy.
    assert recovery_files(data_dir) == [win.autosaver.graph_file.name]
    assert orphaned_recoveries(data_dir) == []


def test_declining_the_restore_discards_the_recovery(qtbot, data_dir):
    crashed = subprocess.run([sys.executable, "-c", CRASHING_SESSION, str(TWO_LAYER)],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert crashed.returncode == 1, crashed.stderr
    win, answers = make_window(qtbot)
    answers.restore = False
    before = dumps_graph(win.editor.doc)
    assert not win.offer_recovery()
    assert answers.questions == ["restore"] and dumps_graph(win.editor.doc) == before
    assert recovery_files(data_dir) == []
