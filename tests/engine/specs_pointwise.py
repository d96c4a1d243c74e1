"""Op specs for activations, merges, normalisation, dropout and losses."""

from __future__ import annotations

from tests.engine.op_specs import OpSpec

POINTWISE_SPECS: list[OpSpec] = []
