"""How quickly the window opens a 200-node graph and answers a parameter edit.

    python -m bpviz.bench.editor [--nodes 200] [--repeats 30]

An edit is what a change in the inspector costs: the editor's undo command,
shape inference over the whole graph, the canvas items and the inspector
brought up to date, and the canvas repainted. The target is under 100 ms.
Runs offscreen when there is no display.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bpviz.display import use_offscreen_without_display
from bpviz.graph import GraphDocument, NodeData

TARGET_MS = 100.0


def residual_chain(n_nodes: int = 200) -> GraphDocument:
    """input → blocks of conv → relu → add(shortcut) → … → flatten → dense → loss."""
    nodes = [NodeData("x", "input", [], {"shape": [8, 8, 8]})]
    previous = "x"
    block = 0
    while len(nodes) + 3 + 3 <= n_nodes:
        block += 1
        conv, relu, add = f"conv{block}", f"relu{block}", f"add{block}"
        nodes += [NodeData(conv, "conv2d", [previous],
                           {"out_channels": 8, "kernel": 3, "padding": 1}),
                  NodeData(relu, "relu", [conv]),
                  NodeData(add, "add", [previous, relu])]
        previous = add
    while len(nodes) < n_nodes - 3:
        nodes.append(NodeData(f"act{len(nodes)}", "relu", [previous]))
        previous = nodes[-1].id
    nodes += [NodeData("flat", "flatten", [previous]),
              NodeData("fc", "dense", ["flat"], {"units": 10}),
              NodeData("loss", "softmax_cross_entropy", ["fc"])]
    return GraphDocument(f"{len(nodes)}-node residual chain", nodes)


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def paint_counter(widget):
    """An event filter on `widget` counting its paint events (keep a reference)."""
    from PySide6.QtCore import QEvent, QObject

    class Counter(QObject):
        count = 0

        def eventFilter(self, _obj, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.count += 1
            return False

    counter = Counter(widget)
    widget.installEventFilter(counter)
    return counter


def settle_until_painted(counter, app) -> None:
    """Run the event loop as the app would until the canvas has been painted."""
    painted = counter.count
    for _ in range(50):
        app.processEvents()
        if counter.count > painted:
            return
        time.sleep(0.001)
    raise RuntimeError("the canvas was not repainted")


def bench(n_nodes: int, repeats: int) -> dict[str, float]:
    from PySide6.QtCore import Qt

    from bpviz.ui.app import application
    from bpviz.ui.main_window import MainWindow

    app = application()
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1600, 1000)
    window.show()
    doc = residual_chain(n_nodes)
    counter = paint_counter(window.view.viewport())
    opens = []
    for _ in range(max(3, repeats // 6)):
        copy = doc.copy()
        start = time.perf_counter()
        window.editor.set_document(copy)
        window.view.zoom_to_fit()
        settle_until_painted(counter, app)
        opens.append(time.perf_counter() - start)
    result = {"nodes": len(doc.nodes), "open_ms": median_ms(opens)}
    result.update(measure_edits(window, counter, app, repeats))
    window.editor.undo_stack.setClean()
    window.close()
    app.processEvents()
    return result


def measure_edits(window, counter, app, repeats: int) -> dict[str, float]:
    """Change a conv in the middle back and forth (the output shape stays)."""
    from bpviz.graph import infer_shapes

    doc = window.editor.doc
    middle = f"conv{len([n for n in doc.nodes if n.startswith('conv')]) // 2}"
    window.editor.set_selection([middle])
    variants = [{"out_channels": 8, "kernel": 5, "padding": 2},
                {"out_channels": 8, "kernel": 3, "padding": 1}]
    edits, updates, infers, inspects = [], [], [], []
    for index in range(repeats):
        start = time.perf_counter()
        window.editor.set_params(middle, variants[index % 2])
        updates.append(time.perf_counter() - start)
        settle_until_painted(counter, app)
        edits.append(time.perf_counter() - start)
        start = time.perf_counter()
        infer_shapes(doc)
        infers.append(time.perf_counter() - start)
        start = time.perf_counter()
        window.inspector.refresh()
        inspects.append(time.perf_counter() - start)
    assert window.editor.report.ok, window.editor.report.errors
    return {"edit_ms": median_ms(edits), "edit_max_ms": max(edits) * 1000,
            "update_ms": median_ms(updates), "infer_ms": median_ms(infers),
            "inspector_ms": median_ms(inspects)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.editor",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    if args.nodes < 10 or args.repeats < 1:
        parser.error("--nodes must be at least 10 and --repeats at least 1")
    use_offscreen_without_display()
    result = bench(args.nodes, args.repeats)
    verdict = "within" if result["edit_ms"] < TARGET_MS else "OVER"
    print(f"graph: {result['nodes']} nodes")
    print(f"open (document, canvas, fit, repaint): {result['open_ms']:8.1f} ms median")
    print(f"parameter edit, re-infer and repaint:  {result['edit_ms']:8.1f} ms median, "
          f"{result['edit_max_ms']:.1f} ms worst  ({verdict} the {TARGET_MS:.0f} ms target)")
    print(f"  the edit without painting:           {result['update_ms']:8.1f} ms median")
    print(f"    shape inference alone:             {result['infer_ms']:8.1f} ms median")
    print(f"    inspector refresh alone:           {result['inspector_ms']:8.1f} ms median")
    return 0


if __name__ == "__main__":
    sys.exit(main())
