import os

# Qt must never try to open a display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _release_the_clipboard():
    """Clear Qt's clipboard before the interpreter exits.

    A QMimeData created in Python and handed to the clipboard is otherwise
    deleted by Qt's own exit clean-up after Python has gone, which crashes.
    """
    yield
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.clipboard().clear()
