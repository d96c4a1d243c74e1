"""What every window test shares: a data folder of its own (autosave, settings,
recovery files), so no test reads or writes the user's."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("BPVIZ_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"
