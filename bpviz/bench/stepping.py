"""How quickly the window shows one step of a pass, and how long its UI thread ever blocks.

    python -m bpviz.bench.stepping [--nodes 30] [--size 32] [--repeats 3]
    python -m bpviz.bench.stepping --graph vgg16.json --batch 1 [--profile 25]

Without --graph: a 30-node synthetic graph with 32×32 maps, every backward
step `repeats` times; the target is under 30 ms. A step is what F10 costs:
the session moves, the canvas restyles every node and wire (glow, gradient
colours, "+" badges), the tensor panel redraws its heatmaps and histogram,
the formula panel its text, and the canvas is repainted. The dots that
travel along the wires are off (stepping this fast skips them anyway).

With --graph (a path, or the name of a bundled example) and --batch: the
pass is built as the window builds it, on its worker thread with the
progress bar, while a heartbeat timer on the UI thread measures the longest
gap between its ticks (the longest the window was blocked); first a build is
cancelled after --cancel-after seconds, to time how soon the worker stops.
Then every step of the pass from the first (forward, backward and the
update steps) with its repaint; the target is 100 ms per step and the same
for the longest block. It prints the median and worst step, the longest
block while building and while stepping, the build time and the process's
peak resident memory; --profile N prints the N functions that took longest
while stepping (cProfile, cumulative). Runs offscreen when there is no display.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bpviz.bench.editor import median_ms, paint_counter, settle_until_painted
from bpviz.display import use_offscreen_without_display
from bpviz.graph import GraphDocument, NodeData
from bpviz.graph.memory import peak_resident_bytes

TARGET_MS = 30.0
BIG_TARGET_MS = 100.0  # a step of a graph file, and the longest block of the UI thread
HEARTBEAT_MS = 5
EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"


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


class Heartbeat:
    """A timer on the UI thread every HEARTBEAT_MS: the longest gap between two ticks
    is the longest the event loop was kept from running (`longest_ms`)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.last: float | None = None
        self.longest = 0.0

    def start(self) -> None:
        self.last, self.longest = time.perf_counter(), 0.0
        self.timer.start()

    def stop(self) -> float:
        """Stop; the longest gap in ms (the one still open counts too)."""
        self._tick()
        self.timer.stop()
        return self.longest * 1000

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.longest = max(self.longest, now - self.last)
        self.last = now


def graph_path(name: str) -> Path:
    """A graph file, or a bundled example by its file name ("vgg16.json")."""
    path = Path(name)
    return path if path.exists() else EXAMPLES / path.name


def open_window(doc):
    from PySide6.QtCore import Qt

    from bpviz.ui.app import application
    from bpviz.ui.main_window import MainWindow

    app = application()
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1600, 1000)
    window.show()
    window.editor.set_document(doc)
    window.stepping.presenter.pulses.enabled = False
    app.processEvents()
    return app, window


def wait_for(app, done, seconds: float = 3600.0) -> None:
    """Run the event loop as the window does until done() is true."""
    end = time.perf_counter() + seconds
    while not done():
        if time.perf_counter() > end:
            raise RuntimeError("gave up waiting")
        app.processEvents()
        time.sleep(0.001)


def bench_graph(path: Path, batch: int, cancel_after: float,
                profile: int) -> dict[str, float]:
    """Build the pass of `path` as the window does, then step through all of it."""
    from bpviz.graph import load_graph

    app, window = open_window(load_graph(path))
    controller = window.stepping
    window.workspace.set_settings(batch=batch)
    heartbeat = Heartbeat()
    result: dict[str, float] = {"nodes": len(window.editor.doc.nodes), "batch": batch}
    if cancel_after > 0:
        heartbeat.start()
        controller.request("build")
        _idle(app, cancel_after)
        if controller.job is not None:
            progress = controller.busy.value(), controller.busy.maximum()
            begin = time.perf_counter()
            controller.cancel_build()
            wait_for(app, lambda: controller.stopping is None)
            result.update(cancel_ms=(time.perf_counter() - begin) * 1000,
                          cancel_block_ms=heartbeat.stop(), cancel_done=progress[0],
                          cancel_total=progress[1])
        elif controller.built is not None:  # built before the cancel: built again below
            controller.invalidate()
        else:
            raise RuntimeError(window.statusBar().currentMessage() or "the build did not start")
        heartbeat.stop()
    heartbeat.start()
    begin = time.perf_counter()
    controller.request("build")
    wait_for(app, lambda: controller.built is not None or controller.job is None)
    if controller.built is None:
        raise RuntimeError(window.statusBar().currentMessage() or "the pass was not built")
    result.update(build_ms=(time.perf_counter() - begin) * 1000,
                  build_block_ms=heartbeat.stop(), steps=len(controller.session.steps))
    window.view.zoom_to_fit()
    app.processEvents()
    result.update(sweep(window, app, heartbeat, profile))
    result["peak_gib"] = peak_resident_bytes() / 2**30
    window.editor.undo_stack.setClean()
    window.close()
    app.processEvents()
    return result


def _idle(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def sweep(window, app, heartbeat: Heartbeat, profile: int) -> dict[str, float]:
    """Every step of the pass from the first, each with its repaint (F10 as the user
    presses it); the heartbeat runs between and through them."""
    import cProfile
    import pstats

    controller = window.stepping
    session, bar = controller.session, controller.bar
    counter = paint_counter(window.view.viewport())
    bar.seek(-1)
    _idle(app, 0.5)
    profiler = cProfile.Profile() if profile else None
    steps, worst_at = [], ""
    heartbeat.start()
    while not session.at_end:
        begin = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        bar.step()
        settle_until_painted(counter, app)
        if profiler is not None:
            profiler.disable()
        steps.append(time.perf_counter() - begin)
        if steps[-1] == max(steps):
            step = session.current
            worst_at = f"{step.phase} {step.node}"
    block = heartbeat.stop()
    if profiler is not None:
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(profile)
    return {"step_ms": median_ms(steps), "step_max_ms": max(steps) * 1000,
            "step_block_ms": block, "count": len(steps), "worst_at": worst_at}


def report_graph(path: Path, r: dict) -> None:
    def verdict(ms: float) -> str:
        return "within" if ms <= BIG_TARGET_MS else "OVER"

    print(f"graph: {path.name}, {r['nodes']} nodes, batch {r['batch']}, {r['steps']} steps")
    if "cancel_ms" in r:
        print(f"cancel during the build (at {r['cancel_done']} of {r['cancel_total']}): "
              f"the worker stopped {r['cancel_ms']:.0f} ms after Cancel; longest UI block "
              f"{r['cancel_block_ms']:.0f} ms")
    print(f"build the pass on the worker: {r['build_ms'] / 1000:8.1f} s; longest UI block "
          f"{r['build_block_ms']:.0f} ms ({verdict(r['build_block_ms'])} the "
          f"{BIG_TARGET_MS:.0f} ms target)")
    print(f"one step with the repaint:    {r['step_ms']:8.1f} ms median, {r['step_max_ms']:.1f} "
          f"ms worst ({r['worst_at']}) over {r['count']}  ({verdict(r['step_max_ms'])} the "
          f"{BIG_TARGET_MS:.0f} ms target)")
    print(f"longest UI block while stepping: {r['step_block_ms']:.0f} ms")
    print(f"peak resident memory of the process: {r['peak_gib']:.2f} GiB")


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
    parser.add_argument("--graph", help="a graph file or bundled example, e.g. vgg16.json")
    parser.add_argument("--batch", type=int, default=1, help="with --graph (default 1)")
    parser.add_argument("--cancel-after", type=float, default=3.0, metavar="S",
                        help="with --graph: cancel a first build after S seconds (0: none)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="with --graph: print the N slowest functions while stepping")
    args = parser.parse_args(argv)
    if args.nodes < 10 or args.size < 2 or args.repeats < 1 or args.batch < 1:
        parser.error("--nodes must be at least 10, --size at least 2, --repeats and "
                     "--batch at least 1")
    use_offscreen_without_display()
    if args.graph:
        path = graph_path(args.graph)
        if not path.exists():
            parser.error(f"--graph: no graph file {args.graph!r} (nor in {EXAMPLES})")
        report_graph(path, bench_graph(path, args.batch, args.cancel_after, args.profile))
        return 0
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
