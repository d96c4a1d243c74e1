"""Every op registers itself in bpviz.engine.op.OPS on import."""

from bpviz.engine.ops import basic  # noqa: F401
