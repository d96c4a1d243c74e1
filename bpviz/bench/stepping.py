"""How quickly the window shows one backward step of a 30-node graph with 32×32 maps.

    python -m bpviz.bench.stepping [--nodes 30] [--size 32] [--repeats 3]

A step is what F10 costs during the backward pass: the session moves, the
canvas restyles every node and wire (glow, gradient colours, "+" badges),
the tensor panel redraws its heatmaps, the formula panel its text, and the
canvas is repainted. The target is under 30 ms. The dots that travel along
the wires are off (stepping this fast skips them anyway). Runs offscreen
when there is no display.
"""

from __future__ import annotations

import argparse
import sys
import time

from bpviz.bench.editor import median_ms, paint_counter, settle_until_painted
from bpviz.display import use_offscreen_without_display
from bpviz.graph import GraphDocument, NodeData

TARGET_MS = 30.0


def residual_maps(n_nodes: int = 30, size: int = 32, channels: int = 8) -> GraphDocument:
    """input C×size×size → blocks of conv → relu → add(shortcut) → … → pool → dense → loss."""
    nodes = [NodeData("x", "input", [], {"shape": [channels, size, size]})]
    previous, block = "x", 0
    while len(nodes) + 3 + 4 <= n_nodes:
        block += 1
        conv, relu, add = f"conv{block}", f"relu{block}", f"add{block}"
        nodes += [NodeData(conv, "conv2d", [previous],
                           {"out_channels": channels, "kernel": 3, "padding": 1}),
                  NodeData(relu, "relu", [conv]),
                  NodeData(add, "add", [previous, relu])]
        previous = add
    while len(nodes) < n_nodes - 4:
        nodes.append(NodeData(f"act{len(nodes)}", "relu", [previous]))
        previous = nodes[-1].id
    nodes += [NodeData("pool", "maxpool2d", [previous], {"kernel": 2}),
              NodeData("flat", "flatten", ["pool"]),
              NodeData("fc", "dense", ["flat"], {"units": 10}),
              NodeData("loss", "softmax_cross_entropy", ["fc"])]
    return GraphDocument(f"{len(nodes)}-node graph, {size}×{size} maps", nodes)


def bench(n_nodes: int, size: int, repeats: int) -> dict[str, float]:
    from PySide6.QtCore import Qt

    from bpviz.ui.app import application
    from bpviz.ui.main_window import MainWindow

    app = application()
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1600, 1000)
    window.show()
    window.editor.set_document(residual_maps(n_nodes, size))
    controller = window.stepping
    controller.presenter.pulses.enabled = False
    start = time.perf_counter()
    why = controller.build_now()
    if why is not None:
        raise RuntimeError(why)
    result = {"nodes": len(window.editor.doc.nodes), "size": size,
              "steps": len(controller.session.steps),
              "build_ms": (time.perf_counter() - start) * 1000}
    window.view.zoom_to_fit()
    app.processEvents()
    result.update(measure_steps(window, app, repeats))
    window.editor.undo_stack.setClean()
    window.close()
    app.processEvents()
    return result


def measure_steps(window, app, repeats: int) -> dict[str, float]:
    """Every backward step, `repeats` times: with the repaint, and its parts alone."""
    controller = window.stepping
    session, bar, presenter = controller.session, controller.bar, controller.presenter
    counter = paint_counter(window.view.viewport())
    steps, scenes, tensors, formulas = [], [], [], []
    for _ in range(repeats):
        bar.seek(session.turning_point - 1)
        settle_until_painted(counter, app)
        while not session.at_end:
            begin = time.perf_counter()
            bar.step()
            settle_until_painted(counter, app)
            steps.append(time.perf_counter() - begin)
            step, network = session.current, session.network
            scenes.append(_timed(presenter.scene.show_step, *controller.scene.step_state))
            tensors.append(_timed(presenter.tensors.set_step, step, network))
            formulas.append(_timed(presenter.formula.set_step, step, network))
    return {"step_ms": median_ms(steps), "step_max_ms": max(steps) * 1000,
            "scene_ms": median_ms(scenes), "tensor_ms": median_ms(tensors),
            "formula_ms": median_ms(formulas), "count": len(steps)}


def _timed(fn, *args) -> float:
    begin = time.perf_counter()
    fn(*args)
    return time.perf_counter() - begin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.stepping",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=30)
    parser.add_argument("--size", type=int, default=32, help="feature-map side (pixels)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.nodes < 10 or args.size < 2 or args.repeats < 1:
        parser.error("--nodes must be at least 10, --size at least 2, --repeats at least 1")
    use_offscreen_without_display()
    r = bench(args.nodes, args.size, args.repeats)
    verdict = "within" if r["step_ms"] < TARGET_MS else "OVER"
    print(f"graph: {r['nodes']} nodes, {r['size']}×{r['size']} feature maps, "
          f"{r['steps']} steps")
    print(f"build the pass (batch of 4, forward and backward): {r['build_ms']:8.1f} ms")
    print(f"one backward step with the repaint: {r['step_ms']:8.1f} ms median, "
          f"{r['step_max_ms']:.1f} ms worst over {r['count']}  ({verdict} the "
          f"{TARGET_MS:.0f} ms target)")
    print(f"  canvas restyle alone:             {r['scene_ms']:8.1f} ms median")
    print(f"  tensor panel alone:               {r['tensor_ms']:8.1f} ms median")
    print(f"  formula panel alone:              {r['formula_ms']:8.1f} ms median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
