"""The benchmarks that open the window get a data folder of their own (settings,
autosave, recovery files), so they never read or write the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BPVIZ_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
