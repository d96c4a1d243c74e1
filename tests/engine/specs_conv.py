"""Op specs for conv2d, pooling and global average pooling."""

from __future__ import annotations

from tests.engine.op_specs import OpSpec

CONV_SPECS: list[OpSpec] = []
