"""Benchmarks: timings are printed here, never asserted in the tests.

- speed: the engine against torch, one forward and backward pass per batch
  (`bpviz bench`, `python -m bpviz.bench`);
- stepping: one step of a pass in the window, with its repaint
  (`python -m bpviz.bench.stepping`);
- editor: an edit in the window, re-inferred and repainted
  (`python -m bpviz.bench.editor`);
- training: how long the window's UI thread stalls while it trains
  (`python -m bpviz.bench.training`).

They drive the window and the commands, so they sit above both.
"""
