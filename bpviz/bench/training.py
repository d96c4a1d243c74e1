"""How long the window's UI thread stalls while the training panel trains.

    python -m bpviz.bench.training [--graph moons_mlp] [--dataset moons]
                                    [--epochs 400] [--quick]

Opens the main window with an example graph, starts training and, until it
ends, lets a QTimer tick every TICK_MS on the UI thread; the longest gap
between ticks beyond the interval is the worst stall a user could feel (the
target is under 50 ms). That wall-clock figure also counts the time the OS
gives to other processes, so on a busy machine it is also reported as the UI
thread's own CPU time per pass of the event loop. Also reported: the
panel's updates (count and cost) and the iterations per second in the window
and without it (the same run with no UI; both include the job's start-up).
Runs offscreen when there is no display.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from bpviz.display import use_offscreen_without_display

TARGET_MS = 50.0
TICK_MS = 5


def examples_dir():
    from bpviz.graph.examples import EXAMPLES

    return EXAMPLES


def headless_rate(graph: str, config) -> float:
    """Iterations per second of the same run without any UI."""
    from bpviz.graph import load_graph
    from bpviz.ui.training.worker import TrainingRun

    run = TrainingRun(load_graph(examples_dir() / f"{graph}.json"), config)
    run.start()
    last = None
    while run.running:
        time.sleep(0.05)
        epochs = run.drain().epochs
        last = epochs[-1] if epochs else last
    return last.iteration / last.seconds if last and last.seconds else float("nan")


class Ticks:
    """Timestamps of a fast QTimer on the UI thread."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(lambda: self.times.append(time.perf_counter()))

    def stalls_ms(self) -> list[float]:
        return [max(0.0, (b - a) * 1000 - TICK_MS) for a, b in zip(self.times, self.times[1:])]


def timed_polls(panel) -> list[float]:
    """Wrap the panel's poll to record how long each redraw takes."""
    durations: list[float] = []
    poll = panel.poll

    def timed() -> None:
        start = time.perf_counter()
        poll()
        durations.append(time.perf_counter() - start)

    panel.timer.timeout.disconnect()
    panel.timer.timeout.connect(timed)
    return durations


def bench(graph: str, config, limit_s: float = 120.0, screenshot: str | None = None
          ) -> dict[str, float]:
    from PySide6.QtCore import Qt

    from bpviz.ui.app import application
    from bpviz.ui.main_window import MainWindow

    app = application()
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(1400, 900)
    window.show()
    window.open_path(str(examples_dir() / f"{graph}.json"))
    panel = window.training_dock.widget()
    panel.controls.set_dataset(config.dataset)
    panel.controls.epochs.setValue(config.epochs)
    polls, ticks = timed_polls(panel), Ticks()
    ticks.timer.start()
    start = time.perf_counter()
    if not panel.start():
        raise RuntimeError(panel.controls.status.toolTip())
    cpu = run_events(app, panel, start + limit_s)
    seconds = time.perf_counter() - start
    ticks.timer.stop()
    result = figures(panel, ticks, polls, cpu, seconds)
    if screenshot:
        app.processEvents()
        panel.grab().save(screenshot)
    window.ask_save_trained_weights = lambda: "discard"  # a benchmark's weights go
    window.close()
    app.processEvents()
    return result


def figures(panel, ticks: Ticks, polls: list[float], cpu: list[float], seconds: float
            ) -> dict[str, float]:
    stalls = ticks.stalls_ms() or [0.0]
    cpu, polls = cpu or [0.0], polls or [0.0]
    return {"iterations": panel.iteration, "seconds": seconds,
            "rate": panel.iteration / seconds, "ticks": len(ticks.times),
            "stall_max_ms": max(stalls), "stall_p99_ms": percentile(stalls, 99),
            "cpu_max_ms": max(cpu) * 1000, "cpu_p99_ms": percentile(cpu, 99) * 1000,
            "cpu_share": sum(cpu) / seconds, "polls": len(polls),
            "poll_ms": statistics.median(polls) * 1000, "poll_max_ms": max(polls) * 1000,
            "status": panel.controls.status.toolTip()}


def run_events(app, panel, deadline: float) -> list[float]:
    """Run the event loop until training ends; the UI thread's CPU time per pass."""
    cpu: list[float] = []
    while panel.running and time.perf_counter() < deadline:
        before = time.thread_time()
        app.processEvents()
        cpu.append(time.thread_time() - before)
        time.sleep(0.0005)
    return cpu


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(graph: str, config, result: dict, headless: float) -> None:
    verdict = "within" if result["stall_max_ms"] < TARGET_MS else "OVER"
    print(f"graph: {graph}, dataset {config.dataset}, {config.epochs or 'auto'} epochs")
    print(f"training in the window: {result['iterations']} iterations in "
          f"{result['seconds']:.2f} s, {result['rate']:,.0f} it/s "
          f"(without UI: {headless:,.0f} it/s)")
    print(f"longest UI-thread stall: {result['stall_max_ms']:8.1f} ms  "
          f"({verdict} the {TARGET_MS:.0f} ms target); 99th percentile "
          f"{result['stall_p99_ms']:.1f} ms over {result['ticks']} ticks of {TICK_MS} ms")
    print(f"  its own work (CPU time per event-loop pass): {result['cpu_max_ms']:.1f} ms "
          f"worst, {result['cpu_p99_ms']:.1f} ms 99th percentile; the UI thread used "
          f"{100 * result['cpu_share']:.0f}% of a core")
    print(f"panel updates: {result['polls']}, {result['poll_ms']:.1f} ms median, "
          f"{result['poll_max_ms']:.1f} ms worst (collecting the news and setting the data)")
    print(f"result: {result['status']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.training",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default="moons_mlp", help="an example's name")
    parser.add_argument("--dataset", default="moons")
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--quick", action="store_true", help="a few epochs only (tests)")
    parser.add_argument("--screenshot", metavar="PNG", help="save the panel as it ends")
    args = parser.parse_args(argv)
    use_offscreen_without_display()
    from bpviz.ui.training.worker import TrainConfig

    config = TrainConfig(dataset=args.dataset, epochs=3 if args.quick else args.epochs)
    result = bench(args.graph, config, screenshot=args.screenshot)
    report(args.graph, config, result, headless_rate(args.graph, config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
