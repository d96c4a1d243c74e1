"""Every op registers itself in bpviz.engine.op.OPS on import."""

from bpviz.engine.ops import (
    activations,  # noqa: F401
    basic,  # noqa: F401
    conv,  # noqa: F401
    losses,  # noqa: F401
    merge,  # noqa: F401
    norm,  # noqa: F401
    pool,  # noqa: F401
)
