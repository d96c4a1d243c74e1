import os

# Qt must never try to open a display in tests.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The memory limit defaults to what the machine has free now, which other work on a
# shared machine changes from minute to minute: tests get a fixed one instead (a test
# of the default removes it), so that whether a run is refused does not depend on load.
os.environ.setdefault("BPVIZ_MAX_MEMORY", "8G")


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


# CI sets this so that a test which cannot run (a missing system package such as
# pdflatex, a missing Python package) fails instead of passing by unnoticed.
REQUIRE_ALL_TESTS = "BPVIZ_REQUIRE_ALL_TESTS"


def _skips_fail() -> bool:
    return os.environ.get(REQUIRE_ALL_TESTS, "") not in ("", "0")


def _as_failure(report) -> None:
    """Turn a skipped report into a failure that gives the skip's reason."""
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped, but {REQUIRE_ALL_TESTS} is set: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if _skips_fail() and report.skipped and not hasattr(report, "wasxfail"):
        _as_failure(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if _skips_fail() and report.skipped:  # e.g. a module's pytest.importorskip
        _as_failure(report)
