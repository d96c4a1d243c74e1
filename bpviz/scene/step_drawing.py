"""How the canvas shows one step of a pass: the glowing node, gradient-coloured wires.

`draw_step(scene, ...)` is GraphScene.show_step's body. It only restyles
existing items (no item is added or removed except the "+" badges), so a
step costs a repaint of the changed items.

Backward wires: each wire that a shown backward step has sent a gradient
along is coloured and thickened by the gradient's Frobenius norm, on a log
scale from the pass's smallest to its largest norm, and labelled with it. A
node whose output feeds several consumers (a fork, e.g. a residual's skip)
gets a "+" once all their contributions have arrived: they are summed there.
A concat's input wires say which channels of its gradient go back along
each of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpviz.scene.colours import format_norm, log_fractions, norm_colour, norm_width

if TYPE_CHECKING:
    from bpviz.scene.scene import GraphScene

WireNorms = dict[tuple[str, str, int], float]


def draw_step(scene: GraphScene, active: str | None, wire_norms: WireNorms,
              done: set[str] | frozenset[str], phase: str | None,
              span: tuple[float, float] | None = None) -> None:
    for node_id, item in scene.nodes.items():
        role = "active" if node_id == active else "done" if node_id in done else None
        item.set_step_role(role, phase if role is not None else None)
    backward = phase == "backward"
    norms = wire_norms if backward else {}
    fractions = log_fractions(norms, span) if norms else {}
    channels = concat_channels(scene) if backward else {}
    for (dst, port), wire in scene.wires.items():
        key = (wire.src.node_id, dst, port)
        notes = []
        if key in norms:
            notes.append(f"‖g‖ {format_norm(norms[key])}")
        if (dst, port) in channels and (dst == active or dst in done):
            notes.append(channels[(dst, port)])
        if key in norms:
            fraction = fractions[key]
            wire.set_gradient(norm_colour(fraction), norm_width(fraction), " · ".join(notes))
        else:
            wire.set_gradient(None, 2.0, " · ".join(notes))
    forks = fork_sources(scene)
    for node_id, item in scene.nodes.items():
        keys = forks.get(node_id)
        item.set_sum_badge(bool(keys) and all(key in norms for key in keys))


def clear_step(scene: GraphScene) -> None:
    for item in scene.nodes.values():
        item.set_step_role(None)
        item.set_sum_badge(False)
    for wire in scene.wires.values():
        wire.set_gradient(None)


def fork_sources(scene: GraphScene) -> dict[str, list[tuple[str, str, int]]]:
    """Nodes whose output goes along two or more wires → those wires' keys."""
    outgoing: dict[str, list[tuple[str, str, int]]] = {}
    for (dst, port), wire in scene.wires.items():
        outgoing.setdefault(wire.src.node_id, []).append((wire.src.node_id, dst, port))
    return {src: keys for src, keys in outgoing.items() if len(keys) > 1}


def concat_channels(scene: GraphScene) -> dict[tuple[str, int], str]:
    """(concat id, port) → "ch 0–15": the slice of the concat's channels (its
    gradient's too) that comes from that input."""
    ranges = {}
    for node_id, node in scene.model.doc.nodes.items():
        if node.op != "concat":
            continue
        start = 0
        for port, src in enumerate(node.inputs):
            shape = scene.report.shapes.get(src)
            if not shape:
                break
            ranges[(node_id, port)] = (f"ch {start}–{start + shape[0] - 1}" if shape[0] > 1
                                       else f"ch {start}")
            start += shape[0]
    return ranges
