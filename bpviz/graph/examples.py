"""Where the bundled example graphs live: the window's File › Examples and the commands' default.

resources/ sits at the top of the project, beside the bpviz package. Read
EXAMPLES through this module (`examples.EXAMPLES`) where it may be pointed
elsewhere, as the tests do.
"""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
EXAMPLES = RESOURCES / "examples"
DEFAULT_EXAMPLE = "two_layer_classifier.json"


def default_example() -> Path:
    """The graph the window opens when it is given none."""
    return EXAMPLES / DEFAULT_EXAMPLE
